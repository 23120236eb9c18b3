"""Device and link states from poll results, evaluated parents first.

A device that does not answer is *down* only if at least one path to it is up;
when every parent is down or unreachable it is *unreachable* (cut off, not
broken), and nobody is paged for it. Parents are evaluated before children in
the same cycle, so a child never shows down before its parent; a device whose
parent just failed becomes unreachable even if it was not polled this cycle.
Every observation also feeds flap detection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from alerting.flapping import is_flapping
from alerting.rules.config import RulesConfig
from collectors.base import PollResult
from inventory.inventory import Inventory

IF_MEASUREMENT = "snmp_if"
OPER_UP = 1


class Status(StrEnum):
    """What we currently believe about a device or link."""

    UNKNOWN = "unknown"
    UP = "up"
    DEGRADED = "degraded"  # answers, but a monitored interface is down
    DOWN = "down"
    UNREACHABLE = "unreachable"
    MAINTENANCE = "maintenance"


FAILED = (Status.DOWN, Status.UNREACHABLE)
ANSWERING = (Status.UP, Status.DEGRADED)


@dataclass(slots=True)
class DeviceState:
    """Current state of one device (or link), with since-when, why and recent history."""

    device: str
    status: Status = Status.UNKNOWN
    since: int = 0
    last_poll: int = 0
    failures: int = 0
    reason: str = ""
    history: list[int] = field(default_factory=list)  # 1 = good observation, 0 = bad
    flapping: bool = False


@dataclass(frozen=True, slots=True)
class Transition:
    """A device or link changed status at ``ts``."""

    device: str
    old: Status
    new: Status
    ts: int
    reason: str


@dataclass
class StateTracker:
    """Every device's and link's state; ``apply`` folds in one cycle's results."""

    inventory: Inventory
    rules: RulesConfig = field(default_factory=RulesConfig)
    states: dict[str, DeviceState] = field(default_factory=dict)
    links: dict[str, DeviceState] = field(default_factory=dict)
    in_maintenance: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for dev_id in self.inventory.devices:
            self.states.setdefault(dev_id, DeviceState(dev_id))
        for link_id in self.inventory.links:
            self.links.setdefault(link_id, DeviceState(link_id))

    def apply(self, results: dict[str, PollResult], now: int | None = None) -> list[Transition]:
        """Update states from results (any subset of devices), parents first, then links."""
        transitions = []
        for dev_id in self.inventory.parents_first:
            result = results.get(dev_id)
            change = self._apply_one(dev_id, result) if result else self._follow_parents(dev_id, now)
            if change is not None:
                transitions.append(change)
        for link_id in self.inventory.links:
            change = self._apply_link(link_id, results)
            if change is not None:
                transitions.append(change)
        return transitions

    def _apply_one(self, dev_id: str, result: PollResult) -> Transition | None:
        state = self.states[dev_id]
        state.last_poll = result.ts
        self._observe(state, 1 if result.ok else 0)
        if dev_id in self.in_maintenance:
            return _set(state, Status.MAINTENANCE, result.ts, "đang bảo trì")
        if result.ok:
            state.failures = 0
            down_ifs = _interfaces_down(result)
            if down_ifs:
                why = "giao diện không hoạt động: " + ", ".join(down_ifs)
                return _set(state, Status.DEGRADED, result.ts, why)
            return _set(state, Status.UP, result.ts, "trả lời bình thường")
        state.failures += 1
        cut_off = self._cut_off_by(dev_id)
        if cut_off:
            return _set(state, Status.UNREACHABLE, result.ts, f"thiết bị cha {cut_off} không hoạt động")
        if state.failures < self.rules.confirm_failures and state.status not in FAILED:
            return None  # soft failure: wait for confirmation
        return _set(state, Status.DOWN, result.ts, result.error or "không trả lời")

    def _follow_parents(self, dev_id: str, now: int | None) -> Transition | None:
        """Not polled this cycle: becomes unreachable if its parents all failed."""
        state = self.states[dev_id]
        cut_off = self._cut_off_by(dev_id)
        if cut_off and state.status is not Status.UNREACHABLE and now is not None:
            return _set(state, Status.UNREACHABLE, now, f"thiết bị cha {cut_off} không hoạt động")
        return None

    def _apply_link(self, link_id: str, results: dict[str, PollResult]) -> Transition | None:
        link = self.inventory.links[link_id]
        result = results.get(link.device)
        if result is None:
            return None
        state = self.links[link_id]
        device = self.states[link.device]
        if device.status in FAILED:
            return _set(state, Status.UNKNOWN, result.ts, f"thiết bị {link.device} không trả lời")
        if not result.ok or device.status not in ANSWERING:
            return None  # unconfirmed failure or maintenance: keep the last known link state
        state.last_poll = result.ts
        oper = _oper_status(result, link.if_index)
        if oper is None:
            return None  # this poll did not read interfaces (e.g. a reachability-only job)
        good = oper == OPER_UP
        self._observe(state, 1 if good else 0)
        if good:
            return _set(state, Status.UP, result.ts, "đường truyền hoạt động")
        return _set(state, Status.DOWN, result.ts, f"giao diện {link.if_index} trạng thái {oper}")

    def _observe(self, state: DeviceState, good: int) -> None:
        flap = self.rules.flapping
        state.history = (state.history + [good])[-flap.window:]
        state.flapping = is_flapping(state.history, state.flapping, flap)

    def _cut_off_by(self, dev_id: str) -> str | None:
        """The failed parent if every parent is down/unreachable, else None."""
        parents = self.inventory.devices[dev_id].parents
        if not parents:
            return None
        bad = [p for p in parents if self.states[p].status in FAILED]
        return bad[0] if len(bad) == len(parents) else None


def _set(state: DeviceState, status: Status, ts: int, reason: str) -> Transition | None:
    state.reason = reason
    if state.status is status:
        return None
    change = Transition(state.device, state.status, status, ts, reason)
    state.status, state.since = status, ts
    return change


def _oper_status(result: PollResult, if_index: int) -> int | None:
    wanted = str(if_index)
    for sample in result.samples:
        if sample.measurement == IF_MEASUREMENT and sample.tags.get("if_index") == wanted:
            value = sample.fields.get("oper_status")
            return int(value) if isinstance(value, int | float) else None
    return None


def _interfaces_down(result: PollResult) -> list[str]:
    """Interfaces administratively up but operationally down."""
    down = []
    for sample in result.samples:
        if sample.measurement != IF_MEASUREMENT:
            continue
        if sample.fields.get("admin_status") == 1 and sample.fields.get("oper_status") == 2:
            down.append(sample.tags.get("if_index", "?"))
    return down
