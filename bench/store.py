"""Benchmark: a day of poll samples into each metric store, and a spool replay.

Samples are what the poller writes, with production tags (province, commune,
site, device, role, if_index) from the synthetic Hải Phòng inventory: per
device per 30 s cycle a ``reachability`` point, an ``snmp_system`` point, two
``snmp_if`` rows (7 fields) and, for BTS power systems, a ``ups`` point. A
full day (2,880 cycles) for ``--devices`` devices is written in cycle order in
batches of ``--batch`` points, the way a national poll cycle (~120,000 points)
or an outage replay reaches the store.

Backends, each started here when its Debian package is installed:
- InfluxDB 1.6.7 (v1 ``/write``, gzip) and VictoriaMetrics (influxdb-client's
  v2 write API, gzip): the InfluxDB-protocol figure is the slower of the two;
- the embedded SQLite store;
- the spool: the same day spooled while the store is down, then timed from
  the store's return until the spool is drained into it (VictoriaMetrics when
  available, else SQLite).

Every run checks that the stores hold exactly the points written.

    python -m bench.store [--devices 60] [--hours 24] [--batch 5000]

Last line: ``store influx_points_per_s=A sqlite_points_per_s=B spool_replay_points_per_s=C``
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

from lab.national import national_inventory
from poller.cycle import device_tags
from store.base import Availability, MetricStore, Point, Sample, StoreUnavailable
from store.influx import InfluxMetricStore
from store.spool.segments import Spool
from store.spool.spooling import SpoolingStore
from store.sqlite import SqliteMetricStore
from tests.functional.store_servers import INFLUXD, VICTORIA, InfluxServer, Server, VictoriaServer

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
INTERVAL_S = 30
S = TypeVar("S", bound=Server)


def day(devices: int, hours: float, batch: int) -> Iterator[list[Sample]]:
    """The samples of ``hours`` of polling, in cycle order, ``batch`` points at a time."""
    inventory = national_inventory("31")
    chosen = list(inventory.devices.values())[:devices]
    tags = [(device_tags(inventory, d), d.role.value) for d in chosen]
    rng = random.Random(31)
    pending: list[Sample] = []
    for k in range(int(hours * 3600 / INTERVAL_S)):
        ts = T0 + INTERVAL_S * k
        for base, role in tags:
            reach = {"up": 0 if rng.random() < 0.01 else 1, "latency_ms": round(rng.uniform(1, 40), 2)}
            pending.append(Sample("reachability", base, reach, ts))
            pending.append(Sample("snmp_system", base, {"uptime_ticks": 100 * INTERVAL_S * k + 12345}, ts))
            for if_index in ("1", "2"):
                pending.append(Sample("snmp_if", {**base, "if_index": if_index}, {
                    "oper_status": 1, "admin_status": 1, "in_octets": 10**9 + 3_750_000 * k,
                    "out_octets": 10**9 + 1_250_000 * k, "in_errors": 0, "out_errors": 0,
                    "high_speed_mbps": 1000}, ts))
            if role == "power":
                pending.append(Sample("ups", base, {"battery_status": 2, "seconds_on_battery": 0,
                                                    "minutes_remaining": 240, "charge_pct": 100,
                                                    "output_source": 3}, ts))
            if len(pending) >= batch:
                yield pending
                pending = []
    if pending:
        yield pending


def write_all(store: MetricStore, batches: list[list[Sample]], count: Callable[[], int]) -> float:
    """Points per second of writing every batch (making samples is not timed); checks and closes."""
    started = time.perf_counter()
    for b in batches:
        store.write(b)
    rate = sum(map(len, batches)) / (time.perf_counter() - started)
    expected = sum(1 for b in batches for s in b if s.measurement == "reachability")
    try:  # a TSDB makes fresh points searchable within a moment (VictoriaMetrics: ~1 s); not timed
        deadline = time.monotonic() + 10
        while (stored := count()) != expected and time.monotonic() < deadline:
            time.sleep(0.5)
        assert stored == expected, f"{stored} reachability points stored, {expected} written"
    finally:
        store.close()
    return rate


def sqlite_count(store: SqliteMetricStore) -> Callable[[], int]:
    return lambda: sum(a.total for a in store.availability(T0, T0 + 10**8).values())


class Switch:
    """A backend that can be made unreachable, for the spool run."""

    def __init__(self, backend: MetricStore) -> None:
        self.backend = backend
        self.down = True

    def write(self, samples: Sequence[Sample]) -> None:
        if self.down:
            raise StoreUnavailable("switched off for the benchmark")
        self.backend.write(samples)

    def latest(self, measurement: str, where: Mapping[str, str] | None = None) -> list[Point]:
        return self.backend.latest(measurement, where)

    def range(self, *args: object) -> list[Point]:
        return self.backend.range(*args)  # type: ignore[arg-type]

    def aggregate(self, *args: object) -> list[Point]:
        return self.backend.aggregate(*args)  # type: ignore[arg-type]

    def availability(self, *args: object) -> dict[str, Availability]:
        return self.backend.availability(*args)  # type: ignore[arg-type]

    def close(self) -> None:
        self.backend.close()


def spool_replay(backend: MetricStore, batches: list[list[Sample]], directory: Path,
                 count: Callable[[], int]) -> float:
    """Spool every batch while the backend is down; points/s from its return to an empty spool."""
    switch = Switch(backend)
    store = SpoolingStore(switch, Spool(directory, max_bytes=16 * 2**30), retry_initial_s=3600,
                          retry_max_s=3600)
    for b in batches:
        store.write(b)
    total = store.spool_depth()
    assert total == sum(map(len, batches)), (total, store.state())
    switch.down = False
    started = time.perf_counter()
    store.retry_now()  # rather than at the flusher's next backoff step: the clock runs from now
    assert store.wait_drained(timeout=3600), store.state()
    rate = total / (time.perf_counter() - started)
    expected = sum(1 for b in batches for s in b if s.measurement == "reachability")
    try:
        assert count() == expected, f"{count()} reachability points replayed, {expected} spooled"
    finally:
        store.close()
    return rate


def started(stack: ExitStack, server: S) -> S:
    server.start()
    stack.callback(server.stop)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=60)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    batches = list(day(args.devices, args.hours, args.batch))
    print(f"day: {args.devices} devices × {int(args.hours * 3600 / INTERVAL_S)} cycles = "
          f"{sum(map(len, batches))} points in batches of {args.batch}", flush=True)
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        if shutil.which(INFLUXD):
            influx = started(stack, InfluxServer(root / "influxdb"))
            influx.query('CREATE DATABASE "bench"')
            rates["influxdb 1.6.7, v1 /write"] = write_all(
                InfluxMetricStore(influx.url, database="bench"), batches,
                lambda: influx.count("bench", "reachability", "up"))
            influx.stop()
        if shutil.which(VICTORIA):
            vm = started(stack, VictoriaServer(root / "victoria"))
            rates["victoria-metrics, v2 write API"] = write_all(
                InfluxMetricStore(vm.url, bucket="bench"), batches, lambda: vm.count("reachability_up"))
            vm.stop()
        sqlite = SqliteMetricStore(root / "metrics.sqlite")
        rates["embedded sqlite"] = write_all(sqlite, batches, sqlite_count(sqlite))
        if shutil.which(VICTORIA):  # replay into a fresh server, so the count proves the replay
            target = "victoria-metrics"
            fresh = started(stack, VictoriaServer(root / "victoria-replay"))
            replay = spool_replay(InfluxMetricStore(fresh.url, bucket="bench"), batches, root / "spool",
                                  lambda: fresh.count("reachability_up"))
        else:
            target = "embedded sqlite"
            other = SqliteMetricStore(root / "replay.sqlite")
            replay = spool_replay(other, batches, root / "spool", sqlite_count(other))
    for what, rate in rates.items():
        print(f"  {what:34s} {rate:>10,.0f} points/s")
    print(f"  {'spool replay into ' + target:34s} {replay:>10,.0f} points/s")
    influx_rate = min((r for k, r in rates.items() if "sqlite" not in k), default=0.0)
    print(f"store influx_points_per_s={influx_rate:.0f} sqlite_points_per_s={rates['embedded sqlite']:.0f} "
          f"spool_replay_points_per_s={replay:.0f}")


if __name__ == "__main__":
    main()
