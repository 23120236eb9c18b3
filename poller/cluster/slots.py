"""Slot-aligned poll cycles of one partition: the same schedule whoever owns it.

Slot ``s`` of a plan with interval ``I`` starts at ``s * I`` (epoch seconds);
a device's poll is due at ``s * I + jitter * I * f(device)`` with the stable
per-device fraction of the single-node cycle. A poller that takes a partition
over mid-slot runs that slot too: polls already due run at once, as long as
they are less than one interval late (later ones are counted as missed and
left out: the next slot polls them). Results are cut into chunks of at most
``chunk_size`` devices in device-id order and handed to ``deliver``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from collectors.base import Collector, PollResult
from inventory.inventory import Inventory
from inventory.model import Device
from poller.cluster.messages import PollBatch, PolledDevice
from poller.confirm import Checker, Confirmation
from poller.engine import (
    MIN_JITTER_INTERVAL_S,
    PollEngine,
    device_tags,
    jitter_fraction,
    may_decide,
    reachability_sample,
)
from poller.lag import LoopLag
from poller.scheduler import PollPlan

log = logging.getLogger(__name__)
Deliver = Callable[[PollBatch], Awaitable[None]]
CHUNK_SIZE = 200
MAX_OVERLAP = 3  # slots of one partition and plan in flight at once


def slot_of(t: float, interval_s: float) -> int:
    """The slot a time falls in."""
    return math.floor(t / interval_s)


def planned_time(slot: int, interval_s: float, jitter: float, device_id: str) -> float:
    """When a device's poll is due in a slot."""
    spread = jitter * interval_s if interval_s >= MIN_JITTER_INTERVAL_S else 0.0
    return slot * interval_s + spread * jitter_fraction(device_id)


@dataclass
class SlotStats:
    """Counters of one runner (for logs and the benchmark)."""

    cycles: int = 0
    polls: int = 0
    too_late: int = 0  # polls not made: already an interval late when the slot ran
    batches: int = 0


class SlotRunner:
    """Runs one plan's slots for any partition handed to it."""

    def __init__(self, inventory: Inventory, plan: PollPlan, collector: Collector,
                 semaphore: asyncio.Semaphore, deliver: Deliver, poller_id: str, *, jitter: float = 0.5,
                 chunk_size: int = CHUNK_SIZE, confirmation: Confirmation | None = None,
                 lag: LoopLag | None = None) -> None:
        """``deliver`` receives every chunk once the slot's polls are done; ``lag`` is the poller's
        loop-lateness monitor (a timeout while it ran far behind decides nothing)."""
        self.inventory = inventory
        self.plan = plan
        self.collector = collector
        self.deliver = deliver
        self.poller_id = poller_id
        self.jitter = min(max(jitter, 0.0), 0.9)
        self.chunk_size = chunk_size
        self.stats = SlotStats()
        self._tags: dict[str, dict[str, str]] = {}
        self._down: set[str] = set()  # devices whose last deciding poll timed out
        self.engine = PollEngine(collector, semaphore, self.tags, time.time, lag=lag)
        self.checker = Checker(inventory, self._poll_once, confirmation or Confirmation(), now=time.time,
                               can_poll=self._feeds_state, decides=self._decides,
                               known_down=self._down.__contains__, settle=self._settle)

    def tags(self, device: Device) -> dict[str, str]:
        """Series tags (province from the commune, so merged inventories stay right)."""
        tags = self._tags.get(device.id)
        if tags is None:
            tags = device_tags(self.inventory, device)
            commune = self.inventory.reference.communes.get(tags["commune"])
            if commune is not None:
                tags["province"] = commune.province_code
            self._tags[device.id] = tags
        return tags

    async def run_forever(self, partition: str, devices: list[Device], first_slot: int | None = None) -> None:
        """Start each slot on time until cancelled (the lease was lost or released).

        A slot does not wait for the previous one: dead devices' timeouts may
        make a cycle longer than the interval, and the next slot must still
        start when due. At most ``MAX_OVERLAP`` slots of a partition run at once.
        """
        targets = [d for d in devices if self.plan.selector(d)]
        if not targets:
            return
        interval = self.plan.interval_s
        slot = slot_of(time.time(), interval) if first_slot is None else first_slot
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                delay = slot * interval - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                while len(running) >= MAX_OVERLAP:
                    await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                task = asyncio.create_task(self._run_logged(partition, targets, slot))
                running.add(task)
                task.add_done_callback(running.discard)
                # after a long stall (suspended host) jump ahead instead of racing through
                # slots whose polls are all more than an interval late
                slot = max(slot + 1, slot_of(time.time(), interval) - 1)
        finally:
            for task in list(running):
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    async def _run_logged(self, partition: str, devices: list[Device], slot: int) -> None:
        try:
            await self.run_slot(partition, devices, slot)
        except Exception:  # the next slot must still run; the gap shows as missed polls
            log.exception("%s %s slot %d failed", partition, self.plan.name, slot)

    async def run_slot(self, partition: str, devices: list[Device], slot: int) -> list[PollBatch]:
        """Poll the devices due in ``slot`` (skipping those already an interval late) and deliver."""
        interval = self.plan.interval_s
        now = time.time()
        due: list[tuple[Device, float]] = []
        for device in devices:
            planned = planned_time(slot, interval, self.jitter, device.id)
            if now - planned >= interval:
                self.stats.too_late += 1
            else:
                due.append((device, planned))
        checked = await asyncio.gather(*(self._check(d, p) for d, p in due))
        self.stats.cycles += 1
        self.stats.polls += len(checked)
        batches = []
        for chunk in range(0, max(len(devices), 1), self.chunk_size):
            names = {d.id for d in devices[chunk:chunk + self.chunk_size]}
            # a device's confirmation travels with it: its parents' checks come first
            items = [p for own in checked if own[-1].result.device in names for p in own]
            if items:
                batches.append(PollBatch(partition, self.plan.name, slot, interval, chunk // self.chunk_size,
                                         self.poller_id, items))
        for batch in batches:
            await self.deliver(batch)
            self.stats.batches += 1
        return batches

    async def _check(self, device: Device, planned: float) -> list[PolledDevice]:
        """The device's check (with confirmation); its own result last."""
        results = await self.checker.check(device, planned)
        own = [r for r in results if r.device == device.id]
        above = [r for r in results if r.device != device.id]
        return ([self._polled(r, planned, True) for r in above] + [self._polled(own[0], planned, False)]
                + [self._polled(r, planned, True) for r in own[1:]])

    def _polled(self, result: PollResult, planned: float, recheck: bool) -> PolledDevice:
        device = self.inventory.devices[result.device]
        return PolledDevice(result, planned, self._decides(device, result), recheck)

    def _settle(self, device: Device, result: PollResult) -> None:
        """A check's final result: only a confirmed silence makes a device known down."""
        if not result.ok and result.error_kind == "timeout":
            self._down.add(device.id)
        else:
            self._down.discard(device.id)

    def _feeds_state(self, device: Device) -> bool:
        return self.plan.selector(device) and (self.plan.feeds_state is None or self.plan.feeds_state(device))

    def _decides(self, device: Device, result: PollResult) -> bool:
        """Whether ``result`` may change ``device``'s state (a failure only on a deciding plan)."""
        feeds = self.plan.feeds_state is None or self.plan.feeds_state(device)
        return may_decide(feeds, self.plan.decides_down, result)

    async def _poll_once(self, device: Device, planned: float) -> PollResult:
        result = await self.engine.poll(device, planned)
        if self.plan.reachability and self._decides(device, result):
            result.samples.append(reachability_sample(result, self.tags(device)))
        return result
