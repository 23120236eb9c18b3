"""BTS power rules: on battery, how long it will last, battery faults.

Runtime left is projected from the slope of the battery charge over the last
readings (least-squares line), which tracks a real discharge better than the
UPS's own estimate; the UPS-MIB estimate is used until there are enough
readings. Thresholds depend on the site's disaster-hardening level.

A power system that can no longer be observed (down, cut off behind its
router, no news) keeps its last known condition: still on battery, with the
projected runtime counting down from the last reading and saying so. It ends
only when the system is seen again on mains.
"""

from __future__ import annotations

from collections.abc import Mapping

from alerting.bts_status import on_battery
from alerting.incidents import Condition, IncidentKind, Severity
from alerting.rules.context import RuleContext
from alerting.states import ANSWERING, Status
from inventory.model import DeviceRole
from store.base import FieldValue

UPS_MEASUREMENT = "ups"
BATTERY_LOW_STATUS = (3, 4)  # upsBatteryStatus batteryLow(3), batteryDepleted(4)


def power_conditions(ctx: RuleContext) -> list[Condition]:
    """One condition per power system on battery or with a failing battery."""
    out: list[Condition] = []
    power_ids = [d.id for d in ctx.inventory.devices.values() if d.role is DeviceRole.POWER]
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
            out.append(_on_battery_condition(ctx, dev_id, fields, seen))
        elif fields.get("battery_status") in BATTERY_LOW_STATUS:
            out.append(Condition(
                key=f"battery_low:{dev_id}", kind=IncidentKind.BATTERY_LOW, severity=Severity.MAJOR,
                title=f"Ắc quy yếu: {ctx.place(dev_id)}",
                why="UPS-MIB báo ắc quy yếu/cạn khi đang có điện lưới (cần kiểm tra, thay thế)",
                since=point.ts, details={"battery_status": fields.get("battery_status")},
                **ctx.where(dev_id),
            ))
    return out


def projected_minutes(points: list[tuple[int, float]]) -> float | None:
    """Minutes until the charge reaches 0 on the least-squares line through ``points``.

    ``points`` are (epoch seconds, charge %). None when the charge is not falling.
    """
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_c = sum(c for _, c in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    slope = sum((t - mean_t) * (c - mean_c) for t, c in points) / var  # % per second
    if slope >= 0:
        return None
    last_t = points[-1][0]
    charge_now = mean_c + slope * (last_t - mean_t)
    return max(charge_now, 0.0) / -slope / 60.0


def _on_battery_condition(ctx: RuleContext, dev_id: str, fields: Mapping[str, FieldValue],
                          seen: int | None) -> Condition:
    """On battery now, or (``seen`` = time of the last reading) last known on battery."""
    rules = ctx.rules.battery
    hardening = ctx.inventory.devices[dev_id].hardening_level
    raw_seconds = fields.get("seconds_on_battery")
    seconds_on = int(raw_seconds) if isinstance(raw_seconds, int | float) else 0
    at = ctx.now if seen is None else seen
    since = at - seconds_on if seconds_on else at
    start = max(since, at - rules.fit_window_s)
    series = ctx.store.range(UPS_MEASUREMENT, "charge_pct", start, at, where={"device": dev_id})
    points = [(p.ts, float(p.fields["charge_pct"])) for p in series
              if isinstance(p.fields.get("charge_pct"), int | float)]
    minutes = projected_minutes(points) if len(points) >= rules.fit_min_points else None
    method = "dự báo theo tốc độ xả"
    if minutes is None and isinstance(fields.get("minutes_remaining"), int | float):
        minutes, method = float(fields["minutes_remaining"]), "ước tính của UPS"
    if minutes is not None and seen is not None:
        minutes = max(0.0, minutes - (ctx.now - seen) / 60)  # counting down since the last reading
    severity = Severity.WARNING
    if minutes is not None and minutes < rules.critical_for(hardening):
        severity = Severity.CRITICAL
    elif minutes is not None and minutes < rules.warn_for(hardening):
        severity = Severity.MAJOR
    site = ctx.inventory.sites[ctx.inventory.devices[dev_id].site]
    reading = f"UPS-MIB: nguồn ra = ắc quy; dung lượng {fields.get('charge_pct')}% ({method})"
    if seen is None:
        left = f", còn khoảng {round(minutes)} phút" if minutes is not None else ""
        title = f"{site.name} mất điện lưới, đang chạy ắc quy{left}"
        why = reading
    else:
        clock = ctx.local_time(seen)
        left = f", còn khoảng {round(minutes)} phút (ước tính từ lúc {clock})" if minutes is not None else ""
        title = f"{site.name} mất điện lưới, đang chạy ắc quy{left}"
        why = (f"không còn theo dõi được hệ thống nguồn từ {clock}; lần đọc cuối: {reading}")
    return Condition(
        key=f"bts_on_battery:{dev_id}", kind=IncidentKind.BTS_ON_BATTERY, severity=severity,
        title=title, why=why, since=since,
        details={"charge_pct": fields.get("charge_pct"),
                 "minutes_left": None if minutes is None else round(minutes, 1), "method": method,
                 "last_known": seen is not None, "read_at": at},
        **ctx.where(dev_id),
    )
