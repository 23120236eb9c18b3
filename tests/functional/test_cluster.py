"""Scale-out on real peers: 3 pollers on NATS JetStream, ~60 snmpsim agents, PostgreSQL; kill -9 one.

Proves by counts: the dead poller's partitions are taken over within one
interval, every scheduled poll in the window was delivered exactly once and on
time, every sample delivered is in the metric store, and a staged outage opens
its incident exactly once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from inventory.loader import load_inventory
from lab import outages
from lab.generator import generate_lab
from lab.runner import LabAgents, free_udp_port
from poller.cluster import audit
from poller.cluster.config import CONSUMER, STREAM
from poller.cluster.partitions import Partitioner
from store.sqlite import SqliteMetricStore
from tests.functional.cluster_peers import (
    NatsServer,
    TrucbanProcess,
    consumer_pending,
    lease_owners,
)
from trucban.cluster import plans_for
from trucban.settings import load_settings

pytestmark = pytest.mark.functional
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
INTERVAL = 4.0
PARTITIONS = 16
LEASE_TTL = 2.0


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A throw-away database on the local PostgreSQL."""
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"trucban_cluster_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def wait_for(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    """Poll ``check()`` until true or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def active_incidents(engine: Engine) -> int:
    """Incidents not resolved (-1 before the ingest created the schema)."""
    try:
        with engine.connect() as conn:
            query = text("SELECT count(*) FROM incidents WHERE status != 'resolved'")
            return int(conn.execute(query).scalar_one())
    except Exception:
        return -1


def test_three_pollers_kill_one_exactly_once(tmp_path: Path, pg_url: str) -> None:
    port = free_udp_port()
    layout = generate_lab(tmp_path / "lab", "31", port=port, limit=14)
    inventory = load_inventory(layout.inventory)
    agents = LabAgents(layout.data_dir, layout.state_dir, layout.cache_dir, port=port)
    agents.start(timeout=120)
    hub = NatsServer(tmp_path, "hub").start()
    env = {"TRUCBAN_POLL_INTERVAL_S": str(INTERVAL), "TRUCBAN_HEALTH_INTERVAL_S": str(2 * INTERVAL),
           "TRUCBAN_INVENTORY_INTERVAL_S": "60", "TRUCBAN_CLUSTER_LEASE_TTL_S": str(LEASE_TTL),
           "TRUCBAN_CLUSTER_PARTITIONS": str(PARTITIONS), "TRUCBAN_NOTIFY_ENABLED": "false",
           "TRUCBAN_TRAP_PORT": "0", "TRUCBAN_LOG_LEVEL": "INFO"}
    common = ["--cluster", hub.url, "--inventory", str(layout.inventory)]
    ingest = TrucbanProcess(tmp_path, "ingest", ["ingest", *common], {
        **env, "TRUCBAN_DATA_DIR": str(tmp_path / "central"), "TRUCBAN_DATABASE_URL": pg_url})
    pollers = [TrucbanProcess(tmp_path, f"poller{i}", ["poller", *common, "--id", f"poller{i}"],
                              {**env, "TRUCBAN_DATA_DIR": str(tmp_path / f"p{i}")}) for i in (1, 2, 3)]
    procs = [ingest, *pollers]
    try:
        ingest.start()
        for p in pollers:
            p.start()

        def owners() -> dict[str, str]:
            return asyncio.run(lease_owners(hub.url))

        def spread_over(ids: set[str]) -> bool:
            now = owners()
            return len(now) == PARTITIONS and set(now.values()) == ids

        wait_for(lambda: spread_over({"poller1", "poller2", "poller3"}), 60,
                 "16 partitions shared by 3 pollers:\n" + pollers[0].log_tail())
        window_start = time.time() + INTERVAL
        engine = create_engine(pg_url)
        # start-up load (4 processes importing on a small machine) may time polls out: begin the
        # incident count once the picture is clean
        wait_for(lambda: active_incidents(engine) == 0, 60, "no active incident after start-up")
        since = int(time.time()) - 1
        router = f"c{inventory.watched_communes[3]}-r1"
        outages.cut(layout.state_dir, inventory, router)
        time.sleep(3 * INTERVAL)
        # a takeover finishes the dead poller's slot only within one interval of each poll's due
        # time; timeouts of cut devices would lengthen its cycles past that at a 4 s interval
        outages.restore(layout.state_dir, inventory, router)
        time.sleep(INTERVAL)

        victim = owners()[f"p{0:04d}"]
        killed = next(p for p in pollers if p.name == victim)
        killed.kill9()
        t_kill = time.monotonic()
        alive = {p.name for p in pollers if p is not killed}
        wait_for(lambda: spread_over(alive), INTERVAL + 2, "takeover of the dead poller's partitions")
        takeover_s = time.monotonic() - t_kill
        assert takeover_s < INTERVAL, f"takeover took {takeover_s:.1f} s, more than one interval"
        time.sleep(4 * INTERVAL)
        window_end = time.time() - 0.5
        for p in pollers:
            p.stop()
        wait_for(lambda: asyncio.run(consumer_pending(hub.url, STREAM, CONSUMER)) == 0, 30,
                 "the ingest to drain the stream:\n" + ingest.log_tail())
        ingest.stop()
        assert all(not p.running for p in procs)

        batches = asyncio.run(audit.read_stream(hub.url, STREAM))
        settings = load_settings(None, env={}, poll_interval_s=INTERVAL, health_interval_s=2 * INTERVAL,
                                 inventory_interval_s=60)
        plans = plans_for(settings, inventory)
        devices = [d for name in Partitioner(inventory, PARTITIONS).names()
                   for d in Partitioner(inventory, PARTITIONS).devices(name)]
        polls = audit.audit_polls(batches, plans, devices, (window_start, window_end), settings.poll_jitter)
        assert polls.expected > 300
        assert polls.duplicates == 0
        assert polls.missed_polls == 0, (polls, [p.log_tail() for p in pollers])

        store = SqliteMetricStore(tmp_path / "central" / "metrics.sqlite")
        try:
            assert audit.lost_samples(batches, store) == 0
        finally:
            store.close()
        incidents = audit.audit_incidents(engine, since, {f"device_down:{router}"})
        engine.dispose()
        assert incidents.missed == set(), incidents.by_key
        assert incidents.duplicates == 0, incidents.by_key
    finally:
        for p in procs:
            p.stop(timeout=5)
        hub.stop()
        agents.stop()
