"""Alert-truth benchmark: seeded random faults against the real service, every mail judged.

Builds the truth harness's network (``tests/functional/truth/``: city core with
two aggregation routers and a DNS pair; per Hải Phòng commune an access router,
switch, BTS and UPS-MIB power system, one snmpsim process each), runs
``trucban run --inventory`` with the shipped notification and confirmation
timers (plan intervals compressed to 10/20/60 s), stages one seeded schedule
per commune — all communes in parallel in one service — until at least
``--faults`` faults are scheduled, listens until every recovery's grace is
over, and judges every mail the SMTP server accepted (tolerances:
``tests/functional/truth/checker.py``). Prints the findings, a per-episode
table and, last:

    truth faults=N messages=M false=F missed=X late=L p95_notify_s=S interval_s=I

``p95_notify_s``: p95 of fault instant → first SMTP accept of its DOWN at its
post. Run: ``.venv/bin/python -m bench.truth [--seed 7] [--faults 200]``
(about 17 minutes for 200 faults); ``--rejudge WORKDIR`` judges a finished
run again from its ``truth-record.json`` and the service's database.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import tempfile
import time
from pathlib import Path

from tests.functional.truth.checker import Report
from tests.functional.truth.harness import RunConfig, TruthRun, rejudge
from tests.functional.truth.schedule import Timing, generate
from tests.functional.truth.world import build_world

MAX_COMMUNES = 120


def communes_for(faults: int, seed: int, timing: Timing, window_s: float) -> int:
    """Fewest communes whose schedules (with a 5 % margin for the run-time phase) hold ``faults``."""
    for n in range(3, MAX_COMMUNES + 1):
        if len(generate(build_world(n), [seed], timing, window_s).faults) >= math.ceil(faults * 1.05):
            return n
    raise SystemExit(f"even {MAX_COMMUNES} communes do not hold {faults} faults in {window_s:.0f} s")


def summary(report: Report) -> str:
    """The benchmark's last line."""
    p95 = report.p95_notify_s
    return (f"truth faults={report.faults} messages={report.incident_mails} false={report.false} "
            f"missed={report.missed} late={report.late} "
            f"p95_notify_s={'nan' if math.isnan(p95) else f'{p95:.1f}'} interval_s={report.timing.poll_s:g}")


def run(seed: int, faults: int, window_s: float, timing: Timing, workdir: Path | None) -> Report:
    """Size the world, run it, return the report (every process is stopped, whatever happens)."""
    communes = communes_for(faults, seed, timing, window_s)
    root = workdir or Path(tempfile.mkdtemp(prefix="trucban-truth-"))
    print(f"truth: seed {seed}, {communes} communes, window {window_s:.0f}s, intervals "
          f"{timing.poll_s:g}/{timing.health_s:g}/{timing.inventory_s:g}s, work dir {root}", flush=True)
    config = RunConfig(seeds=[seed], communes=communes, window_s=window_s, workdir=root, timing=timing,
                       log=lambda line: print(line, flush=True))
    truth = TruthRun(config)
    try:
        return truth.run()
    finally:
        truth.close()


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--faults", type=int, default=200)
    parser.add_argument("--window", type=float, default=600.0, help="seconds over which faults are staged")
    parser.add_argument("--interval", type=float, default=10.0,
                        help="poll interval (health 2×, inventory 6×)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--rejudge", type=Path, default=None, metavar="WORKDIR",
                        help="judge a finished run again from its record (no new run)")
    args = parser.parse_args()
    # SIGTERM/SIGINT (also when started in the background, where SIGINT is ignored) end the run through
    # its ``finally``, so every agent and the service are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    timing = Timing(args.interval, 2 * args.interval, 6 * args.interval)
    started = time.monotonic()
    if args.rejudge:
        report = rejudge(args.rejudge)
    else:
        report = run(args.seed, args.faults, args.window, timing, args.workdir)
    print(report.outage_table())
    print(report.render())
    print(f"wall time {time.monotonic() - started:.0f}s")
    print(summary(report))


if __name__ == "__main__":
    main()
