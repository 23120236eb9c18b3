"""One poll cycle of one plan: poll its devices with bounded concurrency, store, evaluate.

The cycle never fails because of a device: every device gives a
:class:`collectors.base.PollResult`. Polls start spread over part of the
interval (a stable per-device jitter), so a national inventory does not hit
the network in one burst. Devices already down are polled on the downtime
backoff in the background, never holding up the cycle. Reachability samples
are written for every device a reachability plan polls, answered or not.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from collectors.base import Collector, PollResult
from inventory.inventory import Inventory
from inventory.model import Device
from poller.downtime import Downtime
from store.base import MetricStore, Sample

log = logging.getLogger(__name__)
ResultSink = Callable[[dict[str, PollResult]], object]  # the return value is ignored
DeviceSelector = Callable[[Device], bool]
# below this interval a cycle is dominated by timeouts, not load: starts are not spread
MIN_JITTER_INTERVAL_S = 10.0


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


def device_tags(inventory: Inventory, device: Device) -> dict[str, str]:
    """Series tags of a device: low-cardinality identity for the metric store."""
    site = inventory.sites[device.site]
    return {"province": inventory.province, "commune": site.commune, "site": site.id,
            "device": device.id, "role": device.role.value}


def has_snmp(device: Device) -> bool:
    """Default selector: devices with SNMP access."""
    return device.snmp is not None


def jitter_fraction(device_id: str) -> float:
    """A stable number in [0, 1) per device, so each device keeps its slot in the interval."""
    return zlib.crc32(device_id.encode("utf-8")) / 2**32


class PollCycle:
    """Polls a plan's devices, writes samples, hands results to the evaluator."""

    def __init__(self, inventory: Inventory, collector: Collector, store: MetricStore,
                 sink: ResultSink, concurrency: int = 200, interval_s: float = 30.0, *,
                 name: str = "snmp", jitter: float = 0.0, downtime: Downtime | None = None,
                 reachability: bool = True, selector: DeviceSelector = has_snmp,
                 feeds_state: DeviceSelector | None = None,
                 semaphore: asyncio.Semaphore | None = None) -> None:
        """``jitter`` is the share of the interval over which poll starts are spread (0–0.9)."""
        self.inventory = inventory
        self.collector = collector
        self.store = store
        self.sink = sink
        self.interval_s = interval_s
        self.name = name
        self.jitter = min(max(jitter, 0.0), 0.9)
        self.downtime = downtime if downtime is not None else Downtime()
        self.reachability = reachability
        self.selector = selector
        # Which devices' results decide their up/down state (and downtime backoff); others only
        # give samples (e.g. a DNS probe failing means a degraded service, not a dead device).
        self.feeds_state = feeds_state or (lambda _device: True)
        self._sem = semaphore or asyncio.Semaphore(concurrency)
        self._tags = {d.id: device_tags(inventory, d) for d in inventory.devices.values()}
        self._background: set[asyncio.Task[None]] = set()
        self._inflight: set[str] = set()
        self._late = 0
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
        self._late = 0
        spread = self.jitter * self.interval_s if self.interval_s >= MIN_JITTER_INTERVAL_S else 0.0
        results = await asyncio.gather(*(self._poll(d, t0 + spread * jitter_fraction(d.id)) for d in up))
        results = await self._recheck_parents(results)
        await self._deliver(results)
        duration = time.monotonic() - t0
        errors = Counter(r.error_kind or "unknown" for r in results if not r.ok)
        report = CycleReport(int(started), duration, len(results), len(results) - sum(errors.values()),
                             dict(errors), duration > self.interval_s, self.name, self.interval_s,
                             self._late, errors.get("timeout", 0), len(backoff), skipped)
        self.last = report
        await asyncio.to_thread(self.store.write, [self._self_metrics(report)])
        log.info("%s cycle: %d devices, %d ok, %s, %d late, %d down in backoff (%d not due), %.2fs",
                 self.name, report.devices, report.ok, report.errors or "no errors", report.late_polls,
                 len(backoff), skipped, duration)
        return report

    async def poll_now(self, devices: list[Device]) -> list[PollResult]:
        """Poll ``devices`` at once, whatever their backoff (a trap asked for it), and deliver."""
        results = await asyncio.gather(*(self._poll(d, time.monotonic()) for d in devices))
        await self._deliver(results)
        return list(results)

    async def drain(self) -> None:
        """Wait for background (backoff) polls to finish."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _recheck_parents(self, results: list[PollResult]) -> list[PollResult]:
        """Re-poll parents that answered earlier in this cycle than a child that then timed out.

        Poll starts are spread over the interval, so a parent may answer just
        before a cut that silences its child; without this the child would be
        *down* behind an *up* parent, instead of *unreachable* (OpenNMS checks
        the critical path the same way). Repeats up the chain, at most 8 levels.
        """
        by_id = {r.device: r for r in results}
        checked: set[str] = set()
        for _ in range(8):
            suspects = {p for r in by_id.values() if not r.ok and r.error_kind == "timeout"
                        for p in self.inventory.devices[r.device].parents
                        if p in by_id and by_id[p].ok and p not in checked}
            if not suspects:
                break
            checked |= suspects
            again = await asyncio.gather(*(self._poll(self.inventory.devices[p], time.monotonic())
                                           for p in sorted(suspects)))
            by_id.update({r.device: r for r in again})
        return list(by_id.values())

    async def _poll_alone(self, device: Device) -> None:
        try:
            result = await self._poll(device, time.monotonic())
            await self._deliver([result])
        finally:
            self._inflight.discard(device.id)

    async def _poll(self, device: Device, planned: float) -> PollResult:
        delay = planned - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        async with self._sem:
            if time.monotonic() - planned > max(1.0, 0.1 * self.interval_s):
                self._late += 1
            result = await self.collector.poll(device, self._tags[device.id])
        if self.feeds_state(device):
            self.downtime.record(device.id, result.ok, result.error_kind == "timeout", time.monotonic())
        return result

    async def _deliver(self, results: list[PollResult]) -> None:
        if not results:
            return
        samples = [s for r in results for s in r.samples]
        devices = self.inventory.devices
        if self.reachability:
            samples += [self._reachability(r) for r in results if self.feeds_state(devices[r.device])]
        await asyncio.to_thread(self.store.write, samples)
        decided = {r.device: r for r in results if self.feeds_state(devices[r.device])}
        if decided:
            self.sink(decided)

    def _reachability(self, result: PollResult) -> Sample:
        fields: dict[str, float | int | str | bool] = {"up": 1 if result.ok else 0,
                                                      "latency_ms": round(result.duration_ms, 2)}
        if result.error_kind:
            fields["error_kind"] = result.error_kind
        return Sample("reachability", self._tags[result.device], fields, result.ts)

    def _self_metrics(self, report: CycleReport) -> Sample:
        fields: dict[str, float | int | str | bool] = {
            "duration_s": round(report.duration_s, 3), "devices": report.devices, "ok": report.ok,
            "late_polls": report.late_polls, "timeouts": report.timeouts,
            "errors": sum(report.errors.values()), "backoff_polls": report.backoff_polls,
            "backoff_skipped": report.backoff_skipped, "late": int(report.late),
        }
        return Sample("poller", {"plan": self.name}, fields, report.started)
