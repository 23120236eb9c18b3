"""BTS power rules: on battery, how long it will last, battery faults.

Runtime left is projected from the slope of the battery charge over the last
readings (least-squares line), which tracks a real discharge better than the
UPS's own estimate; the UPS-MIB estimate is used until there are enough
readings. Thresholds depend on the site's disaster-hardening level.

The figure itself (charge, runtime left, method) comes from
:func:`alerting.battery.battery_figure`, the one function every page reads too.
A power system that can no longer be observed (down, cut off behind its
router, no news) keeps its last known condition: still on battery, with the
projected runtime counting down from the last reading and saying so. It ends
only when the system is seen again on mains.
"""

from __future__ import annotations

from collections.abc import Mapping

from alerting.battery import METHOD_SLOPE, battery_figure, on_battery, projected_minutes
from alerting.incidents import Condition, IncidentKind, Severity
from alerting.rules.context import RuleContext
from alerting.states import ANSWERING, Status
from store.base import FieldValue

UPS_MEASUREMENT = "ups"
BATTERY_LOW_STATUS = (3, 4)
__all__ = ["power_conditions", "projected_minutes"]  # upsBatteryStatus batteryLow(3), batteryDepleted(4)


def power_conditions(ctx: RuleContext) -> list[Condition]:
    """One condition per power system on battery or with a failing battery."""
    out: list[Condition] = []
    power_ids = ctx.lookup.power_systems
    if not power_ids:
        return out
    latest = {p.tags.get("device"): p for p in ctx.store.latest(UPS_MEASUREMENT)}
    for dev_id in power_ids:
        point = latest.get(dev_id)
        status = ctx.tracker.states[dev_id].status
        if point is None or status is Status.MAINTENANCE:
            continue
        fields = point.fields
        seen = point.ts if status not in ANSWERING else None  # last known, not current
        if on_battery(fields):
            out.append(_on_battery_condition(ctx, dev_id, fields, point.ts, seen))
        elif fields.get("battery_status") in BATTERY_LOW_STATUS:
            out.append(Condition(
                key=f"battery_low:{dev_id}", kind=IncidentKind.BATTERY_LOW, severity=Severity.MAJOR,
                title=f"Ắc quy yếu: {ctx.place(dev_id)}",
                why="UPS-MIB báo ắc quy yếu/cạn khi đang có điện lưới (cần kiểm tra, thay thế)",
                since=point.ts, details={"battery_status": fields.get("battery_status")},
                **ctx.where(dev_id),
            ))
    return out


def _on_battery_condition(ctx: RuleContext, dev_id: str, fields: Mapping[str, FieldValue],
                          read_at: int, seen: int | None) -> Condition:
    """On battery now, or (``seen`` = time of the last reading) last known on battery.

    ``read_at``: when ``fields`` were read (the figure is fitted up to that reading, as every page does).
    """
    rules = ctx.rules.battery
    hardening = ctx.inventory.devices[dev_id].hardening_level
    figure = battery_figure(ctx.store, dev_id, fields, read_at, observable=seen is None, now=ctx.now,
                            fit_window_s=rules.fit_window_s, fit_min_points=rules.fit_min_points,
                            memo=ctx.fits)
    minutes, method = figure.minutes_left, figure.method or METHOD_SLOPE
    at = ctx.now if seen is None else seen
    since = figure.since if figure.since is not None else read_at
    severity = Severity.WARNING
    if minutes is not None and minutes < rules.critical_for(hardening):
        severity = Severity.CRITICAL
    elif minutes is not None and minutes < rules.warn_for(hardening):
        severity = Severity.MAJOR
    site = ctx.inventory.sites[ctx.inventory.devices[dev_id].site]
    reading = f"UPS-MIB: nguồn ra = ắc quy; dung lượng {fields.get('charge_pct')}% ({method})"
    left = figure.left_text(ctx.timezone)
    title = f"{site.name} mất điện lưới, đang chạy ắc quy" + (f", {left}" if left else "")
    why = reading
    if seen is not None:
        why = f"không còn theo dõi được hệ thống nguồn từ {ctx.local_time(seen)}; lần đọc cuối: {reading}"
    return Condition(
        key=f"bts_on_battery:{dev_id}", kind=IncidentKind.BTS_ON_BATTERY, severity=severity,
        title=title, why=why, since=since,
        details={"charge_pct": fields.get("charge_pct"),
                 "minutes_left": minutes, "method": method,
                 "last_known": seen is not None, "read_at": at},
        **ctx.where(dev_id),
    )
