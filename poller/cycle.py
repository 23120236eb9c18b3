"""One poll cycle: poll every device with bounded concurrency, store, evaluate.

The cycle never fails because of a device: every device gives a
:class:`collectors.base.PollResult`. Reachability samples are written for
every device, answered or not, so availability can be computed later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from collectors.base import Collector, PollResult
from inventory.inventory import Inventory
from inventory.model import Device
from store.base import MetricStore, Sample

log = logging.getLogger(__name__)
ResultSink = Callable[[dict[str, PollResult]], None]


@dataclass(frozen=True, slots=True)
class CycleReport:
    """Self-metrics of one cycle, for the dashboard and /metrics."""

    started: int
    duration_s: float
    devices: int
    ok: int
    errors: dict[str, int] = field(default_factory=dict)
    late: bool = False


def device_tags(inventory: Inventory, device: Device) -> dict[str, str]:
    """Series tags of a device: low-cardinality identity for the metric store."""
    site = inventory.sites[device.site]
    return {"province": inventory.province, "commune": site.commune, "site": site.id,
            "device": device.id, "role": device.role.value}


class PollCycle:
    """Polls a set of devices, writes samples, hands results to the evaluator."""

    def __init__(self, inventory: Inventory, collector: Collector, store: MetricStore,
                 sink: ResultSink, concurrency: int = 200, interval_s: float = 30.0) -> None:
        self.inventory = inventory
        self.collector = collector
        self.store = store
        self.sink = sink
        self.interval_s = interval_s
        self._sem = asyncio.Semaphore(concurrency)
        self._tags = {d.id: device_tags(inventory, d) for d in inventory.devices.values()}
        self.last: CycleReport | None = None

    async def run(self, devices: list[Device] | None = None) -> CycleReport:
        """Poll ``devices`` (default: all with SNMP access) once."""
        targets = devices if devices is not None else [
            d for d in self.inventory.devices.values() if d.snmp is not None
        ]
        started = time.time()
        results = await asyncio.gather(*(self._poll(d) for d in targets))
        samples = [s for r in results for s in r.samples]
        samples += [self._reachability(r) for r in results]
        await asyncio.to_thread(self.store.write, samples)
        self.sink({r.device: r for r in results})
        duration = time.time() - started
        errors = Counter(r.error_kind or "unknown" for r in results if not r.ok)
        report = CycleReport(int(started), duration, len(results), len(results) - sum(errors.values()),
                             dict(errors), late=duration > self.interval_s)
        self.last = report
        log.info("poll cycle: %d devices, %d ok, %s, %.2fs", report.devices, report.ok,
                 report.errors or "no errors", duration)
        return report

    async def _poll(self, device: Device) -> PollResult:
        async with self._sem:
            return await self.collector.poll(device, self._tags[device.id])

    def _reachability(self, result: PollResult) -> Sample:
        fields: dict[str, float | int | str | bool] = {"up": 1 if result.ok else 0,
                                                      "latency_ms": round(result.duration_ms, 2)}
        if result.error_kind:
            fields["error_kind"] = result.error_kind
        return Sample("reachability", self._tags[result.device], fields, result.ts)
