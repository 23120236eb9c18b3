"""The alerting core: poll results → states → rules → incidents, once per cycle.

This is the poller's sink. It evaluates states parents first, runs every
rule, drops what maintenance covers, reconciles incidents in one transaction
and hands the changes to subscribers (notification). Durable state lives in the
alerting database, so a restart continues where it stopped.

Results come in batches as checks complete, many calls per poll cycle, so by
default each call evaluates only what changed since the last one, plus timers
(``alerting.incremental``): the states a batch can change, the rule subjects
those states affect, the states written, the incidents whose conditions
changed. The result is the one a whole evaluation would give;
``incremental=False`` keeps the whole evaluation (the reference the
equivalence test compares with).

The watch never stops for the disk. When the alerting database cannot be
written (disk full or read-only), the evaluation still runs to the end: the
in-memory tracker stays the truth, states and history are written at the next
evaluation that can (see ``alerting.staterepo``), and the incidents that could
not be recorded are reconciled again next time (their ``since`` is the
condition's, so nothing is backdated wrongly). A SQLite database keeps a small
reserve file beside it (``RESERVE_NAME``); on the first "disk full" it is
deleted and the write tried again, so incidents and the outbox get room while
people free space. Failures are counted in ``write_health(engine)``, which
self-monitoring turns into a ``store_unreachable`` problem naming the disk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from alerting.battery import FitMemo
from alerting.history import StateHistory
from alerting.incidents import Condition
from alerting.incremental import IncrementalRules, IncrementalTracker, scoped_form
from alerting.maintenance import MaintenanceRepository, MaintenanceWindow, devices_in_maintenance
from alerting.manager import Change, IncidentManager
from alerting.repository import IncidentRepository
from alerting.rules.availability import device_conditions
from alerting.rules.config import RulesConfig
from alerting.rules.context import InventoryIndex, RuleContext
from alerting.rules.dns import dns_conditions
from alerting.rules.failover import failover_conditions
from alerting.rules.ipv6 import ipv6_path_conditions
from alerting.rules.power import power_conditions
from alerting.rules.thresholds import Thresholds, fixed
from alerting.staterepo import WRITE_ERRORS, StateRepository, write_health
from alerting.states import StateTracker, Status
from collectors.base import PollResult
from common.errors import StoreUnavailable
from inventory.inventory import Inventory
from store.base import MetricStore
from store.disk import FULL, DiskReserve

log = logging.getLogger(__name__)
RESERVE_NAME = ".trucban-reserve"
RESERVE_BYTES = 8 * 2**20
Rule = Callable[[RuleContext], list[Condition]]
Subscriber = Callable[[list[Change]], None]
DEFAULT_RULES: tuple[Rule, ...] = (device_conditions, failover_conditions, power_conditions, dns_conditions,
                                   ipv6_path_conditions)


@dataclass
class EvaluationReport:
    """Self-metrics of the last evaluation."""

    ts: int = 0
    seconds: float = 0.0
    conditions: int = 0
    changes: int = 0


@dataclass
class AlertingCore:
    """Owns the tracker and the incident life cycle for one inventory.

    Everything it runs is given at construction and never changed from
    outside: the rule set, the subscribers told of every change, and the
    thresholds provider the rules read at each evaluation (typhoon mode shifts
    battery thresholds through it). ``trucban.alerting_parts`` builds it for
    every mode.
    """

    inventory: Inventory
    store: MetricStore
    engine: Engine
    rules: RulesConfig = field(default_factory=RulesConfig)  # the rules file: states use it as is
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))
    rule_set: tuple[Rule, ...] = DEFAULT_RULES
    subscribers: Sequence[Subscriber] = ()  # kept as a tuple: nobody subscribes after construction
    reserve_bytes: int = RESERVE_BYTES  # room kept for the alerting database (SQLite file only)
    thresholds: Thresholds | None = None  # now → rule settings in force (None: ``rules`` at any time)
    incremental: bool = True  # evaluate what changed since the last call (False: everything, every call)

    def __post_init__(self) -> None:
        self.rule_set = tuple(self.rule_set)
        self.subscribers = tuple(self.subscribers)
        self._thresholds: Thresholds = self.thresholds or fixed(self.rules)
        self.in_force = self.rules  # the thresholds of the last evaluation
        self.tracker = (IncrementalTracker if self.incremental else StateTracker)(self.inventory, self.rules)
        self.index = InventoryIndex.of(self.inventory)
        self.fits = FitMemo()  # battery projections, made once per UPS reading
        self._scoped = IncrementalRules()
        self.incidents = IncidentRepository(self.engine)
        self.maintenance = MaintenanceRepository(self.engine)
        self.manager = IncidentManager(self.incidents)
        self.state_repo = StateRepository(self.engine)
        self.history = StateHistory(self.engine)
        self._link_ids = set(self.inventory.links)
        self._last_found: dict[str, list[Condition]] = {}
        self.write_health = write_health(self.engine)
        self.reserve = _reserve_for(self.engine, self.reserve_bytes)
        if self.reserve is not None:
            self.reserve.ensure()
        self.unrecorded: list[Condition] = []  # conditions of the last evaluation the database refused
        self.current: list[Condition] = []  # conditions of the last evaluation, maintenance removed
        self._maintenance: list[MaintenanceWindow] = []
        self._in_force_windows: list[MaintenanceWindow] = []  # the windows ``_maintained`` was computed for
        self._maintained: set[str] = set()
        self._reconciled: dict[str, Condition] | None = None  # what the incidents match (None: unknown)
        restored = self.state_repo.restore(self.tracker)
        if isinstance(self.tracker, IncrementalTracker):
            self.tracker.reindex()
        self._save_all = True  # the first save looks at every state (the ones never saved get a row)
        self.last = EvaluationReport()
        # one evaluation at a time: the poller evaluates off its event loop, the watchdog on it
        self._evaluating = threading.Lock()
        log.info("alerting core: %d saved states restored", restored)

    def __call__(self, results: dict[str, PollResult]) -> list[Change]:
        """Poller sink: evaluate one cycle's results."""
        now = max((r.ts for r in results.values()), default=int(time.time()))
        return self.evaluate(results, now)

    def evaluate(self, results: dict[str, PollResult], now: int) -> list[Change]:
        """States, rules, maintenance and incidents for one cycle at ``now`` (one call at a time,
        from whichever thread)."""
        with self._evaluating:
            return self._evaluate(results, now)

    def _evaluate(self, results: dict[str, PollResult], now: int) -> list[Change]:
        started = time.perf_counter()
        maintained = self._in_maintenance(now)
        self.tracker.in_maintenance = maintained
        try:
            transitions = self.tracker.apply(results, now)
        except Exception:
            self._save_all = True  # what the failed apply changed is not known: look at every state
            raise
        for change in transitions:
            level = logging.INFO if change.new in (Status.UP, Status.UNKNOWN) else logging.WARNING
            log.log(level, "%s: %s → %s (%s)", change.device, change.old, change.new, change.reason)
        if not self.history.record(transitions, self._link_ids) and self._free_reserve():
            self.history.record((), self._link_ids)
        if not self._save_states() and self._free_reserve():
            self.state_repo.save(())  # what the refused save left waits in the repository
        conditions = self.conditions(now)
        kept = [c for c in conditions if c.device not in maintained]
        self.current = kept
        changes = self._reconcile(kept, now)
        self.last = EvaluationReport(now, time.perf_counter() - started, len(kept), len(changes))
        for c in changes:
            log.warning("incident %s #%d %s: %s", c.kind, c.incident.id, c.incident.key, c.incident.title)
        for subscriber in self.subscribers:
            try:
                subscriber(changes)
            except Exception:  # a notifier bug must never stop evaluation
                log.exception("incident subscriber failed")
        return changes

    def _save_states(self) -> bool:
        """Save the states the last apply may have changed (every state, evaluated whole or at first)."""
        tracker = self.tracker
        if not isinstance(tracker, IncrementalTracker):
            return self.state_repo.save(tracker.states.values(), tracker.links.values())
        first, self._save_all = self._save_all, False
        return self.state_repo.save(tracker.states.values() if first else tracker.moved,
                                    tracker.links.values() if first else tracker.moved_links,
                                    observed=tracker.observed, observed_links=tracker.observed_links)

    def _reconcile(self, kept: list[Condition], now: int) -> list[Change]:
        """Incidents in step with ``kept``; when the database refuses, nothing changes and the next try is
        at the next evaluation.

        Incrementally, only the keys whose condition differs from the last reconcile that went
        through are looked at (none: the database is not touched); after a refusal, at start and
        evaluated whole, every active incident is.
        """
        wanted = {c.key: c for c in kept}
        only: set[str] | None = None
        was_active: Set[str] | None = None
        if self.incremental and self._reconciled is not None:
            before = self._reconciled
            only = {k for k, c in wanted.items() if before.get(k) is not c and before.get(k) != c}
            only.update(k for k in before if k not in wanted)
            if not only:
                self.unrecorded = []
                return []
            was_active = before.keys()
        for attempt in (1, 2):
            try:
                changes = self.manager.reconcile(kept, now, only=only, was_active=was_active)
            except WRITE_ERRORS as exc:
                self.write_health.failed("incidents", exc)
                if attempt == 1 and self._free_reserve():
                    continue
                self._reconciled = None
                self.unrecorded = kept
                log.warning("%d conditions not recorded as incidents (database refused); retried at the "
                            "next evaluation", len(kept))
                return []
            self.write_health.ok("incidents")
            self._reconciled = wanted
            self.unrecorded = []
            if self.reserve is not None and self.reserve.released and not self.write_health.failing:
                self.reserve.ensure()  # made again only when there is plenty of room
            return changes
        return []

    def _free_reserve(self) -> bool:
        """On a full disk, give the reserve back once; True when room was freed (try again)."""
        fault = self.write_health.fault
        if self.reserve is None or fault is None or fault.kind != FULL or not self.reserve.release():
            return False
        log.error("alerting database: disk full at %s; reserve of %d MiB released for incidents and "
                  "the outbox — free space on that disk", fault.path, self.reserve.size // 2**20)
        return True

    def _maintenance_windows(self, now: int) -> list[MaintenanceWindow]:
        """Maintenance windows not over at ``now``; the last ones read when the database does not answer."""
        try:
            self._maintenance = self.maintenance.not_over(now)
        except WRITE_ERRORS as exc:
            log.warning("maintenance windows not read, the last ones kept: %s", exc)
        return self._maintenance

    def _in_maintenance(self, now: int) -> set[str]:
        """Devices a window in force at ``now`` covers; worked out again only when those windows change."""
        in_force = [w for w in self._maintenance_windows(now) if w.active(now, self.timezone)]
        if in_force != self._in_force_windows:
            self._maintained = devices_in_maintenance(in_force, self.inventory, now, self.timezone)
            self._in_force_windows = in_force
        return self._maintained

    def _rules_at(self, now: int) -> RulesConfig:
        """The thresholds provider's answer; the last one when it fails (it reads typhoon mode's table)."""
        try:
            self.in_force = self._thresholds(now)
        except Exception as exc:  # evaluation never stops for a provider
            log.warning("rule thresholds not read, the last ones kept: %s", exc)
        return self.in_force

    def conditions(self, now: int) -> list[Condition]:
        """Every rule's conditions for the current picture, with the thresholds in force at ``now``.

        Incrementally, a rule with a per-subject form (``alerting.incremental.scoped_form``) recomputes
        only the subjects that the state changes since the last call, or the clock, affect.
        """
        ctx = RuleContext(self.inventory, self.tracker, self.store, self._rules_at(now), now, self.timezone,
                          self.index, self.fits)
        if isinstance(self.tracker, IncrementalTracker):
            self._scoped.begin(ctx, *self.tracker.take_changes())
        out: list[Condition] = []
        for rule in self.rule_set:
            scoped = scoped_form(rule) if self.incremental else None
            if scoped is not None:
                out += self._scoped.conditions(scoped, ctx)
                continue
            try:
                found = rule(ctx)
            except StoreUnavailable as exc:
                # Metrics cannot be read: keep this rule's last findings rather than close incidents
                # (a battery incident must not "recover" because InfluxDB is down).
                found = self._last_found.get(rule.__name__, [])
                log.warning("rule %s kept its last %d findings: %s", rule.__name__, len(found), exc)
            self._last_found[rule.__name__] = found
            out += found
        return out


def _reserve_for(engine: Engine, size: int) -> DiskReserve | None:
    """The reserve file beside a SQLite alerting database (None for a server or in memory)."""
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if size <= 0 or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return DiskReserve(Path(database).resolve().parent / RESERVE_NAME, size)
