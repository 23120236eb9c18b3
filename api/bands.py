"""What to shade on a device's charts: its incidents and the maintenance windows covering it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alerting.incidents import SEVERITY_VI
from alerting.maintenance import MaintenanceWindow
from api.context import ApiContext
from api.schemas import SeriesBand

MAX_BANDS = 200


def device_bands(ctx: ApiContext, device_id: str, start: int, end: int) -> list[SeriesBand]:
    """Incidents of ``device_id`` and maintenance windows covering it that overlap [start, end]."""
    core = ctx.alerting
    if core is None:
        return []
    out: list[SeriesBand] = []
    items, _ = core.incidents.list(device=device_id, limit=MAX_BANDS)
    for inc in items:
        stop = inc.resolved_at or end
        if stop >= start and inc.opened_at <= end:
            label = f"Sự cố #{inc.id} ({SEVERITY_VI[inc.severity]}): {inc.title}"
            out.append(SeriesBand(kind="incident", start=inc.opened_at, end=stop, label=label,
                                  ref=f"/incidents/{inc.id}"))
    for window in core.maintenance.all():
        if not window.covers(ctx.inventory, device_id):
            continue
        for lo, hi in window_slots(window, start, end, ctx.timezone):
            out.append(SeriesBand(kind="maintenance", start=lo, end=hi,
                                  label=f"Bảo trì #{window.id}: {window.reason}", ref="/maintenance"))
    return sorted(out, key=lambda b: b.start)[:MAX_BANDS]


def window_slots(window: MaintenanceWindow, start: int, end: int, tz: ZoneInfo) -> list[tuple[int, int]]:
    """The stretches of [start, end] a maintenance window is in force (weekly slots included)."""
    lo = max(start, window.starts_at)
    hi = min(end, window.ends_at if window.ends_at is not None else end)
    if window.cancelled_at is not None:
        hi = min(hi, window.cancelled_at)
    if hi <= lo:
        return []
    rec = window.recurrence
    if not rec:
        return [(lo, hi)]
    hour, minute = (int(x) for x in str(rec["start"]).split(":"))
    length = int(rec["minutes"]) * 60
    days = {int(d) for d in rec.get("weekdays", range(7))}
    out = []
    midnight = datetime.fromtimestamp(lo, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    day = midnight - timedelta(days=1)
    while int(day.timestamp()) <= hi:
        if day.weekday() in days:
            slot = int(day.replace(hour=hour, minute=minute).timestamp())
            a, b = max(lo, slot), min(hi, slot + length)
            if a < b:
                out.append((a, b))
        day += timedelta(days=1)
    return out
