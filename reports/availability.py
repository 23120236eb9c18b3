"""Availability to the second from state-history intervals, per device and per group.

Rules (the city plans' reading of "availability"):

- *available* time is time ``up`` or ``degraded`` (the device answers);
- the denominator (*observed* time) is available + ``down`` time: time in
  ``maintenance`` is excluded, and so is time ``unreachable`` behind a failed
  parent — that time is the parent's (its own ``down`` time counts against it,
  and the device-seconds its descendants were cut off are shown as
  ``caused_unreachable_s``); ``unknown`` (not yet polled) is excluded too;
- an *outage* is one ``down`` interval (adjacent ones merged), clipped to the
  period; MTTR is the mean outage duration (total down time / outages).

Groups (site, commune, province, operator, role) pool their devices' seconds,
so a commune's availability is its devices' available time over their observed
time, not an average of percentages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from alerting.history import Interval
from inventory.inventory import Inventory

AVAILABLE = ("up", "degraded")
GROUPINGS = ("device", "site", "commune", "province", "operator", "role")


class _Ratios:
    """Availability and MTTR from available/down seconds and outages (devices and groups alike)."""

    __slots__ = ()
    available_s: int
    down_s: int
    outages: int

    @property
    def observed_s(self) -> int:
        """The denominator: available + down (maintenance, unreachable, unknown excluded)."""
        return self.available_s + self.down_s

    @property
    def availability(self) -> float | None:
        """Available share of observed time (0–1), None when nothing was observed."""
        return self.available_s / self.observed_s if self.observed_s else None

    @property
    def mttr_s(self) -> float | None:
        """Mean time to repair: down time / outages."""
        return self.down_s / self.outages if self.outages else None


@dataclass(slots=True)
class DeviceAvailability(_Ratios):
    """One device's figures over a period (seconds, UTC epoch)."""

    device: str
    period_s: int
    available_s: int = 0
    down_s: int = 0
    maintenance_s: int = 0
    unreachable_s: int = 0
    unknown_s: int = 0
    outages: int = 0
    longest_outage_s: int = 0
    caused_unreachable_s: int = 0  # device-seconds its descendants were cut off while it was down
    battery_s: int = 0  # time on battery (bts_on_battery incidents of this device)


@dataclass(slots=True)
class GroupAvailability(_Ratios):
    """Pooled figures of a group of devices (a site, commune, operator, role, province)."""

    by: str
    key: str
    devices: int = 0
    available_s: int = 0
    down_s: int = 0
    maintenance_s: int = 0
    unreachable_s: int = 0
    outages: int = 0
    longest_outage_s: int = 0
    battery_s: int = 0
    backup_s: int = 0  # communes only: time on the backup link (link_on_backup incidents)
    members: list[str] = field(default_factory=list)


def compute_devices(intervals: Iterable[Interval], inventory: Inventory, start: int, end: int
                    ) -> dict[str, DeviceAvailability]:
    """Per-device figures for [start, end) from clipped intervals (links ``link:…`` are skipped)."""
    period = end - start
    out = {d: DeviceAvailability(d, period) for d in inventory.devices}
    downs: dict[str, list[tuple[int, int]]] = defaultdict(list)
    unreachable: dict[str, list[tuple[int, int]]] = defaultdict(list)
    last_down_end: dict[str, int] = {}
    for iv in intervals:
        row = out.get(iv.subject)
        if row is None:
            continue
        length = iv.end - iv.start
        if iv.status in AVAILABLE:
            row.available_s += length
        elif iv.status == "down":
            row.down_s += length
            if last_down_end.get(iv.subject) == iv.start:  # continues the previous outage
                s0, _ = downs[iv.subject][-1]
                downs[iv.subject][-1] = (s0, iv.end)
            else:
                row.outages += 1
                downs[iv.subject].append((iv.start, iv.end))
            last_down_end[iv.subject] = iv.end
            first, last = downs[iv.subject][-1]
            row.longest_outage_s = max(row.longest_outage_s, last - first)
        elif iv.status == "maintenance":
            row.maintenance_s += length
        elif iv.status == "unreachable":
            row.unreachable_s += length
            unreachable[iv.subject].append((iv.start, iv.end))
        else:
            row.unknown_s += length
    for row in out.values():  # time before the first interval (never polled) is unknown
        row.unknown_s = max(0, period - row.available_s - row.down_s - row.maintenance_s - row.unreachable_s)
    _attribute_cut_off(out, downs, unreachable, inventory)
    return out


def _attribute_cut_off(out: dict[str, DeviceAvailability], downs: dict[str, list[tuple[int, int]]],
                       unreachable: dict[str, list[tuple[int, int]]], inventory: Inventory) -> None:
    """Give each down device the device-seconds its descendants were unreachable during its outages."""
    if not unreachable:
        return
    children = inventory.children
    for parent, spans in downs.items():
        seen: set[str] = set()
        stack = list(children.get(parent, ()))
        while stack:
            dev = stack.pop()
            if dev in seen:
                continue
            seen.add(dev)
            stack.extend(children.get(dev, ()))
            for u0, u1 in unreachable.get(dev, ()):
                for d0, d1 in spans:
                    overlap = min(u1, d1) - max(u0, d0)
                    if overlap > 0:
                        out[parent].caused_unreachable_s += overlap


def group_key(inventory: Inventory, by: str) -> Callable[[str], str]:
    """Device id → its group value for ``by`` (one of :data:`GROUPINGS`)."""
    if by not in GROUPINGS:
        raise ValueError(f"by={by!r} is not one of {', '.join(GROUPINGS)}")
    devices, sites = inventory.devices, inventory.sites
    if by == "device":
        return lambda d: d
    if by == "site":
        return lambda d: devices[d].site
    if by == "commune":
        return lambda d: sites[devices[d].site].commune
    if by == "province":
        return lambda d: inventory.province
    if by == "operator":
        return lambda d: devices[d].operator or "—"
    return lambda d: devices[d].role.value


def group_devices(rows: dict[str, DeviceAvailability], inventory: Inventory, by: str,
                  backup_s: dict[str, int] | None = None) -> list[GroupAvailability]:
    """Pool device figures by ``by``; ``backup_s`` (commune → seconds) fills commune groups."""
    key_of = group_key(inventory, by)
    groups: dict[str, GroupAvailability] = {}
    for dev, row in rows.items():
        key = key_of(dev)
        g = groups.get(key)
        if g is None:
            g = groups[key] = GroupAvailability(by, key)
        g.devices += 1
        g.available_s += row.available_s
        g.down_s += row.down_s
        g.maintenance_s += row.maintenance_s
        g.unreachable_s += row.unreachable_s
        g.outages += row.outages
        g.longest_outage_s = max(g.longest_outage_s, row.longest_outage_s)
        g.battery_s += row.battery_s
        g.members.append(dev)
    if by == "commune" and backup_s:
        for code, seconds in backup_s.items():
            if code in groups:
                groups[code].backup_s = seconds
    return sorted(groups.values(), key=lambda g: g.key)
