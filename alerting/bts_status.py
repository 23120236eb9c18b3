"""A BTS site's state, decided in one place from what is there: the BTS, its power system, or both.

Every page, counter and API that says "the BTS of commune X is up / on battery /
down" asks :func:`site_bts_status`; every reader of UPS-MIB fields asks
:func:`on_battery`. A site counts as a BTS site when it has a BTS device, a power
system (role ``power``), or both.

Decision (first matching row wins; *observable* = the device answers now, i.e.
``up`` or ``degraded``):

============================================================  ===============================
what is known                                                  site state
============================================================  ===============================
no BTS device and no power system                              ``none``
a BTS device is ``down``                                       ``down`` (runtime kept if known)
an observable power system reads on battery (or its            ``battery``
``bts_on_battery`` incident is open)
a power system not observable now, last read on battery (or    ``battery``, *last known*, with
its incident still open)                                       the time of that reading; the
                                                               runtime counts down from it
BTS device(s) present: some answer                             ``up``
BTS device(s) present: in maintenance                          ``maintenance``
BTS device(s) present: all ``unreachable``                     ``unreachable``
power only: some power system answers (on mains)               ``up``
power only: a power system is ``down``                         ``down``
power only: all ``unreachable``                                ``unreachable``
otherwise (never observed, or no recent observation)           ``unknown``
============================================================  ===============================

A last-known condition stays last-known until the device is observed again: an
unobservable power system is never shown healthy and never as "no BTS".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from alerting.battery import on_battery
from alerting.states import ANSWERING, Status
from common.timefmt import local_time
from store.base import FieldValue

__all__ = ["BtsState", "PowerReading", "SiteBts", "on_battery", "site_bts_status", "worst"]


class BtsState(StrEnum):
    """What a coordinator needs to know about a BTS site."""

    UP = "up"
    BATTERY = "battery"
    DOWN = "down"
    UNREACHABLE = "unreachable"  # cut off behind a failed parent: not observable, not known down
    MAINTENANCE = "maintenance"
    UNKNOWN = "unknown"  # never observed, or no recent observation
    NONE = "none"  # no BTS device and no power system on the site


# most urgent first: what a commune with several BTS sites shows
URGENCY = (
    BtsState.DOWN,
    BtsState.BATTERY,
    BtsState.UNREACHABLE,
    BtsState.UNKNOWN,
    BtsState.MAINTENANCE,
    BtsState.UP,
    BtsState.NONE,
)
LABEL_VI = {
    BtsState.UP: "BTS hoạt động",
    BtsState.BATTERY: "Đang chạy ắc quy",
    BtsState.DOWN: "BTS mất kết nối",
    BtsState.UNREACHABLE: "Không liên lạc được (do thiết bị phía trên)",
    BtsState.MAINTENANCE: "Đang bảo trì",
    BtsState.UNKNOWN: "Chưa rõ / chưa có số liệu",
    BtsState.NONE: "Không có BTS",
}
POWER_LABEL_VI = {BtsState.UP: "Nguồn BTS hoạt động", BtsState.DOWN: "Nguồn BTS mất kết nối"}


@dataclass(frozen=True, slots=True)
class PowerReading:
    """What is known of one power system.

    ``status``: its tracked state; ``fields``/``ts``: its latest UPS-MIB reading and
    when it was taken; ``minutes_left``: the power rule's runtime projection (from the
    open ``bts_on_battery`` incident) made at ``minutes_since`` (default ``ts``);
    ``incident_open``: whether that incident is open.
    """

    device: str
    status: Status
    fields: Mapping[str, FieldValue] | None = None
    ts: int | None = None
    minutes_left: float | None = None
    minutes_since: int | None = None
    incident_open: bool = False

    @property
    def observable(self) -> bool:
        """It answers now, so its reading is current."""
        return self.status in ANSWERING

    @property
    def says_battery(self) -> bool:
        """Its reading or its open incident says it runs on battery."""
        return on_battery(self.fields) or self.incident_open

    def charge(self) -> float | None:
        """Battery charge (%) of the latest reading."""
        value = (self.fields or {}).get("charge_pct")
        return float(value) if isinstance(value, int | float) else None

    def runtime(self, now: int) -> float | None:
        """Minutes of battery left: the projection (else the UPS's estimate); when the system
        is not observable, counted down from when it was made."""
        minutes, made = self.minutes_left, self.minutes_since or self.ts
        estimate = (self.fields or {}).get("minutes_remaining")
        if minutes is None and isinstance(estimate, int | float):
            minutes, made = float(estimate), self.ts
        if minutes is None or self.observable or not made:
            return minutes
        return max(0.0, minutes - max(0, now - made) / 60.0)


@dataclass(frozen=True, slots=True)
class SiteBts:
    """A BTS site's (or a commune's worst site's) state, for people and counters."""

    state: BtsState
    minutes_left: float | None = None
    charge_pct: float | None = None
    last_known: bool = False  # the condition comes from a power system not observable now
    observed_at: int | None = None  # when that condition was last observed
    via_power: bool = False  # no BTS device: the power system stands for the site

    def label(self, tz: ZoneInfo) -> str:
        """Vietnamese text, e.g.
        'Đang chạy ắc quy (lần cuối lúc 21:13), còn khoảng 85 phút (ước tính lúc 21:13)'."""
        if self.state is not BtsState.BATTERY:
            return (POWER_LABEL_VI if self.via_power else LABEL_VI).get(self.state, LABEL_VI[self.state])
        text = LABEL_VI[BtsState.BATTERY]
        at = _hhmm(self.observed_at, tz) if self.last_known and self.observed_at else None
        if at:
            text += f" (lần cuối lúc {at})"
        if self.minutes_left is None:
            return text
        left = "có thể đã cạn ắc quy"
        if self.minutes_left > 0:
            left = f"còn khoảng {round(self.minutes_left)} phút"
        return f"{text}, {left}" + (f" (ước tính lúc {at})" if at else "")


def site_bts_status(bts: Sequence[Status], power: Sequence[PowerReading], now: int) -> SiteBts:
    """The one decision of a BTS site's state (see the module's table).

    ``bts``: tracked states of the site's BTS devices; ``power``: its power systems;
    ``now``: epoch seconds (last-known runtimes count down to it).
    """
    if not bts and not power:
        return SiteBts(BtsState.NONE)
    charges = [c for c in (p.charge() for p in power) if c is not None]
    charge = min(charges) if charges else None
    current = [p for p in power if p.observable and p.says_battery]
    stale = [p for p in power if not p.observable and p.says_battery]
    battery = current or stale
    minutes = _least([p.runtime(now) for p in battery])
    if any(s is Status.DOWN for s in bts):
        return SiteBts(BtsState.DOWN, minutes, charge)
    if battery:
        seen = [p.ts for p in stale if p.ts]
        return SiteBts(BtsState.BATTERY, minutes, charge, last_known=not current,
                       observed_at=None if current else (min(seen) if seen else None), via_power=not bts)
    state = _from_devices(list(bts)) if bts else _from_devices([p.status for p in power])
    return SiteBts(state, None, charge, via_power=not bts)


def worst(sites: Sequence[SiteBts]) -> SiteBts:
    """The most urgent of several sites (a commune's BTS); the shortest runtime among equals."""
    if not sites:
        return SiteBts(BtsState.NONE)
    return min(sites, key=lambda s: (URGENCY.index(s.state), _or_late(s.minutes_left)))


def _from_devices(states: list[Status]) -> BtsState:
    """Up/down/unreachable/maintenance/unknown of the devices standing for the site."""
    if any(s in ANSWERING for s in states):
        return BtsState.UP
    if any(s is Status.DOWN for s in states):
        return BtsState.DOWN
    if any(s is Status.MAINTENANCE for s in states):
        return BtsState.MAINTENANCE
    if states and all(s is Status.UNREACHABLE for s in states):
        return BtsState.UNREACHABLE
    return BtsState.UNKNOWN


def _or_late(minutes: float | None) -> float:
    return 1e9 if minutes is None else minutes


def _least(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _hhmm(ts: int, tz: ZoneInfo) -> str:
    return local_time(ts, tz, "time")
