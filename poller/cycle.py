"""One poll cycle of one plan: poll its devices with bounded concurrency, store, evaluate.

The cycle never fails because of a device: every device gives a
:class:`collectors.base.PollResult`. Polls start spread over part of the
interval (a stable per-device jitter), so a national inventory does not hit
the network in one burst. Devices already down are polled on the downtime
backoff in the background, never holding up the cycle. Reachability samples
are written for every device a reachability plan polls, answered or not.

Results reach the store and the evaluator as each device's check completes
(through the poller's one :class:`poller.delivery.Delivery`, which gathers every
plan's results for a short while), not at the end of the cycle, so a slow plan
never sits on stale observations. Each result carries the instant its poll
started (``observed``); the evaluator applies results in that order only. A
failed state-deciding poll of a device not yet known down is confirmed first
(:mod:`poller.confirm`), with the device's parents checked at the same time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from collectors.base import Collector, PollResult
from inventory.inventory import Inventory
from inventory.model import Device
from poller.confirm import Checker, Confirmation
from poller.delivery import Delivery, ResultSink
from poller.downtime import Downtime
from poller.engine import (
    MIN_JITTER_INTERVAL_S,
    PollEngine,
    device_tags,
    jitter_fraction,
    may_decide,
    reachability_sample,
)
from poller.lag import LoopLag
from store.base import MetricStore, Sample

log = logging.getLogger(__name__)
DeviceSelector = Callable[[Device], bool]
__all__ = ["CycleReport", "DeviceSelector", "PollCycle", "ResultSink", "has_snmp"]


@dataclass(frozen=True, slots=True)
class CycleReport:
    """Self-metrics of one cycle, for the dashboard and /metrics."""

    started: int
    duration_s: float
    devices: int
    ok: int
    errors: dict[str, int] = field(default_factory=dict)
    late: bool = False  # the cycle took longer than its interval
    plan: str = "snmp"
    interval_s: float = 0.0
    late_polls: int = 0  # polls that started well after their planned time
    timeouts: int = 0
    backoff_polls: int = 0  # down devices polled in the background
    backoff_skipped: int = 0  # down devices not due yet


def has_snmp(device: Device) -> bool:
    """Default selector: devices with SNMP access."""
    return device.snmp is not None


class PollCycle:
    """Polls a plan's devices, writes samples, hands results to the evaluator."""

    def __init__(self, inventory: Inventory, collector: Collector, store: MetricStore,
                 sink: ResultSink, concurrency: int = 200, interval_s: float = 30.0, *,
                 name: str = "snmp", jitter: float = 0.0, downtime: Downtime | None = None,
                 reachability: bool = True, selector: DeviceSelector = has_snmp,
                 feeds_state: DeviceSelector | None = None, decides_down: bool = True,
                 semaphore: asyncio.Semaphore | None = None,
                 confirmation: Confirmation | None = None, delivery: Delivery | None = None,
                 lag: LoopLag | None = None) -> None:
        """``jitter`` is the share of the interval over which poll starts are spread (0–0.9);
        ``delivery`` is the poller's hand-over shared by its plans (default: this cycle's own, to
        ``store`` and ``sink``); ``lag``, the poller's loop-lateness monitor, turns a timeout the
        overloaded poller cannot vouch for into ``overloaded`` (:mod:`poller.lag`)."""
        self.inventory = inventory
        self.collector = collector
        self.store = store
        self.delivery = delivery if delivery is not None else Delivery(store, sink, name=name)
        self.interval_s = interval_s
        self.name = name
        self.jitter = min(max(jitter, 0.0), 0.9)
        self.downtime = downtime if downtime is not None else Downtime()
        self.reachability = reachability
        self.selector = selector
        # Which devices' results decide their up/down state (and downtime backoff); others only
        # give samples (e.g. a DNS probe failing means a degraded service, not a dead device).
        self.feeds_state = feeds_state or (lambda _device: True)
        self.decides_down = decides_down
        self._tags = {d.id: device_tags(inventory, d) for d in inventory.devices.values()}
        self.engine = PollEngine(collector, semaphore or asyncio.Semaphore(concurrency),
                                 lambda d: self._tags[d.id], time.monotonic,
                                 late_after_s=max(1.0, 0.1 * interval_s), lag=lag)
        self._background: set[asyncio.Task[None]] = set()
        self._inflight: set[str] = set()
        self.confirmation = confirmation if confirmation is not None else Confirmation()
        self.checker = Checker(inventory, self.engine.poll, self.confirmation, now=time.monotonic,
                               can_poll=lambda d: self.selector(d) and self.feeds_state(d),
                               decides=self._decides, known_down=self.downtime.is_down,
                               settle=self._settle)
        self.last: CycleReport | None = None

    def devices(self) -> list[Device]:
        """Every device this plan polls."""
        return [d for d in self.inventory.devices.values() if self.selector(d)]

    async def run(self, devices: list[Device] | None = None) -> CycleReport:
        """Poll ``devices`` (default: the plan's) once; down devices go to the background."""
        targets = devices if devices is not None else self.devices()
        started, t0 = time.time(), time.monotonic()
        now = time.monotonic()
        up, backoff, skipped = [], [], 0
        for device in targets:
            if not self.downtime.is_down(device.id):
                up.append(device)
            elif device.id not in self._inflight and self.downtime.due(device.id, now, self.interval_s):
                backoff.append(device)
            else:
                skipped += 1
        for device in backoff:
            self._inflight.add(device.id)
            task = asyncio.create_task(self._poll_alone(device))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        self.engine.late = 0
        spread = self.jitter * self.interval_s if self.interval_s >= MIN_JITTER_INTERVAL_S else 0.0
        checked = await asyncio.gather(*(self._check_and_queue(d, t0 + spread * jitter_fraction(d.id))
                                         for d in up))
        await self.delivery.flush()
        results = [own[-1] for own in checked]
        duration = time.monotonic() - t0
        errors = Counter(r.error_kind or "unknown" for r in results if not r.ok)
        report = CycleReport(int(started), duration, len(results), len(results) - sum(errors.values()),
                             dict(errors), duration > self.interval_s, self.name, self.interval_s,
                             self.engine.late, errors.get("timeout", 0), len(backoff), skipped)
        self.last = report
        await asyncio.to_thread(self.store.write, [self._self_metrics(report)])
        log.info("%s cycle: %d devices, %d ok, %s, %d late, %d down in backoff (%d not due), %.2fs",
                 self.name, report.devices, report.ok, report.errors or "no errors", report.late_polls,
                 len(backoff), skipped, duration)
        return report

    async def poll_now(self, devices: list[Device]) -> list[PollResult]:
        """Poll ``devices`` at once, whatever their backoff (a trap asked for it), and deliver."""
        checked = await asyncio.gather(*(self._check(d, time.monotonic()) for d in devices))
        results = [r for own in checked for r in own]
        self._queue(results)
        await self.delivery.flush()
        return results

    async def drain(self) -> None:
        """Wait for background (backoff) polls and pending deliveries to finish."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.delivery.drain()

    async def _check_and_queue(self, device: Device, planned: float) -> list[PollResult]:
        """The first poll holds the cycle; a confirmation goes on in the background.

        So a cycle full of failing devices still ends on time and the next one
        starts when due (a skipped cycle would delay the next detection by a
        whole interval).
        """
        first, confirming = await self.checker.first(device, planned)
        if confirming is None:
            self._queue([first])
        else:
            task = asyncio.ensure_future(self._queue_when_done(confirming))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return [first]

    async def _queue_when_done(self, confirming: Awaitable[list[PollResult]]) -> None:
        self._queue(await confirming)

    async def _check(self, device: Device, planned: float) -> list[PollResult]:
        return await self.checker.check(device, planned)

    async def _poll_alone(self, device: Device) -> None:
        try:
            self._queue(await self._check(device, time.monotonic()))
        finally:
            self._inflight.discard(device.id)

    def _settle(self, device: Device, result: PollResult) -> None:
        """A check's final result: only a confirmed failure puts a device on the downtime backoff."""
        was_down = self.downtime.is_down(device.id)
        self.downtime.record(device.id, result.ok, result.error_kind == "timeout", time.monotonic())
        if was_down and result.ok:
            self._recheck_behind(device)

    def _recheck_behind(self, device: Device) -> None:
        """A device answers again: the devices behind it that sat on the backoff are polled now.

        Their silence was most likely their parent's, so waiting up to five
        minutes for their next backoff slot would keep a repaired commune red on
        every screen. Their backoff starts over; each that answers does the same
        for its own children.
        """
        for child_id in self.inventory.children.get(device.id, ()):
            child = self.inventory.devices[child_id]
            if not self.downtime.is_down(child_id) or child_id in self._inflight or not self.selector(child):
                continue
            self.downtime.record(child_id, True, False, time.monotonic())  # backoff starts over
            self._inflight.add(child_id)
            task = asyncio.ensure_future(self._poll_alone(child))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def _queue(self, results: list[PollResult]) -> None:
        """Hand results on: their samples (and reachability samples) and the state-deciding ones."""
        devices = self.inventory.devices
        samples = [s for r in results for s in r.samples]
        decided = [r for r in results if self._decides(devices[r.device], r)]
        if self.reachability:
            samples += [reachability_sample(r, self._tags[r.device]) for r in decided]
        self.delivery.queue(samples, decided)

    def _decides(self, device: Device, result: PollResult) -> bool:
        """Whether ``result`` may change ``device``'s state (a failure only on a deciding plan)."""
        return may_decide(self.feeds_state(device), self.decides_down, result)

    def _self_metrics(self, report: CycleReport) -> Sample:
        fields: dict[str, float | int | str | bool] = {
            "duration_s": round(report.duration_s, 3), "devices": report.devices, "ok": report.ok,
            "late_polls": report.late_polls, "timeouts": report.timeouts,
            "errors": sum(report.errors.values()), "backoff_polls": report.backoff_polls,
            "backoff_skipped": report.backoff_skipped, "late": int(report.late),
        }
        return Sample("poller", {"plan": self.name}, fields, report.started)
