"""Wiring from settings for the three scale-out processes: poller, edge post and ingest.

Each runs until SIGINT/SIGTERM (a clean stop hands leases back at once; a
kill -9 lets them expire after one TTL). The inventory comes from
``--inventory`` files or, with ``lab: national`` (``--lab national``), from
the national lab's model (:func:`lab.national.national_lab_inventory`) pointed
at a responder already listening on ``lab_port``: built in memory the same way
in every process, so pollers, ingest and edge posts agree without a 27k-device
YAML file to write and parse.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from inventory.inventory import Inventory
from inventory.loader import load_inventory
from poller.cluster.config import ClusterConfig
from poller.cluster.partitions import merge_inventories
from poller.scheduler import PollPlan, protocol_plans, snmp_plans
from trucban.heap import freeze_startup_heap
from trucban.settings import Settings


def split(text: str | None) -> tuple[str, ...]:
    """A comma-separated setting as a tuple."""
    return tuple(x.strip() for x in (text or "").split(",") if x.strip())


def cluster_config(settings: Settings) -> ClusterConfig:
    """The cluster part of the settings."""
    if not settings.cluster_url:
        raise ValueError("no cluster configured: set cluster_url (TRUCBAN_CLUSTER_URL) or --cluster")
    return ClusterConfig(url=settings.cluster_url, partitions=settings.cluster_partitions,
                         lease_ttl_s=settings.cluster_lease_ttl_s,
                         duplicate_window_s=settings.cluster_dedup_window_s,
                         edges=split(settings.cluster_edges))


def load_inventories(paths: Sequence[Path]) -> Inventory:
    """One inventory from one or more files."""
    if not paths:
        raise ValueError("give at least one --inventory, or --lab national "
                         "(scale-out does not generate a lab)")
    return merge_inventories([load_inventory(Path(p)) for p in paths])


def cluster_inventory(settings: Settings, paths: Sequence[Path], lab_province: str | None = None
                      ) -> Inventory:
    """The inventory of a scale-out process: the ``--inventory`` files, or the national lab's.

    With ``settings.lab == "national"`` the national lab (every province, or only
    ``lab_province``) is built for the responder on ``settings.lab_port``; the
    responder (:class:`lab.national_agents.NationalAgents`) is started by
    whoever runs the lab, never by a cluster process.
    """
    if settings.lab != "national":
        if lab_province:
            raise ValueError("--lab-province chooses a province of the national lab: add --lab national")
        return load_inventories(paths)
    if paths:
        raise ValueError("give --inventory files or --lab national, not both")
    from lab.national import national_lab_inventory

    inventory = national_lab_inventory(settings.lab_port, province=lab_province)
    if not inventory.devices:
        raise ValueError(f"--lab-province {lab_province!r}: no such province in the national lab")
    return inventory


def plans_for(settings: Settings, inventory: Inventory) -> list[PollPlan]:
    """The same plans as the single node."""
    plans = snmp_plans(inventory.credentials, settings.poll_interval_s, settings.health_interval_s,
                       settings.inventory_interval_s, settings.snmp_engine)
    return plans + protocol_plans(settings.poll_interval_s, settings.health_interval_s,
                                  settings.inventory_interval_s, inventory.credentials)


def run_until_signalled(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run ``main(stop)``; SIGINT/SIGTERM set ``stop``."""
    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())


def run_poller(settings: Settings, inventories: Sequence[Path], poller_id: str | None,
               exclude: Sequence[str] = (), lab_province: str | None = None) -> None:
    """``trucban poller``: hold leases, poll, publish."""
    from poller.cluster.worker import ClusterPoller
    from trucban.service import confirmation, default_collectors

    inventory = cluster_inventory(settings, inventories, lab_province)
    config = cluster_config(settings)
    excluded = tuple(exclude) or split(settings.edge_communes)
    poller = ClusterPoller(inventory, default_collectors(), plans_for(settings, inventory), config,
                           poller_id=poller_id, concurrency=settings.poll_concurrency,
                           jitter=settings.poll_jitter, exclude_communes=excluded,
                           confirmation=confirmation(settings))
    run_until_signalled(poller.run)


def run_ingest(settings: Settings, inventories: Sequence[Path], lab_province: str | None = None) -> None:
    """``trucban ingest``: results stream → metric store → alerting core (+ notifications)."""
    from poller.cluster.ingest import Ingest
    from store.factory import open_store
    from trucban.alerting_parts import build_alerting

    inventory = cluster_inventory(settings, inventories, lab_province)
    config = cluster_config(settings)
    store = open_store(settings.store)
    parts = build_alerting(settings, inventory, store)

    async def main(stop: asyncio.Event) -> None:
        if parts.notify is not None:
            await parts.notify.start()
        freeze_startup_heap()  # everything built so far lives as long as the process
        try:
            await Ingest(store, parts.core, config).run(stop)
        finally:
            if parts.notify is not None:
                await parts.notify.stop()
            store.close()
            parts.engine.dispose()

    run_until_signalled(main)


def run_edge(settings: Settings, inventories: Sequence[Path], lab_province: str | None = None) -> None:
    """``trucban edge``: poll the post's communes, alert locally, buffer towards the centre.

    The post's notify_routes give its local channel(s).
    """
    from poller.cluster.edge import EdgePoller
    from store.factory import open_store
    from trucban.alerting_parts import build_alerting
    from trucban.service import confirmation, default_collectors

    if not settings.edge_post or not split(settings.edge_communes):
        raise ValueError("an edge post needs edge_post and edge_communes (or --post and --commune)")
    inventory = cluster_inventory(settings, inventories, lab_province)
    store = open_store(settings.store)  # the post's own store (embedded SQLite in data_dir by default)
    parts = build_alerting(settings, inventory, store)
    edge = EdgePoller(inventory, default_collectors(), plans_for(settings, inventory), settings.edge_post,
                      split(settings.edge_communes), settings.edge_nats_url, store, parts.core,
                      buffer_mb=settings.edge_buffer_mb, duplicate_window_s=settings.cluster_dedup_window_s,
                      concurrency=settings.poll_concurrency, jitter=settings.poll_jitter,
                      confirmation=confirmation(settings))

    async def main(stop: asyncio.Event) -> None:
        if parts.notify is not None:
            await parts.notify.start()
        freeze_startup_heap()
        try:
            await edge.run(stop)
        finally:
            if parts.notify is not None:
                await parts.notify.stop()
            store.close()
            parts.engine.dispose()

    run_until_signalled(main)
