"""Wiring: settings → inventory (or lab) → collector → poller → states → API.

The one place that knows every part. The poller runs inside the web server's
event loop through the app lifespan, so one process serves the whole demo.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI

from alerting.core import AlertingCore
from alerting.db import database_url, open_database
from alerting.rules.config import load_rules
from api.app import create_app
from api.context import ApiContext
from collectors.base import CollectorRegistry
from collectors.dns.collector import DnsCollector
from collectors.icmp.collector import IcmpCollector
from collectors.netconf.collector import NetconfCollector
from collectors.snmp.collector import SnmpCollector
from collectors.ssh.collector import SshCollector
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from poller.cycle import PollCycle
from store.sqlite import SqliteMetricStore
from trucban.settings import Settings

log = logging.getLogger(__name__)


def default_collectors() -> CollectorRegistry:
    """A fresh registry with the collectors Trucban ships."""
    registry = CollectorRegistry()
    registry.register("snmp", SnmpCollector)
    registry.register("netconf", NetconfCollector)
    registry.register("ssh", SshCollector)
    registry.register("dns", DnsCollector)
    registry.register("icmp", IcmpCollector)
    return registry


@dataclass
class Service:
    """The assembled single-node service (embedded stores)."""

    settings: Settings
    inventory: Inventory
    store: SqliteMetricStore
    alerting: AlertingCore
    cycle: PollCycle

    def app(self) -> FastAPI:
        """The FastAPI app, with the poller scheduled in its lifespan."""
        ctx = ApiContext(self.inventory, self.alerting.tracker, self.store, self.cycle,
                         ZoneInfo(self.settings.timezone), self.alerting)
        return create_app(ctx, lifespan=self._lifespan)

    @asynccontextmanager
    async def _lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(self.cycle.run, "interval", seconds=self.settings.poll_interval_s,
                          next_run_time=datetime.now(UTC), max_instances=1, coalesce=True,
                          misfire_grace_time=int(self.settings.poll_interval_s), id="poll")
        scheduler.start()
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)
            await self.cycle.collector.close()
            self.store.close()
            self.alerting.engine.dispose()


def build_service(settings: Settings, inventory: Inventory) -> Service:
    """Assemble the service for an already loaded inventory."""
    store = SqliteMetricStore(settings.metrics_db)
    alerting = AlertingCore(
        inventory, store, open_database(database_url(settings.database_url or settings.alerting_db)),
        rules=load_rules(settings.rules_file), timezone=ZoneInfo(settings.timezone),
    )
    collector = default_collectors().create("snmp", credentials=inventory.credentials)
    cycle = PollCycle(inventory, collector, store, alerting,
                      concurrency=settings.poll_concurrency, interval_s=settings.poll_interval_s)
    return Service(settings, inventory, store, alerting, cycle)


def load_configured_inventory(settings: Settings) -> Inventory:
    """The operator's inventory; the lab's is handled by the CLI."""
    if settings.inventory is None:
        raise ValueError("no inventory configured")
    return load_inventory(settings.inventory)
