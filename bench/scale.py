"""Scale-out load and fault run: a simulated network, ≥ 3 pollers, an edge post, kill -9, WAN cut, restarts.

Starts its own peers: the simulated network, a NATS hub and an edge leaf node
(behind a cuttable TCP link), the central ingest (SQLite metric store,
alerting on a throw-away PostgreSQL database on the local server) and the
pollers, all as real ``trucban`` processes. During the run it stages outages
on a few access routers, kills one poller with SIGKILL, cuts the edge post's
link to the hub for a while, kills the hub's nats-server with SIGKILL and
starts it again on the same JetStream store, and restarts PostgreSQL. Then it
proves by counts (``poller/cluster/audit.py``): every poll due in the window
was delivered once and less than one interval late, every delivered sample is
in the store, every staged outage opened exactly one incident.

The network is either snmpsim province labs (the default, ``--provinces``;
the processes read each lab's inventory YAML) or, with ``--national``, the
national lab: every province (~26,800 devices, or one with ``--province``)
answered by one asyncio responder (:class:`lab.national_agents.NationalAgents`)
and built in memory by every process (``trucban poller|ingest|edge --lab
national --lab-port P``, :func:`lab.national.national_lab_inventory`). The
edge post runs in both modes (one commune of the lab).

Defaults are sized for a few minutes on a small shared machine (2 provinces,
~1,000 devices, 30 s interval, 4 min measured); ``--provinces`` with more codes
and ``--minutes 10`` is the full-size run; the nation is::

    .venv/bin/python -m bench.scale --national --interval 60 --minutes 10

Besides the poll and incident counts it prints the ingest's samples/s over the
window and its CPU share (CPU seconds ÷ wall seconds, of one core: the ingest
is one Python thread), the implied capacity and the backlog left at the end,
and the other processes' CPU shares. Last line::

    scale devices=N pollers=P polls_per_s=X missed_polls=M lost_samples=L duplicate_incidents=D
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.snmp_poll import proc_cpu_s
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab import outages
from lab.generator import generate_lab
from lab.runner import LabAgents, free_udp_port
from poller.cluster import audit
from poller.cluster.config import CONSUMER, STREAM
from poller.cluster.messages import PollBatch
from poller.cluster.partitions import merge_inventories
from store.sqlite import SqliteMetricStore
from tests.functional.cluster_peers import (
    NatsServer,
    TcpProxy,
    TrucbanProcess,
    consumer_pending,
    lease_owners,
)
from trucban.cluster import plans_for
from trucban.settings import load_settings

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
START_S = 600.0  # bound on the partitions being shared after start (the nation loads in every process)
DRAIN_S = 600.0  # bound on the ingest draining the stream after the window


def log(msg: str) -> None:
    """Progress on stdout."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def restart_postgres() -> float:
    """Restart the local PostgreSQL cluster (benchmark only); seconds it took."""
    started = time.monotonic()
    version = sorted(Path(p).name for p in glob.glob("/etc/postgresql/*"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return time.monotonic() - started


@dataclass
class Lab:
    """The simulated network under the run, whichever kind serves it."""

    inventory: Inventory
    args: list[str]  # what every trucban process is given to build this same inventory
    state_dir_of: Callable[[str], Path]  # device id → the state dir its agent reads (for outages)
    edge_commune: str  # the commune the edge post polls (the pollers leave it out)
    pids: dict[str, int] = field(default_factory=dict)  # the lab's own processes, for their CPU share


def province_labs(root: Path, provinces: str, limit: int | None, stops: list[Callable[[], None]]) -> Lab:
    """One generated snmpsim lab per province code; the processes read their inventory YAML files."""
    layouts, inventories = [], []
    for code in provinces.split(","):
        port = free_udp_port()
        layout = generate_lab(root / f"lab{code}", code.strip(), port=port, limit=limit)
        agents = LabAgents(layout.data_dir, layout.state_dir, layout.cache_dir, port=port)
        stops.append(agents.stop)
        log(f"starting snmpsim for province {code} on udp {port}")
        agents.start(timeout=600)
        layouts.append(layout)
        inventories.append(load_inventory(layout.inventory))
    state_of = {d: layout.state_dir for layout, inv in zip(layouts, inventories, strict=True)
                for d in inv.devices}
    return Lab(
        inventory=merge_inventories(inventories),
        args=[a for layout in layouts for a in ("--inventory", str(layout.inventory))],
        state_dir_of=state_of.__getitem__,
        edge_commune=inventories[0].watched_communes[-1],
    )


def national_lab(root: Path, province: str | None, stops: list[Callable[[], None]]) -> Lab:
    """The national lab's responder; every process builds the inventory itself (``--lab national``)."""
    from lab.national import national_lab_inventory
    from lab.national_agents import NationalAgents

    agents = NationalAgents(root / "lab-state", province=province, log_path=root / "lab.log")
    stops.append(agents.stop)
    log(f"starting the national lab responder ({'province ' + province if province else 'every province'})")
    agents.start(timeout=600)
    inventory = national_lab_inventory(agents.port, province=province)
    args = ["--lab", "national", "--lab-port", str(agents.port)]
    if province:
        args += ["--lab-province", province]
    return Lab(
        inventory=inventory,
        args=args,
        state_dir_of=lambda _device: agents.state_dir,
        edge_commune=inventory.watched_communes[-1],
        pids={"lab responder": agents.pid or 0},
    )


def cpu_of(pid: int) -> float | None:
    """CPU seconds of a process so far, None once it is gone."""
    try:
        return proc_cpu_s(pid)
    except (OSError, IndexError, ValueError):
        return None


def cpu_shares(before: dict[str, float | None], after: dict[str, float | None], seconds: float
               ) -> dict[str, float]:
    """CPU seconds ÷ wall seconds per process alive at both ends of the window."""
    shares = {}
    for name, cpu0 in before.items():
        cpu1 = after.get(name)
        if cpu0 is not None and cpu1 is not None:
            shares[name] = (cpu1 - cpu0) / seconds
    return shares


def samples_in(batches: list[PollBatch], start: float, end: float) -> int:
    """Samples of results polled in ``[start, end)``: what the ingest took in over the window."""
    return sum(len(item.result.samples) for b in batches for item in b.items if start <= item.result.ts < end)


def main() -> None:  # noqa: C901 - a scripted scenario reads best top to bottom
    """Run the scenario and print the counts."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--provinces", default="31,01", help="province labs, one snmpsim process each")
    ap.add_argument("--limit", type=int, default=None, help="communes per province (default all)")
    ap.add_argument("--national", action="store_true",
                    help="the national lab (lab.national_agents, ~26,800 devices) instead of snmpsim labs")
    ap.add_argument("--province", default=None, help="--national: one province only (smoke runs), e.g. 31")
    ap.add_argument("--pollers", type=int, default=3)
    ap.add_argument("--interval", type=float, default=30.0, help="reachability interval, s (health 2×)")
    ap.add_argument("--minutes", type=float, default=4.0, help="measured window")
    ap.add_argument("--partitions", type=int, default=32)
    ap.add_argument("--lease-ttl", type=float, default=6.0)
    ap.add_argument("--cut-s", type=float, default=60.0, help="edge WAN cut length")
    ap.add_argument("--outages", type=int, default=3, help="access routers to fail during the run")
    ap.add_argument("--no-pg-restart", action="store_true")
    ap.add_argument("--no-nats-restart", action="store_true", help="do not kill -9 and restart the hub")
    args = ap.parse_args()
    if args.province and not args.national:
        ap.error("--province chooses a province of the national lab: add --national (snmpsim: --provinces)")

    root = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    stops: list[Callable[[], None]] = []
    procs: list[TrucbanProcess] = []
    hub = edge = None
    proxy = None
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    dbname = f"trucban_scale_{uuid.uuid4().hex[:8]}"
    pg_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{dbname}"
    try:
        lab = (national_lab(root, args.province, stops) if args.national
               else province_labs(root, args.provinces, args.limit, stops))
        inventory, edge_commune = lab.inventory, lab.edge_commune
        devices = sorted(inventory.devices.values(), key=lambda d: d.id)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{dbname}"'))

        hub = NatsServer(root, "hub", max_store_mb=4096)
        proxy = TcpProxy(hub.leaf_port or 0).start()
        hub.leaf_advertise = f"127.0.0.1:{proxy.port}"
        hub.start()
        edge = NatsServer(root, "edge", domain="edge-e1", leaf_listen=False, hub_leaf_url=proxy.url).start()
        env = {
            "TRUCBAN_POLL_INTERVAL_S": str(args.interval),
            "TRUCBAN_HEALTH_INTERVAL_S": str(2 * args.interval),
            "TRUCBAN_INVENTORY_INTERVAL_S": str(10 * args.interval),
            "TRUCBAN_CLUSTER_LEASE_TTL_S": str(args.lease_ttl),
            "TRUCBAN_CLUSTER_PARTITIONS": str(args.partitions),
            "TRUCBAN_NOTIFY_ENABLED": "false",
            "TRUCBAN_TRAP_PORT": "0",
            "TRUCBAN_LOG_LEVEL": "WARNING",
        }
        ingest = TrucbanProcess(
            root,
            "ingest",
            ["ingest", "--cluster", hub.url, *lab.args, "--edge", "e1"],
            {**env, "TRUCBAN_DATA_DIR": str(root / "central"), "TRUCBAN_DATABASE_URL": pg_url},
        )
        pollers = [
            TrucbanProcess(
                root,
                f"poller{i}",
                [
                    "poller",
                    "--cluster",
                    hub.url,
                    *lab.args,
                    "--id",
                    f"poller{i}",
                    "--exclude-commune",
                    edge_commune,
                ],
                {**env, "TRUCBAN_DATA_DIR": str(root / f"p{i}")},
            )
            for i in range(1, args.pollers + 1)
        ]
        edge_proc = TrucbanProcess(
            root,
            "edge",
            ["edge", "--post", "e1", "--commune", edge_commune, "--local", edge.url, *lab.args],
            {**env, "TRUCBAN_DATA_DIR": str(root / "edge-post")},
        )
        procs = [ingest, *pollers, edge_proc]
        for p in procs:
            p.start()
        ids = {p.name for p in pollers}
        deadline = time.monotonic() + START_S
        while True:
            owners = asyncio.run(lease_owners(hub.url))
            if len(owners) == args.partitions and set(owners.values()) == ids:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"partitions not shared in {START_S:.0f} s: {owners}\n"
                                 f"{pollers[0].log_tail()}")
            for p in procs:
                if not p.running:
                    raise SystemExit(f"{p.name} exited during start-up:\n{p.log_tail()}")
            time.sleep(1)
        engine = create_engine(pg_url, pool_pre_ping=True)
        log(f"{len(devices)} devices, {args.pollers} pollers + edge post e1 ({edge_commune}); warming up")
        time.sleep(2 * args.interval)
        since = int(time.time()) - 1
        window_start = time.time()
        pids = {p.name: p.proc.pid for p in procs if p.proc is not None} | lab.pids
        cpu_start = {name: cpu_of(pid) for name, pid in pids.items()}
        total = args.minutes * 60
        routers = [f"c{c}-r1" for c in inventory.watched_communes if c != edge_commune][: args.outages]
        events = sorted([
            (0.10, "outage"),
            (0.25, "kill"),
            (0.35, "cut"),
            (0.35 + args.cut_s / total, "heal"),
            (0.62, "nats"),
            (0.70, "pg"),
            (0.80, "restore"),
        ])
        for at, what in events:
            wait = window_start + at * total - time.time()
            if wait > 0:
                time.sleep(wait)
            if what == "outage":
                for r in routers:
                    outages.cut(lab.state_dir_of(r), inventory, r)
                log(f"outage staged on {', '.join(routers)}")
            elif what == "kill":
                victim = pollers[0]
                victim.kill9()
                t0 = time.monotonic()
                alive = {p.name for p in pollers[1:]}
                while set(asyncio.run(lease_owners(hub.url)).values()) != alive:
                    if time.monotonic() - t0 > 10 * args.lease_ttl + args.interval:
                        raise SystemExit(f"no takeover of {victim.name}'s partitions in "
                                         f"{time.monotonic() - t0:.0f} s\n{pollers[1].log_tail()}")
                    time.sleep(0.2)
                log(f"kill -9 {victim.name}: partitions taken over in {time.monotonic() - t0:.1f} s")
            elif what == "cut":
                proxy.set_cut(True)
                log(f"edge post e1 cut off from the hub for {args.cut_s:.0f} s")
            elif what == "heal":
                proxy.set_cut(False)
                log("edge link restored")
            elif what == "nats" and not args.no_nats_restart:
                took = hub.restart()
                log(f"NATS hub killed (-9) and listening again in {took:.1f} s (same JetStream store)")
            elif what == "pg" and not args.no_pg_restart:
                log(f"PostgreSQL restarted in {restart_postgres():.1f} s")
            elif what == "restore":
                for r in routers:
                    outages.restore(lab.state_dir_of(r), inventory, r)
                log("outages restored")
        time.sleep(max(0.0, window_start + total - time.time()))
        window_end = time.time()
        cpu_end = {name: cpu_of(pid) for name, pid in pids.items()}
        backlog = asyncio.run(consumer_pending(hub.url, STREAM, CONSUMER))
        for p in [*pollers, edge_proc]:
            p.stop()
        drain_start = time.monotonic()
        deadline = drain_start + DRAIN_S
        while asyncio.run(consumer_pending(hub.url, STREAM, CONSUMER)) > 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"the ingest did not drain the stream in {DRAIN_S:.0f} s\n"
                                 + ingest.log_tail())
            time.sleep(1)
        drained_s = time.monotonic() - drain_start
        ingest.stop()
        log("audit")
        batches = asyncio.run(audit.read_stream(hub.url, STREAM))
        settings = load_settings(
            None,
            env={},
            poll_interval_s=args.interval,
            health_interval_s=2 * args.interval,
            inventory_interval_s=10 * args.interval,
        )
        polls = audit.audit_polls(
            batches, plans_for(settings, inventory), devices, (window_start, window_end), settings.poll_jitter
        )
        store = SqliteMetricStore(root / "central" / "metrics.sqlite")
        try:
            lost = audit.lost_samples(batches, store)
        finally:
            store.close()
        incidents = audit.audit_incidents(engine, since, {f"device_down:{r}" for r in routers})
        engine.dispose()
        seconds = window_end - window_start
        scheduled = polls.expected / seconds
        rate = (polls.on_time + polls.late) / seconds
        shares = cpu_shares(cpu_start, cpu_end, seconds)
        log(
            f"window {seconds:.0f} s: {polls.expected} polls due, {polls.on_time} on time, "
            f"{polls.late} late, "
            f"{polls.missed} missing, {polls.duplicates} duplicate; "
            f"scheduled {scheduled:.1f}/s"
        )
        log(
            f"samples checked {len(audit.sample_identities(batches))}, lost {lost}; "
            f"incidents {incidents.by_key} ({incidents.reopened} real re-openings); "
            f"missed incidents {sorted(incidents.missed)}"
        )
        if polls.missed_examples:
            log(f"missed e.g. {polls.missed_examples[:5]}")
        log("cpu share (cpu s ÷ wall s) " + ", ".join(f"{n} {share:.2f}" for n, share in shares.items()))
        per_s = samples_in(batches, window_start, window_end) / seconds
        share = shares.get("ingest", 0.0)
        capacity = f"{per_s / share:.0f}" if share > 0 else "?"
        print(
            f"ingest samples_per_s={per_s:.0f} cpu_share={share:.2f} (of one core) "
            f"capacity≈{capacity} samples/s backlog_at_end={backlog} msgs drained_in={drained_s:.0f}s",
            flush=True,
        )
        print(
            f"scale devices={len(devices)} pollers={args.pollers} polls_per_s={rate:.1f} "
            f"missed_polls={polls.missed_polls} lost_samples={lost} "
            f"duplicate_incidents={incidents.duplicates}"
        )
    finally:
        for p in procs:
            p.stop(timeout=5)
        for stop in stops:
            stop()
        for server in (edge, hub):
            if server is not None:
                server.stop()
        if proxy is not None:
            proxy.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
