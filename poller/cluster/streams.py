"""The results stream on the hub (sourcing every edge post's stream) and publishing to it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import (
    DiscardPolicy,
    ExternalStream,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamSource,
)
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, NoStreamResponseError, NotFoundError

from common.retry import exponential_delay
from poller.cluster.config import ClusterConfig, edge_domain, edge_stream
from poller.cluster.messages import PollBatch, encode

log = logging.getLogger(__name__)
PUBLISH_RETRY_S, PUBLISH_RETRY_MAX_S = 0.2, 5.0  # backoff of a publish JetStream did not acknowledge


def results_stream_config(config: ClusterConfig) -> StreamConfig:
    """The hub's results stream: file storage, de-duplication window, edge streams as sources."""
    sources = [StreamSource(name=edge_stream(post),
                            external=ExternalStream(api=f"$JS.{edge_domain(post)}.API"))
               for post in config.edges]
    return StreamConfig(name=config.stream, subjects=[f"{config.subject_prefix}.>"],
                        storage=StorageType.FILE, retention=RetentionPolicy.LIMITS,
                        duplicate_window=config.duplicate_window_s, max_bytes=config.max_stream_mb * 2**20,
                        discard=DiscardPolicy.OLD, sources=sources or None)


async def ensure_results_stream(js: JetStreamContext, config: ClusterConfig, *,
                                manage_sources: bool = False) -> None:
    """Create the stream when missing; the ingest (``manage_sources``) also keeps its edge sources current.

    Pollers never change an existing stream, so they cannot drop the sources the ingest set.
    """
    wanted = results_stream_config(config)
    try:
        info = await js.stream_info(config.stream)
    except NotFoundError:
        with contextlib.suppress(BadRequestError):  # another process created it just now
            await js.add_stream(wanted)
        return
    if not manage_sources:
        return
    have = sorted(s.name for s in info.config.sources or [])
    if have != sorted(s.name for s in wanted.sources or []):
        await js.update_stream(wanted)


class Publisher:
    """Publishes batches with their message id, retrying until JetStream acknowledges."""

    def __init__(self, js: JetStreamContext, subject_of: dict[str, str] | None = None, *, subject: str = "",
                 attempts: int = 30) -> None:
        """``subject`` fixed (edge posts) or derived per partition by ``subject_of``."""
        self.js = js
        self.subject = subject
        self.subject_of = subject_of or {}
        self.attempts = attempts
        self.published = 0
        self.duplicates = 0

    async def publish(self, batch: PollBatch, subject: str | None = None) -> bool:
        """Publish one batch; True if stored, False if JetStream already had its id."""
        data = encode(batch)
        target = subject or self.subject_of.get(batch.partition) or self.subject
        for attempt in range(1, self.attempts + 1):
            try:
                ack = await self.js.publish(target, data, headers={"Nats-Msg-Id": batch.msg_id}, timeout=5)
            except (NatsTimeout, NoStreamResponseError, ConnectionError, OSError) as exc:
                if attempt == self.attempts:
                    raise
                delay = exponential_delay(attempt - 1, PUBLISH_RETRY_S, PUBLISH_RETRY_MAX_S)
                log.warning("publish %s failed (%s); retrying in %.1f s", batch.msg_id, exc, delay)
                await asyncio.sleep(delay)
                continue
            if ack.duplicate:
                self.duplicates += 1
                return False
            self.published += 1
            return True
        return False
