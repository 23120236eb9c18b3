"""The poller on APScheduler against the lab: plans per interval class, backoff, self-metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from collectors.base import CollectorRegistry, PollResult
from collectors.snmp.collector import SnmpCollector
from inventory.model import Device
from lab.runner import stage
from poller.scheduler import Poller, PollPlan, snmp_plans
from store.base import Point, Sample
from tests.functional.conftest import Lab

pytestmark = [pytest.mark.functional, pytest.mark.asyncio(loop_scope="session")]


class MemoryStore:
    """A list of every sample written (the poller's store interface, in memory)."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []

    def write(self, samples: Sequence[Sample]) -> None:
        self.samples.extend(samples)

    def latest(self, measurement: str, where: Mapping[str, str] | None = None) -> list[Point]:
        return []

    def range(self, measurement: str, field_name: str, start: int, end: int,
              where: Mapping[str, str] | None = None) -> list[Point]:
        return []

    def close(self) -> None:
        pass


class Echo:
    """A second collector kind, as another engineer's would be: registered by name, no poller code."""

    name = "echo"

    def __init__(self, label: str) -> None:
        self.label = label

    async def poll(self, device: Device, tags: dict[str, str]) -> PollResult:
        return PollResult(device.id, True, int(time.time()), [Sample("echo", tags, {"label": self.label}, 0)])

    async def close(self) -> None:
        pass


def registry() -> CollectorRegistry:
    """snmp + echo."""
    reg = CollectorRegistry()
    reg.register("snmp", SnmpCollector)
    reg.register("echo", Echo)
    return reg


async def test_plans_run_on_their_intervals_with_backoff_and_self_metrics(healthy_lab: Lab) -> None:
    silent = f"c{healthy_lab.inventory.watched_communes[0]}-sw1"
    stage(healthy_lab.layout.state_dir, silent, silent=True)
    store, batches = MemoryStore(), []
    plans = snmp_plans(healthy_lab.inventory.credentials, 1.0, 2.0, 2.0)
    plans.append(PollPlan("echo-bts", "echo", 1.0, {"label": "x"}, selector=lambda d: d.role.value == "bts"))
    poller = Poller(healthy_lab.inventory, registry(), store, batches.append, plans, jitter=0.3)
    scheduler = AsyncIOScheduler()
    poller.schedule(scheduler)
    scheduler.start()
    try:
        await asyncio.sleep(7.0)
    finally:
        scheduler.shutdown(wait=False)
        await poller.close()
    reports = poller.reports()
    assert set(reports) == {"snmp-reachability", "snmp-health", "snmp-inventory", "echo-bts"}
    reach = reports["snmp-reachability"]
    assert reach is not None and poller.last is reach
    # the silent switch is in backoff: polled in the background, never part of the cycle's wait
    assert poller.downtime.is_down(silent)
    assert reach.devices == len(healthy_lab.inventory.devices) - 1 and reach.ok == reach.devices
    assert reach.duration_s < 2.0  # a 2 s × 2 timeout is not in it
    assert reach.backoff_polls + reach.backoff_skipped == 1
    kinds = {s.measurement for s in store.samples}
    assert {"reachability", "snmp_system", "snmp_if", "snmp_system_info", "ups", "echo", "poller"} <= kinds
    metrics = [s for s in store.samples if s.measurement == "poller"]
    assert {s.tags["plan"] for s in metrics} == set(reports)
    assert all({"duration_s", "late_polls", "timeouts", "errors"} <= set(s.fields) for s in metrics)
    down = [r for b in batches for d, r in b.items() if d == silent]
    assert down and all(r.error_kind == "timeout" for r in down)
    echo = [s for s in store.samples if s.measurement == "echo"]
    assert echo and all(s.tags["role"] == "bts" for s in echo)
