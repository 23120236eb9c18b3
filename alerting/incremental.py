"""Incremental evaluation: per delivery, only what changed since the last one, plus timers.

The poller hands results over as each device's check completes (a batch every
~0.25 s), so the core is called many times per poll cycle. Evaluating states
and rules over the whole inventory at each call costs O(inventory) per call;
here each call costs what it changed:

- :class:`IncrementalTracker` applies a batch to the devices in it, the
  devices behind one whose status changed (they may be cut off now), the
  devices already cut off by failed parents although they answered (they turn
  unreachable once unobserved), and the devices whose news went stale
  (``stale_after_s``, a timer heap). It notes which device and link states
  changed in a way rules read.
- :class:`IncrementalRules` keeps each :class:`ScopedRule`'s findings per
  subject and recomputes only the subjects a changed state affects, those
  whose findings expire with the clock (escalation, a condition naming
  ``now``), and everything when the thresholds in force change.

Both are exact: after every call they give what :class:`StateTracker` and the
whole rules give over everything (``tests/unit/alerting/test_incremental.py``
feeds random batches to both and compares).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Set
from dataclasses import dataclass, field

from alerting.incidents import Condition
from alerting.rules.availability import DEVICE_RULE, device_conditions
from alerting.rules.config import RulesConfig
from alerting.rules.context import RuleContext
from alerting.rules.failover import FAILOVER_RULE, failover_conditions
from alerting.rules.scoped import Findings, ScopedRule
from alerting.states import FAILED, DeviceState, StateTracker, Status, Transition
from collectors.base import PollResult

# The whole rules that have a per-subject form.
SCOPED: tuple[tuple[Callable[[RuleContext], list[Condition]], ScopedRule], ...] = (
    (device_conditions, DEVICE_RULE),
    (failover_conditions, FAILOVER_RULE),
)


def scoped_form(rule: Callable[[RuleContext], list[Condition]]) -> ScopedRule | None:
    """The per-subject form of ``rule`` (the very function, not an equal one), if it has one."""
    return next((scoped for whole, scoped in SCOPED if whole is rule), None)


@dataclass
class IncrementalTracker(StateTracker):
    """A :class:`StateTracker` whose ``apply`` visits only the devices a batch can change.

    The per-device steps are the tracker's own (``_apply_one``, ``_unobserved``,
    ``_apply_link``), taken in the same parents-first order; only the set of
    devices visited is narrowed, to those for which the whole pass would do
    anything. States changed outside ``apply`` (a restore) need :meth:`reindex`.
    """

    changed_devices: set[str] = field(default_factory=set)  # rule-visible changes not yet taken
    changed_links: set[str] = field(default_factory=set)
    # for saving, of the last apply: states whose saved fields may have changed, and those observed
    # (whose flap history may have changed)
    moved: list[DeviceState] = field(default_factory=list)
    moved_links: list[DeviceState] = field(default_factory=list)
    observed: list[DeviceState] = field(default_factory=list)
    observed_links: list[DeviceState] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._order = {dev_id: i for i, dev_id in enumerate(self.inventory.parents_first)}
        self._children = self.inventory.children  # built now, with everything else built at start
        self._link_order = {link_id: i for i, link_id in enumerate(self.inventory.links)}
        self._links_of: dict[str, list[str]] = {}
        for link_id, link in self.inventory.links.items():
            self._links_of.setdefault(link.device, []).append(link_id)
        self.reindex()

    def reindex(self) -> None:
        """Rebuild the watch lists from every state, and count every state as changed."""
        self._exposed = {dev_id for dev_id in self.states if self._is_exposed(dev_id)}
        self._stale_at: dict[int, list[str]] = {}  # instant → devices whose news goes stale after it
        self._stale_instants: list[int] = []  # heap of those instants
        for dev_id, state in self.states.items():
            self._arm(dev_id, state.last_poll)
        self.changed_devices = set(self.states)
        self.changed_links = set(self.links)

    def take_changes(self) -> tuple[set[str], set[str]]:
        """Device and link ids whose rule-visible state changed since the last take."""
        devices, links = self.changed_devices, self.changed_links
        self.changed_devices, self.changed_links = set(), set()
        return devices, links

    def apply(self, results: dict[str, PollResult], now: int | None = None) -> list[Transition]:
        """What :meth:`StateTracker.apply` does, visiting only the devices it would change.

        If it fails half-way, every watch list is rebuilt and every state counts as changed, so
        the next call starts from the whole picture again.
        """
        try:
            return self._apply(results, now)
        except Exception:
            self.reindex()
            raise

    def _apply(self, results: dict[str, PollResult], now: int | None) -> list[Transition]:
        """Visit the devices with a fresh result, the devices behind one whose status changed,
        the devices cut off although they last answered, and (with ``now``) the devices whose
        news went stale — parents first, as the whole pass does: by walking the order when they
        are many, through a heap when they are few."""
        fresh = {dev_id: r for dev_id, r in results.items() if self._is_fresh(dev_id, r)}
        order, children, states = self._order, self._children, self.states
        visit = set(fresh) | self._exposed
        if now is not None:
            visit |= self._due(now)
        walk_all = len(visit) * 8 > len(order)
        queue = [] if walk_all else sorted((order[dev_id], dev_id) for dev_id in visit)  # sorted: a heap

        def from_queue() -> Iterator[str]:
            while queue:
                yield heapq.heappop(queue)[1]

        transitions: list[Transition] = []
        recheck: set[str] = set()  # devices whose exposure may have changed
        moved: list[DeviceState] = []
        observed: list[DeviceState] = []
        changed = self.changed_devices
        stale_at, stale_instants, stale_after = self._stale_at, self._stale_instants, self.rules.stale_after_s
        sift = walk_all and len(visit) < len(order)  # walking the order past devices not to visit
        at: int | None = None
        waiting: list[str] = []
        for dev_id in self.inventory.parents_first if walk_all else from_queue():
            if sift and dev_id not in visit:
                continue
            state = states[dev_id]
            reason, flapping, failures, history = state.reason, state.flapping, state.failures, state.history
            result = fresh.get(dev_id)
            change = self._apply_one(dev_id, result) if result else self._unobserved(dev_id, now)
            if change is not None:
                transitions.append(change)
                changed.add(dev_id)
                moved.append(state)
                if (change.old is Status.UNREACHABLE) != (change.new is Status.UNREACHABLE):
                    recheck.add(dev_id)
                if (change.old in FAILED) != (change.new in FAILED):
                    recheck.update(children[dev_id])
                for child in children[dev_id]:  # may be cut off now (or no longer)
                    if child not in visit:
                        visit.add(child)
                        if not walk_all:
                            heapq.heappush(queue, (order[child], child))
            elif state.reason != reason or state.flapping != flapping:
                changed.add(dev_id)
                moved.append(state)
            elif state.failures != failures:
                moved.append(state)
            if result is not None:
                if state.history != history:
                    observed.append(state)
                if state.last_poll:  # look again once this observation is no longer news
                    if state.last_poll + stale_after != at:  # a batch's results mostly share their ts
                        at = state.last_poll + stale_after
                        if at not in stale_at:
                            stale_at[at] = []
                            heapq.heappush(stale_instants, at)
                        waiting = stale_at[at]
                    waiting.append(dev_id)
        for dev_id in recheck:
            if self._is_exposed(dev_id):
                self._exposed.add(dev_id)
            else:
                self._exposed.discard(dev_id)
        self.moved, self.observed = moved, observed
        self.moved_links, self.observed_links = [], []
        link_ids = sorted((link_id for dev_id in fresh for link_id in self._links_of.get(dev_id, ())),
                          key=self._link_order.__getitem__)
        for link_id in link_ids:
            state = self.links[link_id]
            reason, flapping, failures, history = state.reason, state.flapping, state.failures, state.history
            change = self._apply_link(link_id, fresh)
            if state.history != history:
                self.observed_links.append(state)
            if change is not None:
                transitions.append(change)
            if change is not None or state.reason != reason or state.flapping != flapping:
                self.changed_links.add(link_id)
                self.moved_links.append(state)
            elif state.failures != failures:
                self.moved_links.append(state)
        return transitions

    def _is_exposed(self, dev_id: str) -> bool:
        """Every parent failed but the device is not unreachable: unobserved, it becomes so."""
        parents = self.inventory.devices[dev_id].parents
        states = self.states
        return (bool(parents) and states[dev_id].status is not Status.UNREACHABLE
                and all(states[p].status in FAILED for p in parents))

    def _arm(self, dev_id: str, last_poll: int) -> None:
        """Look at ``dev_id`` again once an observation at ``last_poll`` is no longer news."""
        if not last_poll:
            return
        at = last_poll + self.rules.stale_after_s
        waiting = self._stale_at.get(at)
        if waiting is None:
            waiting = self._stale_at[at] = []
            heapq.heappush(self._stale_instants, at)
        waiting.append(dev_id)

    def _due(self, now: int) -> set[str]:
        """Devices whose newest observation is older than ``stale_after_s`` at ``now``."""
        due: set[str] = set()
        instants, states, stale_after = self._stale_instants, self.states, self.rules.stale_after_s
        while instants and instants[0] < now:
            for dev_id in self._stale_at.pop(heapq.heappop(instants)):
                last_poll = states[dev_id].last_poll
                if last_poll and now - last_poll > stale_after:  # else observed again since: re-armed
                    due.add(dev_id)
        return due


@dataclass
class _Kept:
    """A scoped rule's findings per subject, and what the clock can change of them."""

    order: dict[str, int]  # subject → its place in the whole rule's list
    found: dict[str, tuple[Condition, ...]] = field(default_factory=dict)  # subjects with conditions
    timed: dict[str, tuple[Findings, int]] = field(default_factory=dict)  # subject → (findings, made at)
    flat: list[Condition] | None = None  # the rule's conditions in order, while nothing changed


class IncrementalRules:
    """Scoped rules' findings, kept per subject and recomputed where something changed."""

    def __init__(self) -> None:
        self._kept: dict[ScopedRule, _Kept] = {}
        self._rules: RulesConfig | None = None  # the thresholds the kept findings were made with
        self._devices: set[str] = set()  # changes of this evaluation
        self._links: set[str] = set()

    def begin(self, ctx: RuleContext, devices: Set[str], links: Set[str]) -> None:
        """Start an evaluation at ``ctx.now`` after these device and link states changed.

        New thresholds in force (typhoon mode) make every subject count as changed.
        """
        if self._rules is not None and ctx.rules is not self._rules and ctx.rules != self._rules:
            self._kept.clear()
        self._rules = ctx.rules
        self._devices, self._links = set(devices), set(links)

    def conditions(self, rule: ScopedRule, ctx: RuleContext) -> list[Condition]:
        """``rule``'s conditions over everything, as the whole rule gives them."""
        kept = self._kept.get(rule)
        if kept is None:
            kept = self._kept[rule] = _Kept({s: i for i, s in enumerate(rule.subjects(ctx))})
            dirty: Iterable[str] = kept.order
        else:
            dirty = rule.affected(ctx, self._devices, self._links)
            now = ctx.now
            expired = [s for s, (found, made_at) in kept.timed.items() if not found.holds_at(made_at, now)]
            if expired:
                dirty = set(dirty).union(expired)
        try:
            for subject in dirty:
                self._refresh(kept, rule, ctx, subject)
        except Exception:
            del self._kept[rule]  # half refreshed: start again from everything at the next call
            raise
        if kept.flat is None:
            kept.flat = [c for s in sorted(kept.found, key=kept.order.__getitem__) for c in kept.found[s]]
        return kept.flat

    @staticmethod
    def _refresh(kept: _Kept, rule: ScopedRule, ctx: RuleContext, subject: str) -> None:
        findings = rule.findings(ctx, subject)
        before = kept.found.get(subject, ())
        if findings.conditions != before:
            kept.flat = None
            if findings.conditions:
                kept.found[subject] = findings.conditions
            else:
                del kept.found[subject]
        if findings.timed:
            kept.timed[subject] = (findings, ctx.now)
        else:
            kept.timed.pop(subject, None)
