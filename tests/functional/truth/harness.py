"""One truth run, end to end: agents, SMTP, the real service, a seeded schedule, the judge.

``TruthRun(config).run()`` starts one snmpsim agent per device, an SMTP
server and ``trucban run --inventory``; waits until the service has seen every
device up; stages the schedule in real time (recording the instant each fault
really began and ended); keeps collecting mail for the tail; stops everything
(also on errors: :meth:`TruthRun.close` is idempotent and used by fixtures and
the benchmark's ``finally``); reads the incidents and returns the checker's
:class:`~tests.functional.truth.checker.Report`.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.functional.truth.agents import Agent, free_agent_ports
from tests.functional.truth.checker import SLACK_S, Applied, Report, check, read_incidents
from tests.functional.truth.peers import Mail, SmtpSink, TrucbanProcess
from tests.functional.truth.schedule import Fault, Schedule, Timing, generate
from tests.functional.truth.world import World, build_world


def shipped_group_interval_s() -> float:
    """The notifier's shipped ``group_interval`` (what a RECOVERED may wait behind)."""
    from alerting.notify.config import Timers

    return float(Timers().group_interval_s)


@dataclass
class RunConfig:
    """What to run: seeds, how many communes, how long to stage faults, how long to listen after."""

    seeds: list[int]
    communes: int
    window_s: float
    workdir: Path
    timing: Timing = field(default_factory=Timing)
    tail_s: float | None = None  # None: until every recovery's grace is over
    warmup_timeout_s: float = 90.0
    log: Callable[[str], None] = print


class TruthRun:
    """Owns every process of one run."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.world: World = build_world(config.communes)
        self.agents: dict[str, Agent] = {}
        self.smtp = SmtpSink()
        self.service: TrucbanProcess | None = None
        self.schedule: Schedule | None = None
        self.applied: dict[str, Applied] = {}
        self.t0 = 0.0
        self.plan_start = 0.0
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="truth-agent")
        self._pending_up: dict[str, Future[float]] = {}
        self._own_down: set[str] = set()

    # -------------------------------------------------------------- set-up

    def start_agents(self) -> None:
        """Write data files and start every agent; wait until each answers."""
        rng = random.Random(f"{self.config.seeds[0]}/agents")
        ports = free_agent_ports(len(self.world.devices), rng)
        self.world = self.world.with_ports(dict(zip(self.world.devices, ports, strict=True)))
        root = self.config.workdir / "agents"
        for dev_id, spec in self.world.devices.items():
            agent = Agent(spec, root / dev_id)
            agent.write_data(random.Random(f"{self.config.seeds[0]}/{dev_id}"))
            self.agents[dev_id] = agent
        for agent in self.agents.values():
            agent.spawn()
        list(self._pool.map(lambda a: a.wait_ready(60.0), self.agents.values()))

    def start_service(self) -> None:
        """SMTP server, inventory files, then ``trucban run``; wait for /healthz."""
        self.smtp.start()
        inventory = self.world.write_inventory(self.config.workdir / "inventory")
        self.service = TrucbanProcess(inventory, self.config.workdir / "data", self.smtp.port,
                                      self.world.noc_email, self.config.timing)
        self.plan_start = self.service.start()

    def wait_all_up(self) -> bool:
        """Until the service's saved device states say every device is up (False on time-out)."""
        assert self.service is not None
        deadline = time.monotonic() + self.config.warmup_timeout_s
        want = set(self.world.devices)
        while time.monotonic() < deadline:
            if not self.service.alive():
                raise RuntimeError(f"trucban exited during warm-up:\n{self.service.log_tail()}")
            if want <= self._devices_up():
                return True
            time.sleep(1.0)
        return False

    def _devices_up(self) -> set[str]:
        assert self.service is not None
        db = self.service.alerting_db
        if not db.exists():
            return set()
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                rows = conn.execute("SELECT device, status FROM device_states").fetchall()
            finally:
                conn.close()
        except sqlite3.Error:
            return set()
        return {d for d, s in rows if s == "up"}

    # -------------------------------------------------------------- staging

    def stage(self) -> None:
        """Generate the schedule against the running service's phase and apply it in real time."""
        cfg = self.config
        self.t0 = time.time()
        phase0 = round((self.t0 - self.plan_start) % cfg.timing.inventory_s, 1)
        self.schedule = generate(self.world, cfg.seeds, cfg.timing, cfg.window_s, phase0=phase0)
        cfg.log(f"truth: T0 phase in the {cfg.timing.inventory_s:.0f}s plan ≈ {phase0:.1f}s; "
                f"{len(self.schedule.faults)} faults over {cfg.window_s:.0f}s: "
                + ", ".join(f"{k}={v}" for k, v in sorted(Counter(f.episode for f in self.schedule.faults)
                                                          .items())))
        starts: dict[str, float] = {}
        ends: dict[str, float] = {}
        for offset, what, fault in self.schedule.actions():
            delay = self.t0 + offset - time.time()
            if delay > 0:
                time.sleep(delay)
            assert self.service is not None
            if not self.service.alive():
                raise RuntimeError(f"trucban exited during the run:\n{self.service.log_tail()}")
            if what == "start":
                starts[fault.id] = self._begin(fault)
            else:
                ends[fault.id] = self._end(fault)
        for fault in self.schedule.faults:
            up = self._pending_up.pop(fault.id).result(60) if fault.id in self._pending_up else ends[fault.id]
            self.applied[fault.id] = Applied(fault, starts[fault.id], ends[fault.id], up)

    def _begin(self, fault: Fault) -> float:
        agent = self.agents[fault.device]
        if fault.kind == "mains":
            return agent.mains_lost(fault.drain_per_min)
        self._own_down.add(fault.device)
        at = agent.kill() if fault.mode == "kill" else agent.freeze()
        self._reconcile()
        return at

    def _end(self, fault: Fault) -> float:
        agent = self.agents[fault.device]
        if fault.kind == "mains":
            return agent.mains_back()
        self._own_down.discard(fault.device)
        if fault.mode == "kill":
            at = agent.restart()
            self._reconcile()
            if not agent.frozen:  # not cut off behind a failed parent: time its first answer
                self._pending_up[fault.id] = self._pool.submit(agent.wait_ready, 30.0)
            return at
        reachable = self._reachable()
        at = agent.thaw() if fault.device in reachable else time.time()
        self._reconcile(reachable)
        return at

    def _reachable(self) -> set[str]:
        """Devices answering in truth now: not down themselves, and no parents or one reachable parent."""
        out: set[str] = set()
        pending = [d for d in self.world.devices if d not in self._own_down]
        changed = True
        while changed:
            changed = False
            for d in list(pending):
                parents = self.world.devices[d].parents
                if not parents or any(p in out for p in parents):
                    out.add(d)
                    pending.remove(d)
                    changed = True
        return out

    def _reconcile(self, reachable: set[str] | None = None) -> None:
        """Freeze every agent that is cut off (or down itself), thaw every other one.

        On loopback nothing stands between the poller and a child whose parent
        "failed", so the harness makes the network's behaviour true: behind a
        failed parent (every parent, for a redundancy pair) a device is silent.
        """
        reachable = self._reachable() if reachable is None else reachable
        for dev_id, agent in self.agents.items():
            if dev_id in reachable:
                agent.thaw()
            else:
                agent.freeze()

    def listen(self) -> float:
        """Keep collecting mail for the tail; return the end of the run."""
        assert self.schedule is not None
        cfg = self.config
        if cfg.tail_s is not None:
            until = self.t0 + self.schedule.last_end + cfg.tail_s
        else:
            grace = shipped_group_interval_s() + cfg.timing.health_s + SLACK_S + 10.0
            until = max(a.up_at for a in self.applied.values()) + grace if self.applied else time.time()
        while time.time() < until:
            assert self.service is not None
            if not self.service.alive():
                raise RuntimeError(f"trucban exited during the tail:\n{self.service.log_tail()}")
            time.sleep(min(5.0, max(0.0, until - time.time())))
        return time.time()

    # -------------------------------------------------------------- whole run

    def run(self) -> Report:
        """Everything; always cleans up."""
        cfg = self.config
        try:
            started = time.monotonic()
            self.start_agents()
            cfg.log(f"truth: {len(self.agents)} agents up in {time.monotonic() - started:.1f}s "
                    f"({len(self.world.communes)} communes + city core)")
            self.start_service()
            all_up = self.wait_all_up()
            cfg.log(f"truth: service up, {'every device seen up' if all_up else 'NOT every device seen up'} "
                    f"{time.time() - self.plan_start:.1f}s after /healthz")
            self.stage()
            run_end = self.listen()
        finally:
            self.close()
        assert self.service is not None and self.schedule is not None
        save_record(cfg.workdir / RECORD, self, run_end)
        incidents = read_incidents(self.service.alerting_db)
        report = check(self.world, cfg.timing, list(self.applied.values()), self.smtp.snapshot(), incidents,
                       self.t0, run_end, shipped_group_interval_s())
        report.notes.append(self._phase_note())
        report.notes.append(f"service log: {self.service.log_path}; record: {cfg.workdir / RECORD}")
        return report

    def _phase_note(self) -> str:
        """Where fault instants fell in each plan's cycle (plans start at /healthz, approximately)."""
        timing = self.config.timing
        parts = []
        for name, interval in (("poll", timing.poll_s), ("health", timing.health_s),
                               ("inventory", timing.inventory_s)):
            phases = [((a.start_at - self.plan_start) % interval) / interval for a in self.applied.values()]
            bins = Counter(min(3, int(p * 4)) for p in phases)
            quarters = "/".join(str(bins.get(i, 0)) for i in range(4))
            parts.append(f"{name} {interval:.0f}s quarters {quarters}")
        return "fault phases: " + "; ".join(parts)

    def close(self) -> None:
        """Stop the service, every agent and the SMTP server (idempotent)."""
        if self.service is not None:
            self.service.stop()
        for agent in self.agents.values():
            agent.stop()
        self.smtp.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)


def run_truth(config: RunConfig) -> Report:
    """One run; see :class:`TruthRun`."""
    return TruthRun(config).run()


RECORD = "truth-record.json"


def save_record(path: Path, run: TruthRun, run_end: float) -> None:
    """What a run saw (faults as applied, every mail, T0), so it can be judged again later."""
    timing = run.config.timing
    doc = {
        "seeds": run.config.seeds, "communes": run.config.communes, "t0": run.t0, "run_end": run_end,
        "plan_start": run.plan_start, "timing": [timing.poll_s, timing.health_s, timing.inventory_s],
        "applied": [{"fault": a.fault.__dict__, "start_at": a.start_at, "end_at": a.end_at, "up_at": a.up_at}
                    for a in run.applied.values()],
        "mails": [m.__dict__ for m in run.smtp.snapshot()],
        "alerting_db": str(run.service.alerting_db) if run.service else "",
    }
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


def rejudge(workdir: Path) -> Report:
    """Judge a finished run again from its record and the service's database (e.g. after a checker fix)."""
    doc = json.loads((workdir / RECORD).read_text(encoding="utf-8"))
    timing = Timing(*doc["timing"])
    applied = [Applied(Fault(**a["fault"]), a["start_at"], a["end_at"], a["up_at"]) for a in doc["applied"]]
    mails = [Mail(**{**m, "rcpt": tuple(m["rcpt"]), "down": tuple(m["down"]),
                     "recovered": tuple(m["recovered"])}) for m in doc["mails"]]
    incidents = read_incidents(Path(doc["alerting_db"]))
    report = check(build_world(doc["communes"]), timing, applied, mails, incidents, doc["t0"], doc["run_end"],
                   shipped_group_interval_s())
    report.notes.append(f"re-judged from {workdir / RECORD}")
    return report
