"""A scale-out poller: holds leased partitions and runs their slot cycles into the results stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time

import nats

from collectors.base import CollectorRegistry
from inventory.inventory import Inventory
from poller.cluster.config import ClusterConfig
from poller.cluster.lease import LeaseKeeper, lease_buckets
from poller.cluster.messages import PollBatch
from poller.cluster.partitions import Partitioner
from poller.cluster.slots import SlotRunner, slot_of
from poller.cluster.streams import Publisher, ensure_results_stream
from poller.confirm import Confirmation
from poller.lag import LoopLag
from poller.scheduler import PollPlan

log = logging.getLogger(__name__)


def default_poller_id() -> str:
    """host-pid: unique per process, readable in the lease bucket."""
    return f"{socket.gethostname()}-{os.getpid()}"


class ClusterPoller:
    """Polls the partitions it holds a lease on, for every plan, until stopped."""

    def __init__(self, inventory: Inventory, registry: CollectorRegistry, plans: list[PollPlan],
                 config: ClusterConfig, *, poller_id: str | None = None, concurrency: int = 200,
                 jitter: float = 0.5, exclude_communes: tuple[str, ...] = (),
                 confirmation: Confirmation | None = None) -> None:
        """Build collectors and the partition map; nothing connects until :meth:`run`."""
        if not plans:
            raise ValueError("the poller needs at least one plan")
        self.inventory = inventory
        self.config = config
        self.poller_id = poller_id or default_poller_id()
        self.partitioner = Partitioner(inventory, config.partitions, exclude_communes)
        self.plans = plans
        self._sem = asyncio.Semaphore(concurrency)
        self._collectors = [registry.create(p.collector, **dict(p.options)) for p in plans]
        self._jitter = jitter
        self._confirmation = confirmation
        self._tasks: dict[str, list[asyncio.Task[None]]] = {}
        self.lag = LoopLag()  # how far behind this poller's loop runs (poller.lag)
        self.runners: list[SlotRunner] = []
        self.keeper: LeaseKeeper | None = None
        self.publisher: Publisher | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, hold leases and poll until ``stop`` is set; hand partitions back on the way out."""
        nc = await nats.connect(self.config.url, name=f"trucban-poller {self.poller_id}",
                                max_reconnect_attempts=-1, reconnect_time_wait=0.5)
        try:
            js = nc.jetstream()
            await ensure_results_stream(js, self.config)
            leases, members = await lease_buckets(js, self.config)
            subjects = {name: self.config.subject(name) for name in self.partitioner.names()}
            self.publisher = Publisher(js, subjects)
            self.lag.start()
            self.runners = [SlotRunner(self.inventory, plan, collector, self._sem, self._deliver,
                                       self.poller_id, jitter=self._jitter, confirmation=self._confirmation,
                                       lag=self.lag)
                            for plan, collector in zip(self.plans, self._collectors, strict=True)]
            self.keeper = LeaseKeeper(leases, members, self.partitioner.names(), self.poller_id,
                                      self.config.lease_ttl_s, self._acquired, self._released)
            log.info("poller %s: %d devices in %d partitions, %d plans", self.poller_id,
                     sum(self.partitioner.sizes().values()), self.config.partitions, len(self.plans))
            await self.keeper.run(stop)
        finally:
            await self.lag.stop()
            for partition in list(self._tasks):
                await self._released(partition)
            for collector in self._collectors:
                with contextlib.suppress(Exception):
                    await collector.close()
            with contextlib.suppress(Exception):
                await nc.drain()

    async def _deliver(self, batch: PollBatch) -> None:
        assert self.publisher is not None
        await self.publisher.publish(batch)

    async def _acquired(self, partition: str) -> None:
        """Start the partition's slots, beginning with the previous one (a takeover finishes it)."""
        devices = self.partitioner.devices(partition)
        tasks = []
        for runner in self.runners:
            first = slot_of(time.time(), runner.plan.interval_s) - 1
            tasks.append(asyncio.create_task(runner.run_forever(partition, devices, first),
                                             name=f"{partition}:{runner.plan.name}"))
        self._tasks[partition] = tasks

    async def _released(self, partition: str) -> None:
        for task in self._tasks.pop(partition, []):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def held(self) -> list[str]:
        """Partitions held now."""
        return sorted(self._tasks)
