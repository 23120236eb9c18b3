"""An edge command post: polls its own communes, alerts locally, buffers for the centre on local disk.

The post runs a NATS leaf node with its own JetStream domain. Every poll
batch goes (1) to the post's local metric store and alerting core (SQLite,
with the post's own channel), so the duty officer is told even when the WAN to
the city is cut, and (2) into the post's local stream, which the hub's results
stream *sources*: while the link is down the batches wait on the post's disk,
and when it returns JetStream forwards them in order, with their message ids.

Buffer policy: the local stream keeps at most ``buffer_mb`` megabytes (and
``buffer_max_age_s``); when full, the **oldest** batches are dropped first
(``DiscardPolicy.OLD``) — the newest picture matters most after a long cut,
and the post's own store still has every sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

import nats
from nats.js.api import DiscardPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext

from collectors.base import CollectorRegistry, PollResult
from inventory.inventory import Inventory
from poller.cluster.config import edge_domain, edge_stream, edge_subject
from poller.cluster.messages import PollBatch
from poller.cluster.slots import SlotRunner
from poller.cluster.streams import Publisher
from poller.confirm import Confirmation
from poller.scheduler import PollPlan
from store.base import MetricStore

log = logging.getLogger(__name__)
LocalSink = Callable[[dict[str, PollResult]], object]


def edge_stream_config(post: str, buffer_mb: int, max_age_s: float,
                       duplicate_window_s: float) -> StreamConfig:
    """The post's local buffer: file storage, bounded, oldest dropped first."""
    return StreamConfig(name=edge_stream(post), subjects=[edge_subject(post)], storage=StorageType.FILE,
                        max_bytes=buffer_mb * 2**20, max_age=max_age_s or None, discard=DiscardPolicy.OLD,
                        duplicate_window=duplicate_window_s)


async def ensure_edge_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the local stream or update its limits."""
    try:
        await js.stream_info(config.name or "")
    except Exception:
        await js.add_stream(config)
    else:
        await js.update_stream(config)


class EdgePoller:
    """Polls the post's devices every slot; local store + alerting; local stream for the centre."""

    def __init__(self, inventory: Inventory, registry: CollectorRegistry, plans: list[PollPlan], post: str,
                 communes: Sequence[str], local_url: str, store: MetricStore, alerting: LocalSink, *,
                 buffer_mb: int = 256, buffer_max_age_s: float = 7 * 86400, duplicate_window_s: float = 900,
                 concurrency: int = 50, jitter: float = 0.5,
                 confirmation: Confirmation | None = None) -> None:
        """``local_url`` is the post's own leaf node; ``alerting`` the local core (a poller sink)."""
        wanted = set(communes)
        self.devices = sorted((d for d in inventory.devices.values()
                               if inventory.sites[d.site].commune in wanted), key=lambda d: d.id)
        if not self.devices:
            raise ValueError(f"edge post {post!r}: no device in communes {sorted(wanted)}")
        self.inventory = inventory
        self.post = post
        self.partition = f"edge-{post}"
        self.local_url = local_url
        self.store = store
        self.alerting = alerting
        self.stream = edge_stream_config(post, buffer_mb, buffer_max_age_s, duplicate_window_s)
        self._sem = asyncio.Semaphore(concurrency)
        self._collectors = [registry.create(p.collector, **dict(p.options)) for p in plans]
        self.runners = [SlotRunner(inventory, plan, c, self._sem, self._deliver, self.partition,
                                   jitter=jitter, confirmation=confirmation)
                        for plan, c in zip(plans, self._collectors, strict=True)]
        self.publisher: Publisher | None = None
        self.local_alert_errors = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set."""
        nc = await nats.connect(self.local_url, name=f"trucban-edge {self.post}", max_reconnect_attempts=-1,
                                reconnect_time_wait=0.5)
        tasks: list[asyncio.Task[None]] = []
        try:
            js = nc.jetstream(domain=edge_domain(self.post))
            await ensure_edge_stream(js, self.stream)
            self.publisher = Publisher(js, subject=edge_subject(self.post))
            tasks = [asyncio.create_task(r.run_forever(self.partition, self.devices)) for r in self.runners]
            log.info("edge post %s: %d devices, buffer %s", self.post, len(self.devices), self.stream.name)
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for collector in self._collectors:
                with contextlib.suppress(Exception):
                    await collector.close()
            with contextlib.suppress(Exception):
                await nc.drain()

    async def _deliver(self, batch: PollBatch) -> None:
        """Local first (store, alerting), then the buffer towards the centre."""
        await asyncio.to_thread(self.store.write, batch.samples())
        decided = batch.decided()
        if decided:
            try:
                await asyncio.to_thread(self.alerting, decided)
            except Exception:  # the local picture must not stop forwarding to the centre
                self.local_alert_errors += 1
                log.exception("edge post %s: local alerting failed", self.post)
        assert self.publisher is not None
        await self.publisher.publish(batch)
