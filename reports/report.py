"""One availability report: period, per-device figures, groups on demand, indicators.

:func:`build_report` reads the state history once (devices and links), the
backup/battery incidents, and computes everything in memory; the same object
feeds the dashboard, CSV, the printable report, the IOC API and the monthly job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from alerting.history import StateHistory
from common.timefmt import local_time
from inventory.inventory import Inventory
from reports.availability import (
    DeviceAvailability,
    GroupAvailability,
    compute_devices,
    group_devices,
)
from reports.incident_time import backup_seconds, battery_seconds
from reports.indicators import Indicators, compute_indicators
from store.base import MetricStore

PERIODS = ("day", "week", "month")


@dataclass
class AvailabilityReport:
    """Figures for [start, end) (UTC epoch seconds)."""

    inventory: Inventory
    start: int
    end: int
    generated_at: int
    devices: dict[str, DeviceAvailability]
    backup_s: dict[str, int]  # commune → seconds on backup
    battery_commune_s: dict[str, int]  # commune → seconds with a BTS site on battery
    indicators: Indicators
    compute_s: float = 0.0
    _groups: dict[str, list[GroupAvailability]] = field(default_factory=dict, repr=False)

    def groups(self, by: str) -> list[GroupAvailability]:
        """Pooled figures per site/commune/province/operator/role (``device`` gives one group per device)."""
        if by not in self._groups:
            groups = group_devices(self.devices, self.inventory, by, self.backup_s)
            if by == "commune":
                for g in groups:
                    g.battery_s = self.battery_commune_s.get(g.key, 0)
            self._groups[by] = groups
        return self._groups[by]

    def total(self) -> GroupAvailability:
        """The whole network pooled."""
        (total,) = group_devices(self.devices, self.inventory, "province", None)
        total.backup_s = sum(self.backup_s.values())
        total.battery_s = sum(self.battery_commune_s.values())
        return total

    def name_of(self, by: str, key: str) -> str:
        """A person-readable name for a group key (commune and device names, site names)."""
        inv = self.inventory
        if by == "commune":
            return inv.commune_ref(key).name
        if by == "device" and key in inv.devices:
            return inv.devices[key].name
        if by == "site" and key in inv.sites:
            return inv.sites[key].name
        if by == "province":
            return inv.reference.provinces.get(key, key)
        return key


def build_report(engine: Engine, inventory: Inventory, start: int, end: int, *,
                 store: MetricStore | None = None, now: int | None = None) -> AvailabilityReport:
    """Compute the report for [start, end) from the alerting database (and the store for DNS/IPv6)."""
    if end <= start:
        raise ValueError(f"the period must end after it starts (start={start}, end={end})")
    t0 = time.perf_counter()
    intervals = StateHistory(engine).intervals(start, end)
    rows = compute_devices(intervals, inventory, start, end)
    battery_dev, battery_commune = battery_seconds(engine, start, end)
    for dev, seconds in battery_dev.items():
        if dev in rows:
            rows[dev].battery_s = seconds
    now = int(time.time()) if now is None else now
    indicators = compute_indicators(inventory, rows, intervals, store=store, now=min(now, end))
    return AvailabilityReport(inventory, start, end, now, rows, backup_seconds(engine, start, end),
                              battery_commune, indicators, time.perf_counter() - t0)


def period_bounds(kind: str, ref: int, tz: ZoneInfo) -> tuple[int, int]:
    """The local day/week/month containing ``ref`` (epoch s), as UTC epoch bounds [start, end)."""
    local = datetime.fromtimestamp(ref, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "day":
        start, end = local, local + timedelta(days=1)
    elif kind == "week":
        start = local - timedelta(days=local.weekday())
        end = start + timedelta(days=7)
    elif kind == "month":
        start = local.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"period {kind!r} is not one of {', '.join(PERIODS)}")
    return int(start.timestamp()), int(end.timestamp())


def previous_month(now: int, tz: ZoneInfo) -> tuple[int, int, str]:
    """[start, end) of the local month before the one containing ``now``, and its label 'YYYY-MM'."""
    this_start, _ = period_bounds("month", now, tz)
    start, end = period_bounds("month", this_start - 1, tz)
    return start, end, local_time(start, tz, "month")
