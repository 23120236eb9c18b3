"""The central ingest: poll batches from the JetStream results stream → metric store → alerting core.

One durable pull consumer with explicit acks reads the hub's results stream
(scale-out pollers publish there; edge posts' streams are sourced into it).
Batches are applied in stream order, in groups where no device appears twice,
so a device's results reach the alerting core in the order they were polled:
samples are written first (the store overwrites the same series + timestamp,
so a replay stores nothing twice), then the state-deciding results are
evaluated. A message is acknowledged only after both succeeded; while the
store or the alerting database (PostgreSQL restarting) fails, the group is
retried in place with backoff and the messages are kept ours
(``in_progress``), so nothing is skipped and order is kept. Message ids seen
recently are remembered, so a redelivered batch is not evaluated twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from collectors.base import PollResult
from common.retry import exponential_delay
from poller.cluster.config import ClusterConfig
from poller.cluster.messages import PollBatch, decode
from poller.cluster.streams import ensure_results_stream
from store.base import MetricStore

log = logging.getLogger(__name__)
RETRY_S = 0.2  # first wait before a failed store write or evaluation is tried again
Sink = Callable[[dict[str, PollResult]], object]
RECENT_IDS = 200_000


@dataclass
class IngestStats:
    """What the ingest has done since it started."""

    messages: int = 0
    samples: int = 0
    evaluations: int = 0
    redelivered: int = 0  # messages already applied (ack lost): acknowledged, not applied again
    malformed: int = 0
    retries: int = 0


class Ingest:
    """Consumes the results stream into a metric store and an alerting sink."""

    def __init__(self, store: MetricStore, alerting: Sink, config: ClusterConfig, *, fetch_batch: int = 256,
                 retry_max_s: float = 5.0) -> None:
        """``alerting`` is called with one group's state-deciding results (an AlertingCore)."""
        self.store = store
        self.alerting = alerting
        self.config = config
        self.fetch_batch = fetch_batch
        self.retry_max_s = retry_max_s
        self.stats = IngestStats()
        self._recent: OrderedDict[str, None] = OrderedDict()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set."""
        nc = await nats.connect(self.config.url, name="trucban-ingest", max_reconnect_attempts=-1,
                                reconnect_time_wait=0.5)
        try:
            js = nc.jetstream()
            await ensure_results_stream(js, self.config, manage_sources=True)
            consumer = ConsumerConfig(durable_name=self.config.consumer, ack_policy=AckPolicy.EXPLICIT,
                                      deliver_policy=DeliverPolicy.ALL, ack_wait=60, max_ack_pending=20_000,
                                      max_deliver=-1)
            sub = await js.pull_subscribe("", durable=self.config.consumer, stream=self.config.stream,
                                          config=consumer)
            log.info("ingest consuming %s as %s", self.config.stream, self.config.consumer)
            while not stop.is_set():
                try:
                    msgs = await sub.fetch(self.fetch_batch, timeout=1)
                except (NatsTimeout, TimeoutError):
                    continue
                except Exception as exc:  # NATS reconnecting
                    log.warning("fetch failed: %s", exc)
                    await asyncio.sleep(0.5)
                    continue
                await self.handle(msgs, stop)
        finally:
            with contextlib.suppress(Exception):
                await nc.drain()

    async def handle(self, msgs: Sequence[Any], stop: asyncio.Event | None = None) -> None:
        """Apply one fetch's messages in order, acknowledging each group once applied."""
        group: list[tuple[Any, PollBatch]] = []
        devices: set[str] = set()
        for msg in msgs:
            msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
            if msg_id and msg_id in self._recent:
                self.stats.redelivered += 1
                await msg.ack()
                continue
            try:
                batch = decode(msg.data)
            except ValueError as exc:
                self.stats.malformed += 1
                log.error("dropping malformed message %s: %s", msg_id or "(no id)", exc)
                await msg.term()
                continue
            names = {i.result.device for i in batch.items}
            if names & devices:
                await self._apply(group, msgs, stop)
                group, devices = [], set()
            group.append((msg, batch))
            devices |= names
        if group:
            await self._apply(group, msgs, stop)

    async def _apply(self, group: list[tuple[Any, PollBatch]], held: Sequence[Any],
                     stop: asyncio.Event | None) -> None:
        batches = [b for _m, b in group]
        samples = [s for b in batches for s in b.samples()]
        decided: dict[str, PollResult] = {}
        for b in batches:
            decided.update(b.decided())
        stored, step = False, 0
        while True:
            try:
                if not stored:
                    await asyncio.to_thread(self.store.write, samples)
                    stored = True
                if decided:
                    await asyncio.to_thread(self.alerting, decided)
                break
            except Exception as exc:
                if stop is not None and stop.is_set():
                    raise
                self.stats.retries += 1
                delay = exponential_delay(step, RETRY_S, self.retry_max_s)
                step += 1
                log.warning("ingest: %s failed (%s: %s); retrying in %.1f s",
                            "evaluation" if stored else "store write", type(exc).__name__, exc, delay)
                for m in held:  # keep every fetched message ours while we wait
                    with contextlib.suppress(Exception):
                        await m.in_progress()
                await asyncio.sleep(delay)
        self.stats.evaluations += 1 if decided else 0
        self.stats.samples += len(samples)
        for msg, batch in group:
            await msg.ack()
            self.stats.messages += 1
            self._recent[batch.msg_id] = None
        while len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)
