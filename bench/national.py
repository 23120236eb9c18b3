"""Benchmark: the whole country on one node, end to end.

    .venv/bin/python -m bench.national [--minutes 10] [--rate 200] [--live 50] [--outages 100]

Why: each stage was measured alone; this holds them all at once. One Trucban
node (this process: :func:`trucban.service.build_service` on embedded SQLite
stores, its poller, rules, incidents, notification and web server, exactly as
``trucban run`` assembles them) watches the national lab
(:mod:`lab.national_agents`, ~26,800 devices on loopback, in its own process)
with reachability every ``--interval`` s and the health plans, notifies a
local SMTP server (its own process, :mod:`aiosmtpd`) and serves the
coordinator API under bench.api's open-loop load (another process, ``--rate``
requests/s with ``--live`` live channels open). After the first full cycle,
``--outages`` random communes are staged down over the first half of the run
through the lab's state files (:mod:`lab.outages` / :func:`lab.runner.stage`),
mixed as in a storm: a BTS site cut (BTS and its power system), mains lost at
a BTS site, or, for one in ten, the commune's aggregation router cut (every
commune behind it goes quiet).

Measured over the run after start-up:

- ``cores_used``: CPU seconds of this process (the whole Trucban node; the lab,
  the SMTP server and the load generator are other processes) ÷ wall seconds;
- ``missed_polls``: polls due that never ran: for every plan, cycles that did
  not complete in the window (× its devices) plus devices a completed cycle
  left out; ``late_polls``: the sum of the cycle reports' ``late_polls``
  (``late_cycles`` counts reports with ``late``);
- ``p95_notify_s``: staging of an outage → first e-mail accepted by the SMTP
  server for that commune's command post; ``lost``: outages with no e-mail by
  the end of the run (they count, they are not dropped from the percentile);
- ``api_p99_ms``: bench.api's latencies of successful requests (errors counted
  apart); ``rules_p99_ms``: every :class:`alerting.core.EvaluationReport`
  (the core's ``evaluate`` is wrapped to read each one).

Prints the issue's line last.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def cpu_self() -> float:
    """User+system CPU seconds of this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- SMTP server (child process)


def smtp_worker(port: int, log_path: str) -> None:
    """A real SMTP server (aiosmtpd) on 127.0.0.1:port; one line per accepted mail: epoch, recipients."""
    import asyncio

    from aiosmtpd.controller import Controller

    log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the process

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            log.write(f"{time.time():.3f} {' '.join(envelope.rcpt_tos)}\n")
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


def first_mails(log_path: Path) -> dict[str, float]:
    """Recipient → epoch of the first mail accepted for it."""
    first: dict[str, float] = {}
    try:
        lines = log_path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return first
    for line in lines:
        ts, *rcpts = line.split()
        for rcpt in rcpts:
            first.setdefault(rcpt, float(ts))
    return first


# ---------------------------------------------------------------- API load (child process)


def api_load(url: str, cookies: dict[str, str], rate: float, duration: float, live: int, grace: float,
             out: Any) -> None:
    """Separate process: bench.api's open-loop load, but bounded in time.

    bench.api waits for every request; on a node that falls behind, that wait
    outlasts the run. Here a request still unanswered ``grace`` s after the last
    one was sent counts as answered then (a lower bound of its latency, so it
    stays in the percentile) and in ``unanswered``.
    """
    import asyncio

    out.put(asyncio.run(_api_load(url, cookies, rate, duration, live, grace, out)))


async def _api_load(url: str, cookies: dict[str, str], rate: float, duration: float, live: int,
                    grace: float, out: Any) -> dict[str, Any]:
    import asyncio
    import re

    from bench.api import PROVINCE, _live_channel

    host, port_s = url.removeprefix("http://").split(":")
    port = int(port_s)
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    opened = [asyncio.Event() for _ in range(live)]
    live_events = [0]
    channels = [asyncio.create_task(_live_channel(host, port, cookie, o, live_events)) for o in opened]
    if channels:
        await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), timeout=120)
    out.put("ready")
    paths = (f"/api/coordinator?province={PROVINCE}", f"/coordinator?province={PROVINCE}")
    requests = [(f"GET {p} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nAccept-Encoding: gzip\r\n\r\n"
                 ).encode() for p in paths]
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await asyncio.open_connection(host, port))
    latencies: list[float] = []
    errors = 0

    async def one(request: bytes, started: float) -> None:
        nonlocal errors
        reader, writer = await pool.get()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"(?i)content-length: *([0-9]+)", head)
            if match:
                await reader.readexactly(int(match.group(1)))
            else:  # chunked
                while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                    await reader.readexactly(size + 2)
                await reader.readexactly(2)
            if int(head.split(b" ", 2)[1]) == 200:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                errors += 1
            pool.put_nowait((reader, writer))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            pool.put_nowait(await asyncio.open_connection(host, port))

    t0 = time.perf_counter()
    tasks: list[tuple[float, asyncio.Task[None]]] = []
    for i in range(int(rate * duration)):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        started = time.perf_counter()
        tasks.append((started, asyncio.create_task(one(requests[i % 2], started))))
    await asyncio.wait([t for _, t in tasks], timeout=grace)
    now = time.perf_counter()
    unanswered = [started for started, t in tasks if not t.done()]
    latencies += [(now - started) * 1000 for started in unanswered]
    for _, t in tasks:
        t.cancel()
    for c in channels:
        c.cancel()
    return {"latencies": latencies, "errors": errors, "unanswered": len(unanswered), "sent": len(tasks),
            "elapsed": now - t0, "live_events": live_events[0]}


# ---------------------------------------------------------------- outages


@dataclass
class Outage:
    """One staged outage: which commune's post should hear, when, what was done."""

    commune: str
    kind: str
    at: float
    devices: list[str] = field(default_factory=list)


def stage_outage(state_dir: Path, inventory: Any, commune: str, kind: str) -> Outage:
    """Stage one outage of ``kind`` (bts_site, mains, aggregation) for ``commune`` now."""
    from lab.outages import cut
    from lab.runner import stage

    at = time.time()
    c = f"c{commune}"
    if kind == "mains":
        stage(state_dir, f"{c}-pwr1", mains=False, drain_per_min=2.0)
        return Outage(commune, kind, at, [f"{c}-pwr1"])
    if kind == "aggregation":
        agg = inventory.devices[f"{c}-r1"].parents[0]
        return Outage(commune, kind, at, cut(state_dir, inventory, agg))
    devices = cut(state_dir, inventory, f"{c}-bts1") + cut(state_dir, inventory, f"{c}-pwr1")
    return Outage(commune, kind, at, devices)


def stager(state_dir: Path, province: str | None, communes: list[str], start: float, span: float,
           seed: int, out: Any) -> None:
    """Separate process (its CPU is the lab's, not the node's): stage one outage per commune,
    evenly over ``span`` seconds from ``start``; each goes to ``out`` as it is staged."""
    from lab.national import national_inventory

    inventory = national_inventory(province)  # the same ids as the node's
    rng = random.Random(seed)
    for i, code in enumerate(communes):
        time.sleep(max(0.0, start + span * i / max(1, len(communes)) - time.time()))
        kind = "aggregation" if i % 10 == 9 else rng.choice(("bts_site", "mains"))
        o = stage_outage(state_dir, inventory, code, kind)
        out.put((o.commune, o.kind, o.at, o.devices))


# ---------------------------------------------------------------- measurement


@dataclass
class Watch:
    """What the node reported during the run: cycle reports per plan and evaluation times."""

    cycles: dict[str, list[Any]] = field(default_factory=dict)
    rules_ms: list[float] = field(default_factory=list)

    def sample(self, reports: dict[str, Any]) -> None:
        """Keep every new cycle report (a new object once a cycle ends)."""
        for plan, report in reports.items():
            seen = self.cycles.setdefault(plan, [])
            if report is not None and (not seen or seen[-1] is not report):
                seen.append(report)


def wrap_evaluate(core: Any, watch: Watch) -> None:
    """Record every evaluation's own figure (``core.last.seconds``) without touching alerting."""
    inner = core.evaluate

    def evaluate(results: Any, now: int) -> Any:
        changes = inner(results, now)
        watch.rules_ms.append(core.last.seconds * 1000)
        return changes

    core.evaluate = evaluate


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def poll_figures(watch: Watch, plans: dict[str, tuple[float, int]], t0: float, t1: float
                 ) -> tuple[int, int, int, dict[str, str]]:
    """(missed, late, late_cycles, per-plan summary) for cycles that started in [t0, t1).

    A plan is due ``(t1 - t0) // interval - 1`` complete cycles in the window (the
    last one may still be running at ``t1``).
    """
    missed = late = late_cycles = 0
    summary: dict[str, str] = {}
    for plan, (interval, devices) in plans.items():
        reports = [r for r in watch.cycles.get(plan, []) if t0 <= r.started < t1]
        due = max(0, int((t1 - t0) // interval) - 1)
        missed += max(0, due - len(reports)) * devices
        # a cycle polls the devices up (r.devices); down ones go to the background on a backoff
        missed += sum(max(0, devices - r.devices - r.backoff_polls - r.backoff_skipped) for r in reports)
        late += sum(r.late_polls for r in reports)
        late_cycles += sum(1 for r in reports if r.late)
        worst = max((r.duration_s for r in reports), default=0.0)
        every = watch.cycles.get(plan, [])
        newest = (f"; newest report seen: started {every[-1].started - t0:+.0f} s from the window's start, "
                  f"took {every[-1].duration_s:.0f} s") if every else "; no report seen"
        summary[plan] = (f"{len(reports)}/{due} cycles, {devices} devices, longest {worst:.1f} s, "
                         f"timeouts {sum(r.timeouts for r in reports)}{newest}")
    return missed, late, late_cycles, summary


# ---------------------------------------------------------------- the run


def run(opts: argparse.Namespace) -> int:
    """Stand up lab, SMTP server and node; load, stage, measure; print the line."""
    from api.auth.accounts import AccountStore
    from api.auth.roles import Role
    from bench import api as bench_api
    from bench.snmp_poll import proc_cpu_s
    from lab.national import national_lab_inventory
    from lab.national_agents import NationalAgents
    from lab.ports import free_udp_port
    from trucban.service import build_service
    from trucban.settings import Settings
    from trucban.web import server_key

    minutes, wall = opts.minutes, opts.minutes * 60.0
    with tempfile.TemporaryDirectory(prefix="trucban-bench-national-") as tmp_s:
        tmp = Path(tmp_s)
        state_dir = tmp / "lab-state"
        # the node logs at INFO as ``trucban run`` does, to a file rather than over the bench's output
        logging.basicConfig(filename=tmp / "node.log", level=logging.INFO, force=True)
        started = time.perf_counter()
        lab = NationalAgents(state_dir, province=opts.province, log_path=tmp / "lab.log")
        lab.start()
        smtp_port, http_port = bench_api._free_port(), bench_api._free_port()
        mail_log = tmp / "mails.log"
        sink = subprocess.Popen([sys.executable, "-m", "bench.national", "--smtp-worker", str(smtp_port),
                                 str(mail_log)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        server = None
        try:
            assert sink.stdout is not None
            sink.stdout.readline()
            inventory = national_lab_inventory(lab.port, province=opts.province, timeout_s=2.0, retries=1)
            settings = Settings(
                data_dir=tmp / "node", http_port=http_port, poll_interval_s=opts.interval,
                health_interval_s=opts.interval, trap_port=0, lab_services=False, reports_enabled=False,
                smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_starttls=False, smtp_verify=False,
                noc_email="noc@lab.invalid", log_level="WARNING", lab_port=free_udp_port())
            service = build_service(settings, inventory)
            watch = Watch()
            wrap_evaluate(service.alerting, watch)
            AccountStore(service.alerting.engine, server_key(settings)).create_user(
                "bench", bench_api.PASSWORD, Role.COORDINATOR)
            cpu0_setup = cpu_self()
            server = bench_api.serve(service.app(), http_port)
            url = f"http://127.0.0.1:{http_port}"
            plans = {name: (cycle.interval_s, len(cycle.devices()))
                     for name, cycle in service.cycle.cycles.items() if cycle.devices()}
            print(f"# {len(inventory.devices)} devices, {len(inventory.watched_communes)} communes, plans "
                  f"{ {k: v[1] for k, v in plans.items()} }; set up in {time.perf_counter() - started:.1f} s",
                  flush=True)
            # warm-up: the first cycle of the reachability and health plans fills the states (all up)
            # before anything is measured (the slower inventory plan keeps running)
            warm = [name for name, (interval, _) in plans.items() if interval <= opts.interval]
            deadline = time.monotonic() + opts.interval + 120
            while time.monotonic() < deadline and not all(service.cycle.reports()[n] for n in warm):
                time.sleep(0.5)
            client = bench_api.login(url)
            t0, cpu0, lab_cpu0 = time.time(), cpu_self(), proc_cpu_s(lab.pid or 0)
            print(f"# warm: first cycles done ({cpu0 - cpu0_setup:.1f} CPU s); measuring {minutes} min",
                  flush=True)
            ctx = mp.get_context("spawn")
            queue: mp.Queue = ctx.Queue()
            load = ctx.Process(target=api_load, daemon=True,
                               args=(url, dict(client.cookies), opts.rate, wall - 30, opts.live, 25.0, queue))
            load.start()
            outages: list[Outage] = []
            rng = random.Random(opts.seed)
            communes = rng.sample(sorted({inventory.commune_of(d) for d in inventory.devices
                                          if d.endswith("-r1")}), opts.outages)
            staged: mp.Queue = ctx.Queue()
            staging = ctx.Process(target=stager, daemon=True, args=(
                state_dir, opts.province, communes, t0 + 5, wall / 2, opts.seed, staged))
            staging.start()
            result: dict[str, Any] | None = None
            while time.time() < t0 + wall:
                watch.sample(service.cycle.reports())
                if result is None and not queue.empty():
                    got = queue.get()
                    result = got if isinstance(got, dict) else None
                while not staged.empty():
                    outages.append(Outage(*staged.get()))
                time.sleep(0.5)
            t1, cpu1, lab_cpu1 = time.time(), cpu_self(), proc_cpu_s(lab.pid or 0)
            staging.terminate()
            if result is None:
                result = _result(queue, 120)
            load.join(timeout=10)
            watch.sample(service.cycle.reports())
            client.close()
        finally:
            if server is not None:
                server.should_exit = True
                time.sleep(1.0)
            sink.terminate()
            sink.wait(timeout=10)
            lab.stop()
        mails = first_mails(mail_log)
        log_lines = sum(1 for _ in (tmp / "node.log").open(encoding="utf-8", errors="replace"))
    cores = (cpu1 - cpu0) / (t1 - t0)
    missed, late, late_cycles, summary = poll_figures(watch, plans, t0, t1)
    delays, lost = [], 0
    for o in outages:
        first = mails.get(f"trucban.{o.commune}@lab.invalid")
        if first is None or first < o.at:
            lost += 1
        else:
            delays.append(first - o.at)
    lat = result.get("latencies", []) if result else []
    for plan, text in summary.items():
        print(f"# plan {plan}: {text}")
    kinds = ", ".join(f"{k} {sum(o.kind == k for o in outages)}" for k in ("bts_site", "mains",
                                                                           "aggregation"))
    print(f"# outages staged {len(outages)} ({kinds}), "
          f"notified {len(delays)}, median {statistics.median(delays) if delays else 0:.1f} s, "
          f"max {max(delays, default=0):.1f} s; e-mails accepted {len(mails)} recipients")
    api = (f"{result['sent']} sent, {result['unanswered']} unanswered (counted at 25 s after the last "
           f"send), {result['errors']} errors" if result else "no result")
    print(f"# api: {api}; "
          f"rules: {len(watch.rules_ms)} evaluations, max {max(watch.rules_ms, default=0):.0f} ms; "
          f"late cycles {late_cycles}; node log {log_lines} lines; "
          f"lab responder {(lab_cpu1 - lab_cpu0) / (t1 - t0):.2f} cores")
    print(f"national devices={len(inventory.devices)} interval_s={opts.interval:g} minutes={minutes:g} "
          f"cores_used={cores:.2f} missed_polls={missed} late_polls={late} "
          f"p95_notify_s={percentile(delays, 0.95):.1f} api_p99_ms={percentile(lat, 0.99):.1f} "
          f"rules_p99_ms={percentile(watch.rules_ms, 0.99):.1f} lost={lost}")
    return 0


def _result(queue: mp.Queue, timeout: float) -> dict[str, Any] | None:
    """The load generator's result (skipping its "ready")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = queue.get(timeout=max(0.1, deadline - time.monotonic()))
        except Empty:
            return None
        if isinstance(got, dict):
            return got
    return None


def main(argv: list[str] | None = None) -> int:
    """Parse options and run (or, with ``--smtp-worker``, be the SMTP server)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="measured minutes after the warm-up")
    ap.add_argument("--interval", type=float, default=60.0, help="reachability and health interval, s")
    ap.add_argument("--rate", type=float, default=200.0, help="API requests per second (open loop)")
    ap.add_argument("--live", type=int, default=50, help="live channels held open")
    ap.add_argument("--outages", type=int, default=100, help="communes staged down during the run")
    ap.add_argument("--province", default=None, help="one province only (smoke runs)")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--smtp-worker", nargs=2, metavar=("PORT", "LOG"), help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.smtp_worker:
        smtp_worker(int(opts.smtp_worker[0]), opts.smtp_worker[1])
        return 0
    return run(opts)


if __name__ == "__main__":
    sys.exit(main())
