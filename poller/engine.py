"""One poll of one device, the same in the single-node cycle and the cluster's slots.

Why: the two schedulers differ in *when* a device is polled (a cycle with a
downtime backoff; epoch-aligned slots of a leased partition), never in *how*.
Both wait for the planned start on their own clock, take a place under the
shared concurrency bound, stamp the observation instant (state moves only
forward in it), decide whether the result may change a state and which
reachability sample it gives. That is this module; the confirmation of a
failure is :mod:`poller.confirm`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable

from collectors.base import Collector, PollResult
from inventory.inventory import Inventory
from inventory.model import Device
from poller.lag import OVERLOAD_LAG_S, LoopLag
from store.base import REACHABILITY, Sample

log = logging.getLogger(__name__)

# below this interval a cycle is dominated by timeouts, not load: starts are not spread
MIN_JITTER_INTERVAL_S = 10.0
OVERLOADED = "overloaded"  # error kind: no answer while the poller itself ran far behind


def device_tags(inventory: Inventory, device: Device) -> dict[str, str]:
    """Series tags of a device: low-cardinality identity for the metric store."""
    site = inventory.sites[device.site]
    return {"province": inventory.province, "commune": site.commune, "site": site.id,
            "device": device.id, "role": device.role.value}


def jitter_fraction(device_id: str) -> float:
    """A stable number in [0, 1) per device, so each device keeps its slot in the interval."""
    return zlib.crc32(device_id.encode("utf-8")) / 2**32


def may_decide(feeds_state: bool, decides_down: bool, result: PollResult) -> bool:
    """Whether ``result`` may change its device's state: an answer always, a failure only on a
    plan that decides down (health and inventory answers are observations, their silences not),
    and never a silence the overloaded poller cannot vouch for (:mod:`poller.lag`)."""
    return feeds_state and (result.ok or (decides_down and result.error_kind != OVERLOADED))


def reachability_sample(result: PollResult, tags: dict[str, str]) -> Sample:
    """The ``reachability`` sample of a state-deciding poll, answered or not."""
    fields: dict[str, float | int | str | bool] = {"up": 1 if result.ok else 0,
                                                  "latency_ms": round(result.duration_ms, 2)}
    if result.error_kind:
        fields["error_kind"] = result.error_kind
    return Sample(REACHABILITY, tags, fields, result.ts)


class PollEngine:
    """Polls one device at its planned time on ``clock``, under ``semaphore``; counts late starts."""

    def __init__(self, collector: Collector, semaphore: asyncio.Semaphore,
                 tags: Callable[[Device], dict[str, str]], clock: Callable[[], float], *,
                 late_after_s: float = float("inf"), lag: LoopLag | None = None) -> None:
        self.collector = collector
        self.lag = lag  # the loop's lateness: a timeout while it ran far behind is the poller's
        self.semaphore = semaphore
        self.tags = tags
        self.clock = clock
        self.late_after_s = late_after_s
        self.late = 0  # polls that started more than ``late_after_s`` after their planned time

    async def poll(self, device: Device, planned: float) -> PollResult:
        """The device's result, stamped with the instant its poll started (``observed``)."""
        delay = planned - self.clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tags = self.tags(device)
        async with self.semaphore:
            if self.clock() - planned > self.late_after_s:
                self.late += 1
            observed, started = time.time(), time.monotonic()
            try:
                result = await self.collector.poll(device, tags)
            except Exception as exc:  # a collector bug is this device's failure, never the cycle's
                log.exception("%s: %s collector raised", device.id, getattr(self.collector, "name", "?"))
                result = PollResult(device.id, False, int(observed),
                                    error=f"{device.id}: internal error: {exc!r}", error_kind="internal")
        result.observed = observed
        if self.lag is not None and result.error_kind in ("timeout", "no_reply"):
            behind = self.lag.worst_since(started)
            if behind >= OVERLOAD_LAG_S:
                result.error_kind = OVERLOADED
                result.error = (f"{device.id}: no answer while this poller ran {behind:.1f} s behind "
                                f"(overloaded); not counted against the device")
        return result
