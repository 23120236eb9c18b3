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

from alerting.records import StateRecords
from alerting.states import StateTracker, Status
from api.app import create_app
from api.context import ApiContext
from collectors.base import CollectorRegistry, PollResult
from collectors.snmp.collector import SnmpCollector
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from poller.cycle import PollCycle, ResultSink
from store.sqlite import SqliteMetricStore
from trucban.settings import Settings

log = logging.getLogger(__name__)


def default_collectors() -> CollectorRegistry:
    """A fresh registry with the collectors Trucban ships."""
    registry = CollectorRegistry()
    registry.register("snmp", SnmpCollector)
    return registry


@dataclass
class Service:
    """The assembled single-node service (embedded stores)."""

    settings: Settings
    inventory: Inventory
    store: SqliteMetricStore
    records: StateRecords
    tracker: StateTracker
    cycle: PollCycle

    def app(self) -> FastAPI:
        """The FastAPI app, with the poller scheduled in its lifespan."""
        ctx = ApiContext(self.inventory, self.tracker, self.store, self.cycle,
                         ZoneInfo(self.settings.timezone))
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
            self.records.close()


def build_service(settings: Settings, inventory: Inventory) -> Service:
    """Assemble the service for an already loaded inventory."""
    store = SqliteMetricStore(settings.metrics_db)
    records = StateRecords(settings.alerting_db)
    tracker = StateTracker(inventory, confirm_failures=settings.confirm_failures)
    for dev_id, state in records.load().items():
        if dev_id in tracker.states:
            tracker.states[dev_id] = state
    collector = default_collectors().create("snmp", credentials=inventory.credentials)
    cycle = PollCycle(inventory, collector, store, evaluate_and_save(tracker, records),
                      concurrency=settings.poll_concurrency, interval_s=settings.poll_interval_s)
    return Service(settings, inventory, store, records, tracker, cycle)


def evaluate_and_save(tracker: StateTracker, records: StateRecords) -> ResultSink:
    """The poller's sink: evaluate states from a cycle's results, persist them."""

    def sink(results: dict[str, PollResult]) -> None:
        for change in tracker.apply(results):
            level = logging.INFO if change.new is Status.UP else logging.WARNING
            log.log(level, "%s: %s → %s (%s)", change.device, change.old, change.new, change.reason)
        records.save(tracker.states[d] for d in results)

    return sink


def load_configured_inventory(settings: Settings) -> Inventory:
    """The operator's inventory; the lab's is handled by the CLI."""
    if settings.inventory is None:
        raise ValueError("no inventory configured")
    return load_inventory(settings.inventory)
