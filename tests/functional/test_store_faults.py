"""Nothing lost: stop the store mid-stream, keep polling, restart it, count every sample.

The stream is what the poller writes: one reachability sample per device per
cycle. Each test proves by count that every sample arrived exactly once, and
that the spool (not luck) carried them across the outage.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from store.base import Sample
from store.factory import open_store
from store.influx import InfluxMetricStore
from store.spool.segments import Spool
from store.spool.spooling import SpoolingStore
from tests.functional import store_servers
from tests.functional.store_servers import InfluxServer, Server, VictoriaServer, free_port
from trucban.settings import load_settings

pytestmark = pytest.mark.functional
influxdb, victoria = store_servers.influxdb, store_servers.victoria  # the server fixtures, for this module
T0 = 1_767_225_600
DEVICES = 50
CYCLES = 60
ROOT = Path(__file__).resolve().parents[2]


def cycle(k: int) -> list[Sample]:
    return [Sample("reachability", {"province": "31", "commune": f"c{d % 5}", "device": f"d{d}",
                                    "role": "bts"}, {"up": (d + k) % 2, "latency_ms": 1.0 + d}, T0 + 30 * k)
            for d in range(DEVICES)]


def quick_influx(url: str, **kwargs: object) -> InfluxMetricStore:
    """Fail fast while the server is down: the spool is the retry that matters here."""
    return InfluxMetricStore(url, max_retries=1, retry_interval_s=0.05, max_retry_time_s=1.0, timeout_s=2.0,
                             **kwargs)  # type: ignore[arg-type]


def spooling(backend: InfluxMetricStore, tmp_path: Path) -> SpoolingStore:
    return SpoolingStore(backend, Spool(tmp_path / "spool", 64 * 2**20), retry_initial_s=0.1, retry_max_s=0.5)


def stream_through_outage(store: SpoolingStore, server: Server) -> int:
    """Write CYCLES cycles; the server is down for the middle third. The deepest spool seen."""
    deepest = 0
    for k in range(CYCLES):
        if k == CYCLES // 3:
            server.stop()
        if k == 2 * CYCLES // 3:
            server.start()
        store.write(cycle(k))
        deepest = max(deepest, store.spool_depth())
        time.sleep(0.02)
    assert store.wait_drained(timeout=90), store.state()
    return deepest


def test_influxdb_v1_outage_loses_nothing_and_counts_once(influxdb: InfluxServer, tmp_path: Path) -> None:
    influxdb.query('CREATE DATABASE "outage"')
    backend = quick_influx(influxdb.url, database="outage")
    store = spooling(backend, tmp_path)
    try:
        deepest = stream_through_outage(store, influxdb)
        assert backend.api == "v1"  # 1.6.7 has no /api/v2/write
        assert deepest >= (CYCLES // 3 - 1) * DEVICES  # the outage went through the spool
        assert influxdb.count("outage", "reachability", "up") == CYCLES * DEVICES
        assert influxdb.count("outage", "reachability", "latency_ms") == CYCLES * DEVICES
        per_device = store.availability(T0, T0 + 30 * CYCLES)
        assert {a.total for a in per_device.values()} == {CYCLES}
        assert sum(a.up for a in per_device.values()) == CYCLES * DEVICES // 2
        assert store.state().backend_ok and store.spool_depth() == 0
        assert not list((tmp_path / "spool").glob("rejected*"))
    finally:
        store.close()


def test_v2_write_path_outage_loses_nothing_and_counts_once(victoria: VictoriaServer, tmp_path: Path) -> None:
    backend = quick_influx(victoria.url, bucket="outage", batch_size=700)
    store = spooling(backend, tmp_path)
    try:
        deepest = stream_through_outage(store, victoria)
        assert backend.api == "v2"
        assert deepest >= (CYCLES // 3 - 1) * DEVICES
        assert victoria.count("reachability_up") == CYCLES * DEVICES
        assert victoria.count("reachability_latency_ms") == CYCLES * DEVICES
    finally:
        store.close()


def test_server_killed_hard_mid_stream(influxdb: InfluxServer, tmp_path: Path) -> None:
    """SIGKILL, not a clean stop: what InfluxDB acknowledged is in its WAL; the rest is spooled."""
    influxdb.query('CREATE DATABASE "crash"')
    store = spooling(quick_influx(influxdb.url, database="crash"), tmp_path)
    stopped = influxdb.stop
    try:
        influxdb.stop = lambda sig=signal.SIGKILL: stopped(sig)  # type: ignore[method-assign]
        stream_through_outage(store, influxdb)
    finally:
        influxdb.stop = stopped  # type: ignore[method-assign]
        store.close()
    assert influxdb.count("crash", "reachability", "up") == CYCLES * DEVICES


def wait_line(proc: subprocess.Popen[str], want: Callable[[str], bool], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            raise AssertionError(f"writer ended early: {proc.stderr.read() if proc.stderr else ''}")
        if want(line):
            return line
    raise AssertionError("writer too slow")


def test_kill_9_while_spooling_keeps_the_spool(influxdb: InfluxServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: every write is spooled
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.functional.store_servers", "writer", str(data), dead, str(DEVICES),
         str(T0)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    acked = 0
    try:
        wait_line(proc, lambda line: line.startswith("acked 40"), timeout=60)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.stdout is not None
        for line in proc.stdout.read().splitlines() + ["acked 40"]:
            if line.startswith("acked "):
                acked = max(acked, int(line.split()[1]))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert any((data / "spool").glob("*.seg"))

    influxdb.query('CREATE DATABASE "afterkill"')
    settings = load_settings(env={}, data_dir=data, influx_url=influxdb.url, influx_database="afterkill")
    store = open_store(settings.store)
    try:
        assert store.spool_depth() >= acked * DEVICES  # every acknowledged batch survived the kill
        assert store.wait_drained(timeout=60), store.state()
    finally:
        store.close()
    count = influxdb.count("afterkill", "reachability", "up")
    assert count % DEVICES == 0  # whole batches only: a torn last record is cut, never half-applied
    assert acked * DEVICES <= count <= (acked + 1) * DEVICES  # +1: appended but killed before it said so
