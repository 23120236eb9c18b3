"""The poller: plans (collector × interval class × devices) run by APScheduler 3.x.

Why: different data need different rates — reachability every 30 s, health
(interfaces, CPU, battery) every 60 s, inventory-ish data every 300 s — and a
device may be polled by several collectors (SNMP, NETCONF, SSH CLI, DNS, ICMP),
each at its own interval. A :class:`PollPlan` names a collector registered in
the :class:`~collectors.base.CollectorRegistry`, the options to build it with,
its interval and which devices it covers; the poller needs no code per
collector. All plans share one concurrency limit and one downtime (backoff)
record, so a device found dead by one plan is not hammered by the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from collectors.base import CollectorRegistry, PollResult
from inventory.inventory import Inventory
from inventory.model import Device
from poller.confirm import Confirmation
from poller.cycle import CycleReport, DeviceSelector, PollCycle, has_snmp
from poller.delivery import Delivery, ResultSink
from poller.downtime import DEFAULT_MODEL, Downtime
from poller.lag import LoopLag
from store.base import MetricStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollPlan:
    """One collector polling a set of devices at one interval."""

    name: str
    collector: str  # name in the CollectorRegistry
    interval_s: float
    options: Mapping[str, object] = field(default_factory=dict)
    selector: DeviceSelector = has_snmp
    reachability: bool = False  # write a reachability sample per device polled
    feeds_state: DeviceSelector | None = None  # devices whose results decide up/down (None: all)
    # False: a failed poll of this plan never declares a device down (only its answers count, as
    # observations with their interfaces); a big walk timing out is not a dead device.
    decides_down: bool = True


def snmp_plans(credentials: Mapping[str, object], reachability_s: float = 30.0, health_s: float = 60.0,
               inventory_s: float = 300.0, engine: str = "auto") -> list[PollPlan]:
    """SNMP in three interval classes; the reachability plan comes first (it is the ``last`` one read).

    Only the reachability plan may declare a device down; the health and
    inventory plans' answers are observations too (up, interfaces, links).
    """
    def options(poll_class: str) -> dict[str, object]:
        return {"credentials": credentials, "classes": [poll_class], "engine": engine}

    return [
        PollPlan("snmp-reachability", "snmp", reachability_s, options("reachability"), reachability=True),
        PollPlan("snmp-health", "snmp", health_s, options("health"), decides_down=False),
        PollPlan("snmp-inventory", "snmp", inventory_s, options("inventory"), decides_down=False),
    ]


def _never(_device: Device) -> bool:
    return False


def _no_snmp(device: Device) -> bool:
    return device.snmp is None


def protocol_plans(icmp_s: float = 30.0, service_s: float = 60.0, cli_s: float = 300.0,
                   credentials: Mapping[str, object] | None = None) -> list[PollPlan]:
    """ICMP, NETCONF, DNS and SSH CLI plans (each polls only devices configured for it).

    ICMP decides up/down only for devices without SNMP; NETCONF and SSH only for devices
    with neither SNMP nor ICMP; DNS never does (a failing probe is a service incident).
    """
    opts = {"credentials": credentials or {}}
    return [
        PollPlan("icmp", "icmp", icmp_s, opts, selector=lambda d: d.icmp, reachability=True,
                 feeds_state=_no_snmp),
        PollPlan("netconf", "netconf", service_s, opts, selector=lambda d: d.netconf is not None,
                 feeds_state=lambda d: d.snmp is None and not d.icmp),
        PollPlan("dns", "dns", service_s, opts, selector=lambda d: d.dns is not None, feeds_state=_never),
        PollPlan("ssh", "ssh", cli_s, opts,
                 selector=lambda d: d.ssh is not None and d.snmp is None and d.netconf is None,
                 feeds_state=lambda d: not d.icmp),
    ]


class Poller:
    """Every plan's cycle, scheduled; immediate re-polls on request (traps)."""

    def __init__(self, inventory: Inventory, registry: CollectorRegistry, store: MetricStore,
                 sink: ResultSink, plans: list[PollPlan], *, concurrency: int = 200, jitter: float = 0.5,
                 downtime_model: tuple[tuple[float, float | None], ...] = DEFAULT_MODEL,
                 confirmation: Confirmation | None = None) -> None:
        """Build one collector and one cycle per plan; nothing runs until :meth:`schedule`."""
        if not plans:
            raise ValueError("the poller needs at least one plan")
        names = [p.name for p in plans]
        if len(set(names)) != len(names):
            raise ValueError(f"plan names must be unique: {names}")
        self.inventory = inventory
        self.plans = {p.name: p for p in plans}
        self.downtime = Downtime(downtime_model)
        self.missed_runs = 0
        self._sem = asyncio.Semaphore(concurrency)
        self._repolls: dict[str, asyncio.Task[list[PollResult]]] = {}
        self.cycles: dict[str, PollCycle] = {}
        # one hand-over for every plan: one store write and one evaluation per batch, whatever the plans
        self.delivery = Delivery(store, sink)
        self.lag = LoopLag()  # started with the schedule: how far behind the loop runs
        for plan in plans:
            collector = registry.create(plan.collector, **dict(plan.options))
            self.cycles[plan.name] = PollCycle(
                inventory, collector, store, sink, concurrency, plan.interval_s, name=plan.name,
                jitter=jitter, downtime=self.downtime, reachability=plan.reachability,
                selector=plan.selector, feeds_state=plan.feeds_state, decides_down=plan.decides_down,
                semaphore=self._sem, confirmation=confirmation, delivery=self.delivery, lag=self.lag)
        self.primary = plans[0].name

    @property
    def last(self) -> CycleReport | None:
        """The primary (first) plan's last cycle report: what ``/api/poller`` shows."""
        return self.cycles[self.primary].last

    def reports(self) -> dict[str, CycleReport | None]:
        """Last report of every plan."""
        return {name: cycle.last for name, cycle in self.cycles.items()}

    def schedule(self, scheduler: AsyncIOScheduler) -> None:
        """Add one interval job per plan; the first runs start now, a second apart."""
        now = datetime.now(UTC)
        self.lag.start()
        for offset, (name, cycle) in enumerate(self.cycles.items()):
            scheduler.add_job(cycle.run, "interval", seconds=cycle.interval_s, id=f"poll:{name}",
                              next_run_time=now + timedelta(seconds=offset), max_instances=1,
                              coalesce=True, misfire_grace_time=max(1, int(cycle.interval_s)))
        scheduler.add_listener(self._missed, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)

    def _missed(self, event: JobExecutionEvent) -> None:
        self.missed_runs += 1
        log.warning("poll job %s skipped a run: the previous one is still going", event.job_id)

    async def run(self, plan: str | None = None) -> CycleReport:
        """Run one plan's cycle now (the primary by default)."""
        return await self.cycles[plan or self.primary].run()

    async def poll_now(self, device_id: str, reason: str = "") -> list[PollResult]:
        """Re-poll one device with every plan that covers it, now; repeated calls coalesce."""
        device = self.inventory.devices.get(device_id)
        if device is None:
            raise KeyError(f"unknown device {device_id!r}")
        running = self._repolls.get(device_id)
        if running is not None and not running.done():
            return await running
        log.info("re-polling %s now (%s)", device_id, reason or "asked")
        cycles = [c for c in self.cycles.values() if c.selector(device)]
        task = asyncio.ensure_future(self._repoll(cycles, device))
        self._repolls[device_id] = task
        try:
            return await task
        finally:
            if self._repolls.get(device_id) is task:
                del self._repolls[device_id]

    @staticmethod
    async def _repoll(cycles: list[PollCycle], device: object) -> list[PollResult]:
        results = await asyncio.gather(*(c.poll_now([device]) for c in cycles))  # type: ignore[list-item]
        return [r for batch in results for r in batch]

    async def close(self) -> None:
        """Wait briefly for background polls, then close every collector."""
        await self.lag.stop()
        for cycle in self.cycles.values():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(cycle.drain(), timeout=5)
            await cycle.collector.close()
