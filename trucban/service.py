"""Wiring: settings → inventory (or lab) → collector → poller → states → API.

The one place that knows every part. The poller runs inside the web server's
event loop through the app lifespan, so one process serves the whole demo.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI

from alerting.core import AlertingCore
from alerting.notify.facade import NotifyService
from alerting.rules.selfmon import SelfMonitor
from api.app import create_app
from api.context import ApiContext
from collectors.base import CollectorRegistry
from collectors.dns.collector import DnsCollector
from collectors.icmp.collector import IcmpCollector
from collectors.netconf.collector import NetconfCollector
from collectors.snmp.collector import SnmpCollector
from collectors.ssh.collector import SshCollector
from common.errors import ConfigError
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from poller.confirm import Confirmation, parse_by_role
from poller.diagnostics import DiagnosticsSubscriber
from poller.families import FamilyCollector, family_plans
from poller.scheduler import Poller, protocol_plans, snmp_plans
from poller.traps import TrapEvent, TrapReceiver
from store.base import Sample
from store.factory import open_store
from store.spool.spooling import SpoolingStore
from storm.desk import StormDesk
from trucban.alerting_parts import build_alerting
from trucban.heap import freeze_startup_heap, thaw_heap
from trucban.reporting import ReportingParts, reporting_parts
from trucban.settings import Settings
from trucban.web import typhoon_banner, web_options, web_security

log = logging.getLogger(__name__)


def default_collectors() -> CollectorRegistry:
    """A fresh registry with the collectors Trucban ships."""
    registry = CollectorRegistry()
    registry.register("snmp", SnmpCollector)
    registry.register("netconf", NetconfCollector)
    registry.register("ssh", SshCollector)
    registry.register("dns", DnsCollector)
    registry.register("icmp", IcmpCollector)
    registry.register("family", FamilyCollector)  # dual-stack devices, per IP family
    return registry


@dataclass
class Service:
    """The assembled single-node service (embedded stores)."""

    settings: Settings
    inventory: Inventory
    store: SpoolingStore  # the configured backend (SQLite or InfluxDB) behind the spool
    alerting: AlertingCore
    cycle: Poller  # every poll plan; ``cycle.last`` is the reachability plan's last CycleReport
    notify: NotifyService | None = None  # alert delivery (outbox worker runs in the lifespan)
    diagnostics: DiagnosticsSubscriber | None = None  # runbook diagnostics when an incident opens
    reporting: ReportingParts | None = None  # IOC feed, monthly report, evaluation watchdog
    selfmon: SelfMonitor | None = None  # the self-monitoring rule: /healthz, /readyz, /metrics

    def app(self) -> FastAPI:
        """The FastAPI app, with the poller scheduled in its lifespan."""
        ctx = ApiContext(self.inventory, self.alerting.tracker, self.store, self.cycle,
                         ZoneInfo(self.settings.timezone), self.alerting,
                         security=web_security(self.settings, self.alerting.engine),
                         web=web_options(self.settings), typhoon=typhoon_banner(self.notify),
                         storms=StormDesk(self.alerting.engine, self.inventory, self.alerting, self.notify))
        ctx.selfmon = self.selfmon
        if self.reporting is not None:
            ctx.reports_dir = self.reporting.reports_dir
        return create_app(ctx, lifespan=self._lifespan)

    @asynccontextmanager
    async def _lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        scheduler = AsyncIOScheduler(timezone=UTC)
        self.cycle.schedule(scheduler)
        scheduler.start()
        if self.notify is not None:
            self.notify.typhoon.listeners.append(lambda _d: typhoon_polling(self, scheduler))
            typhoon_polling(self, scheduler)
            await self.notify.start()
        traps = await start_traps(self) if self.settings.trap_port else None
        if self.reporting is not None:
            self.reporting.schedule(scheduler, self.alerting, self.settings.poll_interval_s)
        freeze_startup_heap()  # everything built so far lives as long as the process
        try:
            yield
        finally:
            thaw_heap()
            scheduler.shutdown(wait=False)
            if traps is not None:
                traps.stop()
            await self.cycle.close()
            if self.notify is not None:
                await self.notify.stop()
            if self.diagnostics is not None:
                self.diagnostics.close()
            self.store.close()
            self.alerting.engine.dispose()


def build_service(settings: Settings, inventory: Inventory) -> Service:
    """Assemble the service for an already loaded inventory."""
    store = open_store(settings.store)
    # self-monitoring reads the poller's reports when it runs; the poller, built next, has the core as sink
    parts = build_alerting(settings, inventory, store, diagnostics=True,
                           poller_reports=lambda: poller.reports())
    plans = snmp_plans(inventory.credentials, settings.poll_interval_s, settings.health_interval_s,
                       settings.inventory_interval_s, settings.snmp_engine)
    plans += protocol_plans(settings.poll_interval_s, settings.health_interval_s,
                            settings.inventory_interval_s, inventory.credentials)
    if any(len(d.families) == 2 for d in inventory.devices.values()):
        plans += family_plans(settings.poll_interval_s, inventory.credentials, settings.snmp_engine)
    poller = Poller(inventory, default_collectors(), store, parts.core, plans,
                    concurrency=settings.poll_concurrency, jitter=settings.poll_jitter,
                    confirmation=confirmation(settings))
    reporting = reporting_parts(settings, inventory, parts.engine, store, parts.notify)
    return Service(settings, inventory, store, parts.core, poller, notify=parts.notify,
                   diagnostics=parts.diagnostics, reporting=reporting, selfmon=parts.selfmon)


def confirmation(settings: Settings) -> Confirmation:
    """Soft-before-hard re-checks from the settings."""
    return Confirmation(settings.confirm_rechecks, settings.confirm_spacing_s,
                        parse_by_role(settings.confirm_rechecks_by_role))


def typhoon_polling(service: Service, scheduler: AsyncIOScheduler) -> None:
    """Typhoon mode's polling hook: the reachability plan runs at the tighter interval while active."""
    if service.notify is None:
        return
    import time

    tight = service.notify.typhoon.poll_interval(int(time.time()))
    plan = service.cycle.plans[service.cycle.primary]
    seconds = min(plan.interval_s, tight) if tight else plan.interval_s
    job = scheduler.get_job(f"poll:{plan.name}")
    if job is not None and job.trigger.interval.total_seconds() != seconds:
        scheduler.reschedule_job(job.id, trigger="interval", seconds=seconds)
        log.warning("poll plan %s now every %.0f s (typhoon mode %s)", plan.name, seconds,
                    "on" if tight else "off")


async def start_traps(service: Service) -> TrapReceiver | None:
    """Listen for SNMP traps; each link/power event is stored and re-polls its device at once."""
    tasks: set[asyncio.Task[object]] = set()

    def on_event(event: TrapEvent) -> None:
        tags = {"device": event.device or "", "source": event.source, "kind": event.kind}
        service.store.write([Sample("snmp_trap", tags, {"trap_oid": event.trap_oid,
                                                        "if_index": event.if_index or 0}, event.ts)])
        if event.wants_repoll and event.device:
            task = asyncio.ensure_future(service.cycle.poll_now(event.device, f"trap {event.kind}"))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    receiver = TrapReceiver(service.inventory.devices.values(), service.inventory.credentials, on_event,
                            host=service.settings.trap_host, port=service.settings.trap_port)
    try:
        await receiver.start()
    except ConfigError as exc:  # polling goes on without traps; say why
        log.error("%s", exc)
        return None
    return receiver


def configured_inventory(settings: Settings) -> Inventory:
    """The operator's inventory, or the simulated lab's (generated on first use)."""
    if settings.inventory is not None:
        return load_inventory(settings.inventory)
    from lab.generator import generate_lab

    layout = generate_lab(settings.lab_dir, settings.lab_province, settings.lab_port, settings.lab_limit,
                          services=settings.lab_services)
    return load_inventory(layout.inventory)
