"""Benchmark: one national evaluation cycle of the alerting core.

Synthetic topology (3,321 communes, ~26,800 devices, 4 levels of parents), an
embedded metric store and the alerting database (SQLite by default,
PostgreSQL with ``--pg``). Each cycle 5 % of devices change state (silent ↔
answering, primary links up ↔ down). Measures the whole sink: states parents
first, every rule, incident reconcile and the durable state writes.

    python -m bench.rules [--cycles 20] [--change 0.05] [--pg URL]

Last line: ``rules devices=N evaluations_per_s=X p99_cycle_ms=Y``
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from alerting.core import AlertingCore
from alerting.db import open_database
from collectors.base import PollResult
from inventory.inventory import Inventory
from lab.national import national_inventory
from store.base import Sample
from store.sqlite import SqliteMetricStore
from trucban.heap import freeze_startup_heap

T0 = 1_790_000_000


def cycle_results(inv: Inventory, ts: int, silent: set[str], primary_down: set[str]) -> dict[str, PollResult]:
    """Poll results as the SNMP collector would give them."""
    out: dict[str, PollResult] = {}
    for dev_id in inv.devices:
        if dev_id in silent:
            out[dev_id] = PollResult(dev_id, False, ts, error="timeout", error_kind="timeout")
        elif dev_id.endswith("-r1"):
            tags = {"device": dev_id}
            primary = {"oper_status": 2 if dev_id in primary_down else 1, "admin_status": 1}
            backup = {"oper_status": 1, "admin_status": 1}
            samples = [Sample("snmp_if", {**tags, "if_index": "1"}, primary, ts),
                       Sample("snmp_if", {**tags, "if_index": "2"}, backup, ts)]
            out[dev_id] = PollResult(dev_id, True, ts, samples=samples)
        else:
            out[dev_id] = PollResult(dev_id, True, ts)
    return out


def _churn(rng: random.Random, population: list[str], failed: set[str], n: int) -> set[str]:
    """Change ``n`` members: half of them recover (if any failed), the rest fail; steady ~n failing."""
    recover = set(rng.sample(sorted(failed), min(len(failed), n // 2)))
    healthy = [d for d in population if d not in failed]
    return (failed - recover) | set(rng.sample(healthy, n - len(recover)))


def run(cycles: int, change: float, pg: str | None, seed: int = 7) -> tuple[int, list[float], list[float]]:
    """Evaluate ``cycles`` cycles; return devices, wall and CPU seconds per cycle."""
    rng = random.Random(seed)
    inv = national_inventory()
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteMetricStore(Path(tmp) / "metrics.sqlite")
        engine = open_database(pg or f"sqlite:///{tmp}/alerting.sqlite")
        core = AlertingCore(inv, store, engine)
        freeze_startup_heap()  # as every Trucban process does once it has started
        devices = list(inv.devices)
        routers = [d for d in devices if d.endswith("-r1")]
        silent: set[str] = set()
        primary_down: set[str] = set()
        core(cycle_results(inv, T0, silent, primary_down))  # first cycle: everything comes up
        walls, cpus = [], []
        for i in range(1, cycles + 1):
            silent = _churn(rng, devices, silent, int(len(devices) * change * 0.8))
            primary_down = _churn(rng, routers, primary_down, int(len(devices) * change * 0.2))
            results = cycle_results(inv, T0 + 60 * i, silent, primary_down)
            wall, cpu = time.perf_counter(), time.process_time()
            core(results)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            print(f"cycle {i}: {walls[-1] * 1000:.0f} ms wall, {cpus[-1] * 1000:.0f} ms CPU, "
                  f"{core.last.conditions} conditions, {core.last.changes} changes", flush=True)
        store.close()
        engine.dispose()
    return len(devices), walls, cpus


def main() -> None:
    """Parse options, run, print the summary line."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--change", type=float, default=0.05, help="share of devices changing per cycle")
    parser.add_argument("--pg", help="PostgreSQL URL for the alerting database (default: SQLite)")
    args = parser.parse_args()
    devices, walls, cpus = run(args.cycles, args.change, args.pg)
    p99 = sorted(walls)[max(0, int(len(walls) * 0.99) - 1)] if len(walls) < 100 else \
        statistics.quantiles(walls, n=100)[98]
    mean = statistics.fmean(walls)
    print(f"mean {mean * 1000:.0f} ms wall, {statistics.fmean(cpus) * 1000:.0f} ms CPU per national cycle")
    print(f"rules devices={devices} evaluations_per_s={devices / mean:.0f} p99_cycle_ms={p99 * 1000:.0f}")


if __name__ == "__main__":
    main()
