"""Edge command post on real peers: a NATS leaf node behind a cuttable WAN, snmpsim, local SQLite alerting.

While the link to the hub is cut the post keeps polling, opens its incident
locally, and the hub receives nothing; when the link returns the hub's stream
gets every batch, in order, once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import nats
import pytest

from alerting.core import AlertingCore
from alerting.db import open_database
from inventory.loader import load_inventory
from lab import outages
from lab.generator import generate_lab
from lab.runner import LabAgents, free_udp_port
from poller.cluster import audit
from poller.cluster.config import ClusterConfig
from poller.cluster.edge import EdgePoller
from poller.cluster.streams import ensure_results_stream
from poller.scheduler import snmp_plans
from store.sqlite import SqliteMetricStore
from tests.functional.cluster_peers import NatsServer, TcpProxy
from trucban.service import default_collectors

pytestmark = pytest.mark.functional
INTERVAL = 3.0


async def stream_count(url: str, stream: str) -> int:
    """Messages in a hub stream."""
    nc = await nats.connect(url)
    try:
        return int((await nc.jetstream().stream_info(stream)).state.messages)
    finally:
        await nc.close()


def test_edge_post_alerts_locally_and_forwards_in_order_after_a_cut(tmp_path: Path) -> None:
    port = free_udp_port()
    layout = generate_lab(tmp_path / "lab", "31", port=port, limit=3)
    inventory = load_inventory(layout.inventory)
    commune = inventory.watched_communes[1]
    agents = LabAgents(layout.data_dir, layout.state_dir, layout.cache_dir, port=port)
    agents.start(timeout=120)
    hub = NatsServer(tmp_path, "hub")
    proxy = TcpProxy(hub.leaf_port or 0).start()
    hub.leaf_advertise = f"127.0.0.1:{proxy.port}"
    hub.start()
    edge_nats = NatsServer(tmp_path, "edge", domain="edge-hb", leaf_listen=False,
                           hub_leaf_url=proxy.url).start()
    config = ClusterConfig(url=hub.url, edges=("hb",), lease_ttl_s=2)
    store = SqliteMetricStore(tmp_path / "edge-metrics.sqlite")
    core = AlertingCore(inventory, store, open_database(f"sqlite:///{tmp_path / 'edge-alerting.sqlite'}"),
                        timezone=ZoneInfo("Asia/Ho_Chi_Minh"))
    plans = snmp_plans(inventory.credentials, INTERVAL, 2 * INTERVAL, 60)[:1]
    edge = EdgePoller(inventory, default_collectors(), plans, "hb", [commune], edge_nats.url, store, core)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(edge.run(stop)), daemon=True)
    try:
        async def hub_stream() -> None:
            nc = await nats.connect(hub.url)
            await ensure_results_stream(nc.jetstream(), config, manage_sources=True)
            await nc.close()

        asyncio.run(hub_stream())
        thread.start()
        deadline = time.monotonic() + 30
        while asyncio.run(stream_count(hub.url, config.stream)) < 2:
            assert time.monotonic() < deadline, "no edge batch reached the hub"
            time.sleep(0.3)

        proxy.set_cut(True)
        time.sleep(1)
        before = asyncio.run(stream_count(hub.url, config.stream))
        router = f"c{commune}-r1"
        outages.cut(layout.state_dir, inventory, router)
        deadline = time.monotonic() + 20
        while f"device_down:{router}" not in core.incidents.active():
            assert time.monotonic() < deadline, "the post did not alert locally during the cut"
            time.sleep(0.3)
        time.sleep(2 * INTERVAL)
        assert asyncio.run(stream_count(hub.url, config.stream)) == before  # nothing crossed the cut WAN
        outages.restore(layout.state_dir, inventory, router)

        proxy.set_cut(False)
        time.sleep(2 * INTERVAL)
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=20)
        published = edge.publisher.published if edge.publisher else 0
        deadline = time.monotonic() + 30
        while asyncio.run(stream_count(hub.url, config.stream)) < published:
            assert time.monotonic() < deadline, "the backlog was not forwarded after the link returned"
            time.sleep(0.3)
        batches = asyncio.run(audit.read_stream(hub.url, config.stream))
        assert len(batches) == published
        slots = [b.slot for b in batches]
        assert slots == sorted(slots) and len(set(slots)) == len(slots)  # in order, once each
        assert slots[-1] - slots[0] + 1 == len(slots)  # no slot lost across the cut
    finally:
        if thread.is_alive():
            loop.call_soon_threadsafe(stop.set)
            thread.join(timeout=10)
        store.close()
        core.engine.dispose()
        edge_nats.stop()
        proxy.stop()
        hub.stop()
        agents.stop()
