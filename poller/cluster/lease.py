"""Partition leases in a JetStream key-value bucket: a dead poller's share is free after one TTL.

Each poller heartbeats its id into the *members* bucket and holds partitions
as keys of the *leases* bucket (value: its id). Both buckets expire entries
after ``lease_ttl_s`` (JetStream ``max_age``), so a poller killed with -9 loses
everything one TTL later. Every ``lease_ttl_s / 3`` a poller renews what it
holds with a compare-and-set on the revision it last wrote (a lease someone
else now holds is given up at once), counts live members, and takes free
partitions (``create`` only succeeds on a missing key) up to its fair share,
``ceil(partitions / members)``, releasing any above it. No home-made protocol:
the atomicity is JetStream's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import zlib
from collections.abc import Awaitable, Callable

from nats.js.client import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError
from nats.js.kv import KeyValue

from poller.cluster.config import ClusterConfig

log = logging.getLogger(__name__)
Callback = Callable[[str], Awaitable[None]]


async def lease_buckets(js: JetStreamContext, config: ClusterConfig) -> tuple[KeyValue, KeyValue]:
    """The leases and members buckets (created when missing)."""
    leases = await js.create_key_value(bucket=config.leases, ttl=config.lease_ttl_s, history=1)
    members = await js.create_key_value(bucket=config.members, ttl=config.lease_ttl_s, history=1)
    return leases, members


class LeaseKeeper:
    """Holds this poller's fair share of partitions; tells the owner what it gained and lost."""

    def __init__(self, leases: KeyValue, members: KeyValue, partitions: list[str], poller_id: str,
                 ttl_s: float, on_acquire: Callback, on_release: Callback) -> None:
        """Nothing is taken until :meth:`run` (or :meth:`tick`)."""
        self.leases = leases
        self.members = members
        self.partitions = partitions
        self.poller_id = poller_id
        self.ttl_s = ttl_s
        self.on_acquire = on_acquire
        self.on_release = on_release
        self.held: dict[str, int] = {}  # partition -> revision we wrote
        self.live_members = 1
        # each poller scans free partitions from its own offset: fewer create() races at start
        offset = zlib.crc32(poller_id.encode()) % max(len(partitions), 1)
        self._scan = partitions[offset:] + partitions[:offset]

    @property
    def tick_s(self) -> float:
        """How often leases are renewed."""
        return self.ttl_s / 3

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set, then release everything held (a clean hand-over)."""
        await self._heartbeat()
        with contextlib.suppress(TimeoutError):  # let peers starting together register first
            await asyncio.wait_for(stop.wait(), self.tick_s)
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self.tick()
            except Exception as exc:  # NATS briefly away: keep what we hold until the TTL says otherwise
                log.warning("lease tick failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.1, self.tick_s - (time.monotonic() - started)))
        await self.release_all()

    async def tick(self) -> None:
        """Heartbeat, renew, then take or give partitions to reach the fair share."""
        await self._heartbeat()
        for partition in list(self.held):
            await self._renew(partition)
        try:
            self.live_members = max(1, len(await self.members.keys()))
        except NoKeysError:
            self.live_members = 1
        share = math.ceil(len(self.partitions) / self.live_members)
        if len(self.held) > share:
            for partition in sorted(self.held)[share:]:
                await self._release(partition)
        elif len(self.held) < share:
            for partition in self._scan:
                if len(self.held) >= share:
                    break
                if partition not in self.held:
                    await self._try_take(partition)

    async def release_all(self) -> None:
        """Give every held partition back and leave the members set."""
        for partition in list(self.held):
            with contextlib.suppress(Exception):
                await self._release(partition)
        with contextlib.suppress(Exception):
            await self.members.delete(self.poller_id)

    async def _heartbeat(self) -> None:
        await self.members.put(self.poller_id, str(int(time.time())).encode())

    async def _renew(self, partition: str) -> None:
        try:
            self.held[partition] = await self.leases.update(partition, self.poller_id.encode(),
                                                            last=self.held[partition])
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            log.warning("lease on %s lost (expired or taken over)", partition)
            del self.held[partition]
            await self.on_release(partition)

    async def _try_take(self, partition: str) -> None:
        try:
            revision = await self.leases.create(partition, self.poller_id.encode())
        except KeyWrongLastSequenceError:
            return  # held by someone else
        self.held[partition] = revision
        log.info("%s took partition %s", self.poller_id, partition)
        await self.on_acquire(partition)

    async def _release(self, partition: str) -> None:
        revision = self.held.pop(partition)
        await self.on_release(partition)
        with contextlib.suppress(KeyWrongLastSequenceError, KeyNotFoundError):
            await self.leases.delete(partition, last=revision)
        log.info("%s released partition %s", self.poller_id, partition)
