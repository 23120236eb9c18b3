"""Benchmark: a month's availability report for the synthetic national inventory.

Builds the national inventory (3,321 communes, ~26,800 devices, four levels of
parents), writes 30 days of state history at 60 s resolution into the
alerting database (SQLite by default, PostgreSQL with ``--pg URL``): a few
outages per device, maintenance windows, aggregation routers failing with all
their descendants unreachable, communes on backup and BTS sites on battery.
Then times what the dashboard and the monthly job do: the report (every
device, attribution to parents, backup/battery, indicators), pooled by commune,
role and operator, and the CSV export. Nothing else runs.

    python -m bench.report [--days 30] [--province 31] [--pg URL]

Last line: ``report devices=N seconds=S``
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, insert

from alerting.db import incidents, open_database
from alerting.history import state_history
from inventory.inventory import Inventory
from lab.national import national_inventory
from reports import build_report
from reports.export import groups_csv

T0 = 1_790_000_000 - 1_790_000_000 % 86400
STEP = 60


def history_rows(inv: Inventory, start: int, end: int, rng: random.Random) -> list[dict[str, object]]:
    """State-history rows for every device and link over [start, end), at ``STEP`` resolution."""
    timelines: dict[str, list[tuple[int, str]]] = {d: [(start, "up")] for d in inv.devices}
    slots = (end - start) // STEP

    def put(dev: str, a: int, b: int, status: str) -> None:
        timelines[dev] += [(a, status), (b, "up")]

    for dev in inv.devices:  # a few outages of 1–90 minutes per device
        for _ in range(rng.randint(0, 3)):
            a = start + rng.randrange(slots - 100) * STEP
            put(dev, a, a + rng.randint(1, 90) * STEP, "down")
        if rng.random() < 0.05:  # planned maintenance, two hours
            a = start + rng.randrange(slots - 200) * STEP
            put(dev, a, a + 120 * STEP, "maintenance")
    children = inv.children
    aggs = [d for d in inv.devices if "-agg" in d]
    for agg in rng.sample(aggs, k=max(1, len(aggs) // 10)):  # a tenth of aggregation routers fail for 1 h
        a = start + rng.randrange(slots - 100) * STEP
        put(agg, a, a + 60 * STEP, "down")
        stack = list(children.get(agg, ()))
        while stack:
            dev = stack.pop()
            stack.extend(children.get(dev, ()))
            put(dev, a, a + 60 * STEP, "unreachable")
    rows: list[dict[str, object]] = []
    for dev, events in timelines.items():
        events.sort()
        merged: list[tuple[int, str]] = []
        for ts, status in events:  # later events win; drop repeats of the same status
            if merged and merged[-1][0] == ts:
                merged[-1] = (ts, status)
            elif not merged or merged[-1][1] != status:
                merged.append((ts, status))
        for i, (ts, status) in enumerate(merged):
            rows.append({"subject": dev, "status": status, "started_at": ts,
                         "ended_at": merged[i + 1][0] if i + 1 < len(merged) else None, "reason": "bench"})
    for link in inv.links.values():
        rows.append({"subject": f"link:{link.id}", "status": "up", "started_at": start, "ended_at": None,
                     "reason": "bench"})
    return rows


def incident_rows(inv: Inventory, start: int, end: int, rng: random.Random) -> list[dict[str, object]]:
    """link_on_backup for 5 % of communes and bts_on_battery for 5 % of power systems."""
    out: list[dict[str, object]] = []
    communes = inv.watched_communes
    powers = [d for d in inv.devices.values() if d.role.value == "power"]
    picks = [("link_on_backup", code, f"c{code}-r1") for code in rng.sample(communes, len(communes) // 20)]
    picks += [("bts_on_battery", inv.sites[d.site].commune, d.id)
              for d in rng.sample(powers, len(powers) // 20)]
    for kind, commune, device in picks:
        a = start + rng.randrange((end - start) // STEP - 300) * STEP
        out.append(dict(key=f"{kind}:{device}", kind=kind, severity=2, status="resolved", title=kind,
                        why="bench", runbook=f"runbooks/{kind}.md", province="", commune=commune, site=None,
                        device=device, affected=[], details={}, opened_at=a, updated_at=a,
                        resolved_at=a + rng.randint(5, 240) * 60))
    return out


def load(engine: Engine, inv: Inventory, start: int, end: int, seed: int = 7) -> int:
    """Fill the database; returns the number of state-history rows."""
    rng = random.Random(seed)
    rows = history_rows(inv, start, end, rng)
    with engine.begin() as conn:
        for i in range(0, len(rows), 20_000):
            conn.execute(insert(state_history), rows[i:i + 20_000])
        conn.execute(insert(incidents), incident_rows(inv, start, end, rng))
    return len(rows)


def main() -> None:
    """Run the benchmark and print its result line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--province", default=None, help="one province only (smaller, for a smoke run)")
    parser.add_argument("--pg", default=None, help="PostgreSQL URL instead of a SQLite file")
    args = parser.parse_args()
    inv = national_inventory(args.province)
    start, end = T0, T0 + args.days * 86400
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        engine = open_database(args.pg or f"sqlite:///{Path(tmp) / 'alerting.sqlite'}")
        t = time.perf_counter()
        n = load(engine, inv, start, end)
        print(f"loaded {n} state-history rows for {len(inv.devices)} devices, {args.days} days "
              f"({time.perf_counter() - t:.1f} s)", flush=True)
        t = time.perf_counter()
        report = build_report(engine, inv, start, end, now=end)
        compute = time.perf_counter() - t
        pooled = {by: len(report.groups(by)) for by in ("commune", "role", "operator", "province")}
        csv_bytes = len(groups_csv(report, "commune").encode())
        seconds = time.perf_counter() - t
        total = report.total()
        print(f"compute {compute:.2f} s; groups {pooled}; commune CSV {csv_bytes} bytes")
        print(f"network availability {100 * (total.availability or 0):.3f} %, outages {total.outages}, "
              f"MTTR {(total.mttr_s or 0) / 60:.1f} min; communes with a BTS up all month "
              f"{report.indicators.communes_bts_up_throughout}/{report.indicators.communes_with_bts}")
        engine.dispose()
    print(f"report devices={len(inv.devices)} seconds={seconds:.2f}")


if __name__ == "__main__":
    main()
