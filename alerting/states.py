"""Device and link states from poll results, evaluated parents first.

A device that does not answer is *down* only if at least one path to it is up;
when every parent is down or unreachable it is *unreachable* (cut off, not
broken), and nobody is paged for it. Parents are evaluated before children in
the same cycle, so a child never shows down before its parent; a device whose
parent just failed becomes unreachable even if it was not polled this cycle.
Every observation also feeds flap detection.

Observation time is the truth: every result carries the instant its poll
started, and a device's state moves only forward in it — a result older than
the newest one applied is ignored here (its samples are still stored). A
state also remembers what was last *observed* (``known``): a device that was
down and is now unreachable or unknown is still known down, so its incident
stays open until a good answer is seen (see ``STATE_TABLE``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from alerting.flapping import is_flapping
from alerting.rules.config import FlappingRules, RulesConfig
from collectors.base import PollResult, failure_vi
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
UNOBSERVED = (Status.UNREACHABLE, Status.UNKNOWN)  # what the device is doing cannot be seen now

# The state model: (event, state) → new state; what happens to incidents; what the post hears.
# The README carries the same table; tests/unit/alerting/test_state_table.py checks every cell.
STATE_TABLE: tuple[tuple[str, str, str, str, str], ...] = (
    ("good answer", "unknown", "up", "none", "none"),
    ("good answer", "up", "up", "none", "none"),
    ("good answer", "down", "up", "device_down resolves", "RECOVERED"),
    ("good answer", "unreachable (known down)", "up", "device_down resolves", "RECOVERED"),
    ("good answer", "unreachable (known up)", "up", "none", "none"),
    ("confirmed silence, a parent up", "unknown", "down", "device_down opens", "DOWN"),
    ("confirmed silence, a parent up", "up", "down", "device_down opens", "DOWN"),
    ("confirmed silence, a parent up", "down", "down", "stays open", "none"),
    ("confirmed silence, a parent up", "unreachable (known down)", "down", "stays open", "none"),
    ("confirmed silence, a parent up", "unreachable (known up)", "down", "device_down opens", "DOWN"),
    ("silence, every parent failed", "up", "unreachable", "none (the parent's incident lists it)", "none"),
    ("silence, every parent failed", "down", "unreachable", "stays open: no longer observable",
     "none"),
    ("parent fails, not polled yet", "up", "unreachable", "none", "none"),
    ("parent fails, not polled yet", "down", "unreachable", "stays open: no longer observable", "none"),
    ("result older than the newest applied", "any", "unchanged", "none", "none"),
    ("no observation for stale_after_s", "up", "unknown", "none", "none"),
    ("no observation for stale_after_s", "down", "unknown", "stays open: last known", "none"),
)


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
    observed: float = 0.0  # start instant of the newest result applied (epoch seconds)
    known: Status = Status.UNKNOWN  # the last status actually observed (never unreachable/unknown)
    known_since: int = 0

    @property
    def known_down(self) -> bool:
        """Down, or last seen down and not observable since."""
        return self.status is Status.DOWN or (self.status in UNOBSERVED and self.known is Status.DOWN)


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
    stale_results: int = 0  # results ignored because a newer observation was already applied

    def __post_init__(self) -> None:
        for dev_id in self.inventory.devices:
            self.states.setdefault(dev_id, DeviceState(dev_id))
        for link_id in self.inventory.links:
            self.links.setdefault(link_id, DeviceState(link_id))

    def apply(self, results: dict[str, PollResult], now: int | None = None) -> list[Transition]:
        """Update states from results (any subset of devices), parents first, then links."""
        transitions = []
        fresh = {dev_id: r for dev_id, r in results.items() if self._is_fresh(dev_id, r)}
        for dev_id in self.inventory.parents_first:
            result = fresh.get(dev_id)
            change = self._apply_one(dev_id, result) if result else self._unobserved(dev_id, now)
            if change is not None:
                transitions.append(change)
        for link_id in self.inventory.links:
            change = self._apply_link(link_id, fresh)
            if change is not None:
                transitions.append(change)
        return transitions

    def _is_fresh(self, dev_id: str, result: PollResult) -> bool:
        state = self.states.get(dev_id)
        if state is None:
            return False
        if result.observed_at < state.observed:
            self.stale_results += 1
            return False
        return True

    def _apply_one(self, dev_id: str, result: PollResult) -> Transition | None:
        state = self.states[dev_id]
        state.last_poll = result.ts
        state.observed = result.observed_at
        cut_off = None if result.ok else self._cut_off_by(dev_id)
        if cut_off is None:  # a silence its parent explains is not the device's own: no flap count
            self._observe(state, 1 if result.ok else 0, self.rules.flapping)
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
        if cut_off:
            return _set(state, Status.UNREACHABLE, result.ts, f"thiết bị cha {cut_off} không hoạt động")
        if state.failures < self.rules.confirm_failures and state.status not in FAILED:
            return None  # soft failure: wait for confirmation
        return _set(state, Status.DOWN, result.ts, failure_vi(result))

    def _unobserved(self, dev_id: str, now: int | None) -> Transition | None:
        """No new result: unreachable if its parents all failed, unknown once its news is stale."""
        state = self.states[dev_id]
        if now is None:
            return None
        cut_off = self._cut_off_by(dev_id)
        if cut_off and state.status is not Status.UNREACHABLE:
            return _set(state, Status.UNREACHABLE, now, f"thiết bị cha {cut_off} không hoạt động")
        stale = state.last_poll and now - state.last_poll > self.rules.stale_after_s
        if stale and state.status not in (Status.UNKNOWN, Status.UNREACHABLE, Status.MAINTENANCE):
            minutes = round((now - state.last_poll) / 60)
            return _set(state, Status.UNKNOWN, now, f"không có số liệu mới trong {minutes} phút")
        return None

    def _apply_link(self, link_id: str, results: dict[str, PollResult]) -> Transition | None:
        link = self.inventory.links[link_id]
        result = results.get(link.device)
        if result is None:
            return None
        state = self.links[link_id]
        device = self.states[link.device]
        if device.status in FAILED:  # the link cannot be seen: unknown, its last known state kept
            return _set(state, Status.UNKNOWN, result.ts, f"thiết bị {link.device} không trả lời")
        if not result.ok or device.status not in ANSWERING:
            return None  # unconfirmed failure or maintenance: keep the last known link state
        state.last_poll = result.ts
        state.observed = result.observed_at
        oper = _oper_status(result, link.if_index)
        if oper is None:
            return None  # this poll did not read interfaces (e.g. a reachability-only job)
        good = oper == OPER_UP
        self._observe(state, 1 if good else 0, self.rules.link_flapping)
        if good:
            return _set(state, Status.UP, result.ts, "đường truyền hoạt động")
        return _set(state, Status.DOWN, result.ts, f"giao diện {link.if_index} trạng thái {oper}")

    @staticmethod
    def _observe(state: DeviceState, good: int, flap: FlappingRules) -> None:
        state.history = (state.history + [good])[-flap.window:]
        state.flapping = _is_flapping(tuple(state.history), state.flapping, flap)

    def _cut_off_by(self, dev_id: str) -> str | None:
        """The failed parent if every parent is down/unreachable, else None."""
        parents = self.inventory.devices[dev_id].parents
        if not parents:
            return None
        bad = [p for p in parents if self.states[p].status in FAILED]
        return bad[0] if len(bad) == len(parents) else None


@lru_cache(maxsize=1 << 16)
def _is_flapping(history: tuple[int, ...], was_flapping: bool, flap: FlappingRules) -> bool:
    """:func:`is_flapping`, remembered: the verdict depends on these alone, and most devices share a
    few histories, so a national cycle computes each once instead of once per observation."""
    return is_flapping(list(history), was_flapping, flap)


def _set(state: DeviceState, status: Status, ts: int, reason: str) -> Transition | None:
    state.reason = reason
    if state.status is status:
        return None
    change = Transition(state.device, state.status, status, ts, reason)
    state.status, state.since = status, ts
    if status not in UNOBSERVED:
        state.known, state.known_since = status, ts
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
