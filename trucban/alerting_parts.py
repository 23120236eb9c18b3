"""The one place the alerting core is built, for every mode (single node, ingest, edge).

The core is given everything it runs at construction and nobody changes it
afterwards: its rules (plus self-monitoring on the single node), its
subscribers (runbook diagnostics, notification) and a thresholds provider
(the rules file, battery thresholds shifted while typhoon mode is on).

Build order. Notification is built first, on the alerting database alone, so
its subscriber and its typhoon declarations can be handed to the core. Two
things it needs exist only later and are therefore read late, at the moment
they are used: the network picture for a typhoon readiness report (the
core's state tracker, once a storm is declared) and, for self-monitoring,
the poller's cycle reports (the poller is built after the core, whose sink it
is).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from alerting.core import DEFAULT_RULES, AlertingCore, Rule, Subscriber
from alerting.db import database_url, open_database
from alerting.network_view import TrackedNetwork
from alerting.notify.facade import NotifyService
from alerting.notify.outbox_reads import OutboxReads
from alerting.notify.readiness import NetworkView
from alerting.repository import IncidentRepository
from alerting.rules.config import load_rules
from alerting.rules.selfmon import CycleFacts, SelfMonitor
from alerting.rules.thresholds import StormThresholds, Thresholds
from inventory.inventory import Inventory
from poller.diagnostics import DiagnosticsSubscriber, build_diagnostics
from store.base import MetricStore
from trucban.notifying import notify_from_settings
from trucban.settings import Settings

log = logging.getLogger(__name__)
CycleReports = Callable[[], Mapping[str, CycleFacts | None]]


@dataclass
class AlertingParts:
    """The alerting side of one process, assembled."""

    engine: Engine  # the alerting database (incidents, states, notification, typhoon declarations)
    core: AlertingCore
    notify: NotifyService | None = None  # None when notification is off
    diagnostics: DiagnosticsSubscriber | None = None  # runbook diagnostics (single node only)
    selfmon: SelfMonitor | None = None  # self-monitoring rule and health endpoints (single node only)


@dataclass(frozen=True)
class LateReports:
    """The poller's cycle reports for self-monitoring, read when asked (the poller comes after the core)."""

    read: CycleReports

    def reports(self) -> Mapping[str, CycleFacts | None]:
        """Plan name → its last cycle report."""
        return self.read()


def build_alerting(
    settings: Settings,
    inventory: Inventory,
    store: MetricStore,
    *,
    diagnostics: bool = False,
    poller_reports: CycleReports | None = None,
    clock: Callable[[], float] = time.time,
) -> AlertingParts:
    """The alerting core and what it tells and is told, from the settings.

    ``diagnostics`` adds the runbook diagnostics subscriber; ``poller_reports``
    (the poller's ``reports``) adds the self-monitoring rule watching them, the
    alerting database and alert delivery.
    """
    engine = open_database(database_url(settings.database_url or settings.alerting_db))
    rules = load_rules(settings.rules_file)
    incidents = IncidentRepository(engine)
    core: AlertingCore  # assigned below; the readiness view reads its tracker once a storm is declared

    def network() -> NetworkView:
        return TrackedNetwork(core.tracker, store)

    notify = None
    if settings.notify_enabled:
        notify = notify_from_settings(settings, inventory, engine, incidents=incidents, view=network,
                                      clock=clock)
    subscribers: list[Subscriber] = []
    runbook_checks = build_diagnostics(inventory, incidents) if diagnostics else None
    if runbook_checks is not None:
        subscribers.append(runbook_checks)
    if notify is not None:
        subscribers.append(notify.subscriber)
    rule_set: tuple[Rule, ...] = DEFAULT_RULES
    selfmon = None
    if poller_reports is not None:
        selfmon = SelfMonitor(LateReports(poller_reports), store, engine,
                              delivery=OutboxReads(engine).channel_health, province=inventory.province,
                              clock=clock)
        rule_set = (*rule_set, selfmon)
    thresholds: Thresholds | None = StormThresholds(rules, notify.typhoon.battery_shift) if notify else None
    core = AlertingCore(inventory, store, engine, rules=rules, timezone=ZoneInfo(settings.timezone),
                        rule_set=rule_set, subscribers=subscribers, thresholds=thresholds)
    return AlertingParts(engine, core, notify, runbook_checks, selfmon)
