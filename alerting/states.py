"""Device states from poll results, evaluated parents first.

A device that does not answer is *down* only if at least one path to it is up;
when every parent is down or unreachable it is *unreachable* (cut off, not
broken), so nobody is paged for it. Parents are evaluated before children in
the same cycle, so a child never shows down before its parent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from collectors.base import PollResult
from inventory.inventory import Inventory


class Status(StrEnum):
    """What we currently believe about a device."""

    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"
    UNREACHABLE = "unreachable"


@dataclass(slots=True)
class DeviceState:
    """Current state of one device, with since-when and why."""

    device: str
    status: Status = Status.UNKNOWN
    since: int = 0
    last_poll: int = 0
    failures: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Transition:
    """A device changed status at ``ts``."""

    device: str
    old: Status
    new: Status
    ts: int
    reason: str


@dataclass
class StateTracker:
    """Keeps every device's state; ``apply`` folds in one cycle's results."""

    inventory: Inventory
    confirm_failures: int = 1
    states: dict[str, DeviceState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for dev_id in self.inventory.devices:
            self.states.setdefault(dev_id, DeviceState(dev_id))

    def apply(self, results: dict[str, PollResult]) -> list[Transition]:
        """Update states from results (any subset of devices), parents first."""
        transitions = []
        for dev_id in self.inventory.parents_first:
            result = results.get(dev_id)
            if result is None:
                continue
            change = self._apply_one(dev_id, result)
            if change is not None:
                transitions.append(change)
        return transitions

    def _apply_one(self, dev_id: str, result: PollResult) -> Transition | None:
        state = self.states[dev_id]
        state.last_poll = result.ts
        if result.ok:
            state.failures = 0
            return self._set(state, Status.UP, result.ts, "trả lời SNMP")
        state.failures += 1
        if state.failures < self.confirm_failures and state.status is not Status.UNKNOWN:
            return None
        cut_off = self._cut_off_by(dev_id)
        if cut_off:
            return self._set(state, Status.UNREACHABLE, result.ts, f"thiết bị cha {cut_off} không hoạt động")
        return self._set(state, Status.DOWN, result.ts, result.error or "không trả lời")

    def _cut_off_by(self, dev_id: str) -> str | None:
        """The failed parent if every parent is down/unreachable, else None."""
        parents = self.inventory.devices[dev_id].parents
        if not parents:
            return None
        bad = [p for p in parents if self.states[p].status in (Status.DOWN, Status.UNREACHABLE)]
        return bad[0] if len(bad) == len(parents) else None

    @staticmethod
    def _set(state: DeviceState, status: Status, ts: int, reason: str) -> Transition | None:
        state.reason = reason
        if state.status is status:
            return None
        change = Transition(state.device, state.status, status, ts, reason)
        state.status, state.since = status, ts
        return change
