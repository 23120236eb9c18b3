"""The alerting core: poll results → states → rules → incidents, once per cycle.

This is the poller's sink. It evaluates states parents first, runs every
rule, drops what maintenance covers, reconciles incidents in one transaction
and hands the changes to subscribers (notification). Durable state lives in the
alerting database, so a restart continues where it stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from alerting.history import StateHistory
from alerting.incidents import Condition
from alerting.maintenance import MaintenanceRepository, devices_in_maintenance
from alerting.manager import Change, IncidentManager
from alerting.repository import IncidentRepository
from alerting.rules.availability import device_conditions
from alerting.rules.config import RulesConfig
from alerting.rules.context import RuleContext
from alerting.rules.dns import dns_conditions
from alerting.rules.failover import failover_conditions
from alerting.rules.ipv6 import ipv6_path_conditions
from alerting.rules.power import power_conditions
from alerting.staterepo import StateRepository
from alerting.states import StateTracker, Status
from collectors.base import PollResult
from common.errors import StoreUnavailable
from inventory.inventory import Inventory
from store.base import MetricStore

log = logging.getLogger(__name__)
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
    """Owns the tracker and the incident life cycle for one inventory."""

    inventory: Inventory
    store: MetricStore
    engine: Engine
    rules: RulesConfig = field(default_factory=RulesConfig)
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))
    rule_set: tuple[Rule, ...] = DEFAULT_RULES
    subscribers: list[Subscriber] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tracker = StateTracker(self.inventory, self.rules)
        self.incidents = IncidentRepository(self.engine)
        self.maintenance = MaintenanceRepository(self.engine)
        self.manager = IncidentManager(self.incidents)
        self.state_repo = StateRepository(self.engine)
        self.history = StateHistory(self.engine)
        self._link_ids = set(self.inventory.links)
        self._last_found: dict[str, list[Condition]] = {}
        restored = self.state_repo.restore(self.tracker)
        self.last = EvaluationReport()
        log.info("alerting core: %d saved states restored", restored)

    def __call__(self, results: dict[str, PollResult]) -> list[Change]:
        """Poller sink: evaluate one cycle's results."""
        now = max((r.ts for r in results.values()), default=int(time.time()))
        return self.evaluate(results, now)

    def evaluate(self, results: dict[str, PollResult], now: int) -> list[Change]:
        """States, rules, maintenance and incidents for one cycle at ``now``."""
        started = time.perf_counter()
        maintained = devices_in_maintenance(self.maintenance.all(), self.inventory, now, self.timezone)
        self.tracker.in_maintenance = maintained
        transitions = self.tracker.apply(results, now)
        for change in transitions:
            level = logging.INFO if change.new in (Status.UP, Status.UNKNOWN) else logging.WARNING
            log.log(level, "%s: %s → %s (%s)", change.device, change.old, change.new, change.reason)
        self.history.record(transitions, self._link_ids)
        self.state_repo.save(self.tracker.states.values(), self.tracker.links.values())
        conditions = self.conditions(now)
        kept = [c for c in conditions if c.device not in maintained]
        changes = self.manager.reconcile(kept, now)
        self.last = EvaluationReport(now, time.perf_counter() - started, len(kept), len(changes))
        for c in changes:
            log.warning("incident %s #%d %s: %s", c.kind, c.incident.id, c.incident.key, c.incident.title)
        for subscriber in self.subscribers:
            try:
                subscriber(changes)
            except Exception:  # a notifier bug must never stop evaluation
                log.exception("incident subscriber failed")
        return changes

    def conditions(self, now: int) -> list[Condition]:
        """Every rule's conditions for the current picture."""
        ctx = RuleContext(self.inventory, self.tracker, self.store, self.rules, now, self.timezone)
        out: list[Condition] = []
        for rule in self.rule_set:
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
