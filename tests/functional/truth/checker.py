"""The judge: every message each command post received, compared with the schedule's ground truth.

Inputs: the faults as actually applied (epoch instants recorded by the harness
right after each signal/state-file write), every mail the SMTP server accepted
(its ``X-Trucban-Post``, ``X-Trucban-Down`` and ``X-Trucban-Recovered`` incident
ids and acceptance instant), and the service's incidents (id → kind, device,
``opened_at``, ``resolved_at``), read from its alerting SQLite database after
the run.

Ground truth
------------
- A device is *failing* from the instant it was frozen/killed until it was
  thawed, or — after a kill — until our own probe got its first answer from the
  restarted agent (the restart itself is earlier: "back" is uncertain between).
- A power system is *on battery* from mains lost until mains back.
- A device is *reachable* when it is not failing and has no parents or at least
  one reachable parent (a redundancy pair keeps its child reachable). A
  device's own failure is *observable* when it has no parents or at least one
  reachable parent; otherwise its silence is *explained* by its parents. The
  harness makes this physically true: every agent that is not reachable is
  frozen too (on loopback a child would otherwise answer through its "failed"
  parent).
- Each fault is an *outage* of a subject: ``device`` (stop faults) or ``mains``
  (power system on battery). Its *observation interval* ``I`` is
  ``poll_interval_s`` for both: the invariant promises the first message within
  *poll interval* + 10 s, and the README says a power system's UPS-MIB output
  source is read with every reachability poll.
- Its *observable time* is the measure of the instants the condition held and
  could be seen (device: failing ∧ observable; mains: on battery ∧ the power
  system reachable); ``first_seen`` is the first such instant.
- Expected post: ``commune:<code>`` for commune devices, ``noc`` for the city core.

Tolerances (seconds)
--------------------
- ``SLACK_S`` = 10: confirmation slack — soft-before-hard re-checks, SNMP
  time-outs and one evaluation.
- ``RESPONSE_S`` = 5: lifetime of one SNMP request (2 s time-out × 2 tries, +1 s
  for the integer timestamps): an answer sent at thaw may belong to a request
  issued that long before, so observation instants may precede our recorded
  instants by this much.
- ``LATE_S`` = 10: the first message of a problem is due within ``I + LATE_S``
  of ``first_seen`` (the invariant "poll interval + 10 s").
- Recovery grace: a RECOVERED is *missed* only if the run went on for
  ``group_interval_s`` (shipped default) ``+ I + SLACK_S`` after the subject was
  first observably recovered; otherwise it is *pending* (listed, not counted).

Verdicts (each bad mention is one finding; ``false``, ``missed`` and ``late``
are counted)
---------------------------------------------------------------------------
false
  ``false_down``       a DOWN (or the opening of an incident first told as
                       recovered) whose subject was not failing / on battery at
                       any instant of ``[opened_at − I − SLACK_S, opened_at + 1]``;
  ``child_paged``      a DOWN about a device whose failure was not observable at
                       any instant of that window while it or an ancestor was
                       failing (its silence was explained by a parent's outage);
  ``false_recovered``  a RECOVERED whose incident resolved before the outage ended
                       (``resolved_at < end − RESPONSE_S``: still down) or with no
                       instant in ``[end, resolved_at + RESPONSE_S]`` at which the
                       subject was observably well (device reachable; power
                       system reachable and on mains): resolved unobserved;
  ``duplicate_down``   a second mail to the expected post announcing the same
                       outage (one real problem → one message per post; several
                       incidents of one outage in one mail are fine);
  ``duplicate_recovered`` a second RECOVERED mail for the same outage at that post;
  ``false_flapping``   a flapping incident about a device that was not observably
                       failing at least ``FLAP_OUTAGES`` separate times within the
                       shipped flap window ``[opened_at − (FLAP_WINDOW + 1) · I −
                       SLACK_S, opened_at + 1]`` ("keeps changing" was not true);
                       its recovery is not judged;
  ``unexpected_kind``  an incident kind this world never makes true (battery_low,
                       link/DNS/IPv6 kinds …);
  ``unknown_incident`` a header id not in the service's database.
missed
  ``missed_down``      an outage observable for more than ``2 × I`` whose expected
                       post got no DOWN;
  ``missed_recovered`` an outage that had to be told (or was told DOWN) and whose
                       post got no true RECOVERED within the recovery grace (a false
                       one does not count).
late
  ``late_down``        the first DOWN for an outage at its expected post was
                       accepted more than ``I + LATE_S`` after ``first_seen``.
Not counted: ``pending`` (recovery grace not over when the run ended),
``unjudged`` (self-monitoring kinds poller_degraded/store_unreachable/
delivery_failing, whose truth this harness cannot see; mentions at a post other
than the expected one, e.g. escalations, are judged for truth only).

Routing policy taken as given (README, shipped routes): commune incidents of
severity *warning* go to the commune post only 06:00–22:00 local time; the only
warning-level outage here is a switch's ``device_down``, so a switch outage
whose ``first_seen`` falls outside that window need not be told (it may be;
then it is judged like any other). Battery drains are chosen so the projected
runtime is under the 60-minute warning line (severity major or worse).
"""

from __future__ import annotations

import math
import sqlite3
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from alerting.rules.config import FlappingRules
from tests.functional.truth.peers import Mail
from tests.functional.truth.schedule import Fault, Timing
from tests.functional.truth.world import World

SLACK_S = 10.0
RESPONSE_S = 5.0
LATE_S = 10.0
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
QUIET_HOURS = (6, 22)  # commune warnings are routed 06:00-22:00 local
DEVICE_KINDS = ("device_down", "communes_cut_off")
MAINS_KINDS = ("bts_on_battery",)
FLAPPING_KIND = "flapping"
FLAP_WINDOW, FLAP_OUTAGES = FlappingRules().window, FlappingRules().min_outages  # the shipped defaults
UNJUDGED_KINDS = ("poller_degraded", "store_unreachable", "delivery_failing")
FALSE_CLASSES = ("false_down", "child_paged", "false_recovered", "duplicate_down", "duplicate_recovered",
                 "false_flapping", "unexpected_kind", "unknown_incident")
MISSED_CLASSES = ("missed_down", "missed_recovered")
LATE_CLASSES = ("late_down",)


@dataclass(frozen=True)
class Applied:
    """A fault as it was applied: epoch instants."""

    fault: Fault
    start_at: float
    end_at: float  # thaw / restart spawn / mains back
    up_at: float  # first answer after a restart (= end_at otherwise)


@dataclass(frozen=True)
class IncidentRow:
    """What the checker needs of one incident."""

    id: int
    key: str
    kind: str
    device: str | None
    opened_at: int
    resolved_at: int | None
    status: str


def read_incidents(db: Path) -> dict[int, IncidentRow]:
    """Incidents from the service's alerting SQLite database, opened read-only."""
    if not db.exists():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute(
            "SELECT id, key, kind, device, opened_at, resolved_at, status FROM incidents").fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()
    return {int(r[0]): IncidentRow(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5], r[6]) for r in rows}


class Truth:
    """Piecewise-constant ground truth over epoch time."""

    def __init__(self, world: World, applied: Iterable[Applied]) -> None:
        self.world = world
        self.failing_iv: dict[str, list[tuple[float, float]]] = {d: [] for d in world.devices}
        self.battery_iv: dict[str, list[tuple[float, float]]] = {d: [] for d in world.devices}
        points: set[float] = set()
        for a in applied:
            if a.fault.kind == "stop":
                self.failing_iv[a.fault.device].append((a.start_at, a.up_at))
            else:
                self.battery_iv[a.fault.device].append((a.start_at, a.end_at))
            points.update((a.start_at, a.end_at, a.up_at))
        self.points = sorted(points)
        self._memo: dict[tuple[str, float], bool] = {}

    @staticmethod
    def _inside(intervals: list[tuple[float, float]], t: float) -> bool:
        return any(lo <= t < hi for lo, hi in intervals)

    def failing(self, device: str, t: float) -> bool:
        """The device does not answer at ``t``."""
        return self._inside(self.failing_iv[device], t)

    def failing_in(self, device: str, lo: float, hi: float) -> bool:
        """The device was failing at some instant of [lo, hi]."""
        return any(a < hi and b > lo for a, b in self.failing_iv[device])

    def on_battery(self, device: str, t: float) -> bool:
        """The power system runs on battery at ``t``."""
        return self._inside(self.battery_iv[device], t)

    def reachable(self, device: str, t: float) -> bool:
        """Not failing, and no parents or one reachable parent."""
        key = (device, t)
        if key not in self._memo:
            self._memo[key] = not self.failing(device, t) and self.observable(device, t)
        return self._memo[key]

    def observable(self, device: str, t: float) -> bool:
        """No parents, or at least one reachable parent."""
        parents = self.world.devices[device].parents
        return not parents or any(self.reachable(p, t) for p in parents)

    def ancestor_failing(self, device: str, t: float) -> bool:
        """Some device above ``device`` is failing at ``t``."""
        return any(self.failing(a, t) for a in self.world.ancestors(device))

    def segments(self, lo: float, hi: float) -> list[tuple[float, float]]:
        """[lo, hi] cut at every truth boundary (the state is constant inside each piece)."""
        cuts = [lo] + [p for p in self.points[bisect_right(self.points, lo):] if p < hi] + [hi]
        return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]

    def measure(self, pred: Callable[[float], bool], lo: float, hi: float) -> float:
        """Seconds of [lo, hi] where ``pred`` holds."""
        return sum(b - a for a, b in self.segments(lo, hi) if pred((a + b) / 2))

    def first(self, pred: Callable[[float], bool], lo: float, hi: float) -> float | None:
        """First instant of [lo, hi] where ``pred`` holds (None: never)."""
        for a, b in self.segments(lo, hi):
            if pred((a + b) / 2):
                return a
        return None

    def ever(self, pred: Callable[[float], bool], lo: float, hi: float) -> bool:
        """``pred`` holds somewhere in [lo, hi] (a zero-length window is judged at its instant)."""
        if hi <= lo:
            return pred(lo)
        return self.first(pred, lo, hi) is not None


@dataclass
class Outage:
    """One applied fault, as the truth sees it."""

    applied: Applied
    subject: tuple[str, str]  # ("device"|"mains", device id)
    post: str
    interval: float
    observable_s: float
    first_seen: float | None
    recovery_seen: float | None
    must_tell: bool
    note: str = ""
    downs: list[tuple[Mail, int]] = field(default_factory=list)  # (mail, incident) at the expected post
    recovereds: list[tuple[Mail, int]] = field(default_factory=list)

    @property
    def fault(self) -> Fault:
        """The scheduled fault."""
        return self.applied.fault


@dataclass(frozen=True)
class Finding:
    """One judged mention or outage."""

    verdict: str  # false | missed | late | pending | unjudged
    cls: str
    post: str
    incident: int | None
    kind: str
    device: str
    at: float | None  # mail accepted (epoch)
    detail: str


@dataclass
class Report:
    """Everything a run found; counts and a readable listing."""

    t0: float
    timing: Timing
    faults: int
    mails: int
    incident_mails: int
    findings: list[Finding]
    outages: list[Outage]
    latencies: list[float]
    notes: list[str] = field(default_factory=list)

    def count(self, verdict: str) -> int:
        """Number of findings with this verdict."""
        return sum(1 for f in self.findings if f.verdict == verdict)

    @property
    def false(self) -> int:
        """False, duplicate or child-paging mentions."""
        return self.count("false")

    @property
    def missed(self) -> int:
        """Outages not told (DOWN or RECOVERED)."""
        return self.count("missed")

    @property
    def late(self) -> int:
        """First messages later than interval + 10 s."""
        return self.count("late")

    @property
    def p95_notify_s(self) -> float:
        """p95 (nearest rank) of fault → first DOWN accepted at its post; NaN when none was told."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    def rel(self, t: float | None) -> str:
        """``T0+12.3s`` for an epoch instant."""
        return "—" if t is None else f"T0{t - self.t0:+.1f}s"

    def by_class(self) -> Counter[str]:
        """Findings per class (counted verdicts only)."""
        return Counter(f.cls for f in self.findings if f.verdict in ("false", "missed", "late"))

    def bad(self) -> list[Finding]:
        """Counted findings, in time order."""
        return sorted((f for f in self.findings if f.verdict in ("false", "missed", "late")),
                      key=lambda f: (f.at or 0.0, f.post))

    def outage_table(self) -> str:
        """Per episode type: outages, must-tell, told DOWN, told RECOVERED, median/max first-DOWN delay."""
        rows: dict[str, list[Outage]] = {}
        for o in self.outages:
            rows.setdefault(f"{o.fault.episode}/{o.subject[0]}", []).append(o)
        lines = ["episode/subject          outages must_tell down recovered  median_s  max_s"]
        for name, group in sorted(rows.items()):
            delays = sorted(o.downs[0][0].at - o.first_seen for o in group if o.downs and o.first_seen)
            median = f"{delays[len(delays) // 2]:8.1f}" if delays else "       —"
            worst = f"{delays[-1]:6.1f}" if delays else "     —"
            told = sum(bool(o.downs) for o in group)
            recovered = sum(bool(o.recovereds) for o in group)
            lines.append(f"{name:<24} {len(group):7d} {sum(o.must_tell for o in group):9d} "
                         f"{told:4d} {recovered:9d} {median} {worst}")
        return "\n".join(lines)

    def render(self, limit: int | None = None) -> str:
        """A readable listing: every bad message (post, incident, kind, device, times vs truth)."""
        lines = [f"T0 = {datetime.fromtimestamp(self.t0, TZ):%Y-%m-%d %H:%M:%S %Z}; faults={self.faults} "
                 f"mails={self.mails} (about incidents: {self.incident_mails}); "
                 f"false={self.false} missed={self.missed} late={self.late}"]
        counts = self.by_class()
        if counts:
            lines.append("by class: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        bad = self.bad()
        for f in bad[:limit] if limit else bad:
            inc = f"#{f.incident}" if f.incident is not None else "-"
            lines.append(f"  [{f.cls}] post={f.post} incident={inc} {f.kind} {f.device} "
                         f"mail={self.rel(f.at)}: {f.detail}")
        if limit and len(bad) > limit:
            lines.append(f"  … and {len(bad) - limit} more")
        pending = [f for f in self.findings if f.verdict == "pending"]
        if pending:
            lines.append(f"pending (recovery grace not over at the end): {len(pending)}")
        unjudged = Counter(f.cls for f in self.findings if f.verdict == "unjudged")
        if unjudged:
            lines.append("not judged: " + ", ".join(f"{k}={v}" for k, v in sorted(unjudged.items())))
        lines += self.notes
        return "\n".join(lines)


class Checker:
    """Builds outages from the truth and judges every mail."""

    def __init__(self, world: World, timing: Timing, applied: list[Applied],
                 incidents: dict[int, IncidentRow], t0: float, group_interval_s: float) -> None:
        self.world, self.timing, self.incidents, self.t0 = world, timing, incidents, t0
        self.group_interval_s = group_interval_s
        self.truth = Truth(world, applied)
        self.outages = [self._outage(a) for a in applied]
        self.findings: list[Finding] = []
        self.latencies: list[float] = []  # fault → first DOWN accepted, per told outage
        self._mapped: dict[int, Outage | None] = {}
        self._opening_judged: set[tuple[str, int]] = set()

    # -------------------------------------------------------------- outages

    def _outage(self, a: Applied) -> Outage:
        f, truth = a.fault, self.truth
        dev = self.world.devices[f.device]
        interval = self.timing.poll_s
        if f.kind == "stop":
            def held(t: float) -> bool:
                return truth.failing(f.device, t) and truth.observable(f.device, t)

            def well(t: float) -> bool:
                return truth.reachable(f.device, t)
        else:
            def held(t: float) -> bool:
                return truth.on_battery(f.device, t) and truth.reachable(f.device, t)

            def well(t: float) -> bool:
                return truth.reachable(f.device, t) and not truth.on_battery(f.device, t)
        end = a.up_at if f.kind == "stop" else a.end_at
        observable_s = truth.measure(held, a.start_at, end)
        first_seen = truth.first(held, a.start_at, end)
        recovery_seen = truth.first(well, a.end_at, a.end_at + 7 * 86400)
        must_tell, note = observable_s > 2 * interval, ""
        if not must_tell:
            note = f"short: observable {observable_s:.1f}s ≤ 2×{interval:.0f}s"
        elif dev.role == "switch" and dev.post != "noc" and first_seen is not None:
            hour = datetime.fromtimestamp(first_seen, TZ).hour
            if not QUIET_HOURS[0] <= hour < QUIET_HOURS[1]:
                must_tell, note = False, "switch (warning) outside 06:00-22:00 local: may be told"
        return Outage(a, ("device" if f.kind == "stop" else "mains", f.device), dev.post, interval,
                      observable_s, first_seen, recovery_seen, must_tell, note)

    def _describe(self, o: Outage | None) -> str:
        if o is None:
            return "no matching fault"
        a = o.applied
        back = f"..{self.rel(a.end_at)}"
        if a.up_at != a.end_at:
            back += f" (answered {self.rel(a.up_at)})"
        return (f"truth {o.fault.id} {o.fault.episode}/{o.fault.kind}({o.fault.mode}) {o.fault.device} "
                f"{self.rel(a.start_at)}{back}, first seen {self.rel(o.first_seen)}, "
                f"observable {o.observable_s:.0f}s")

    def rel(self, t: float | None) -> str:
        """``T0+12.3s``."""
        return "—" if t is None else f"T0{t - self.t0:+.1f}s"

    def _add(self, verdict: str, cls: str, post: str, inc: IncidentRow | None, device: str, at: float | None,
             detail: str, kind: str = "") -> None:
        self.findings.append(Finding(verdict, cls, post, inc.id if inc else None, inc.kind if inc else kind,
                                     device, at, detail))

    # -------------------------------------------------------------- mapping incidents to outages

    def _subject(self, inc: IncidentRow) -> tuple[str, str] | None:
        if inc.kind in DEVICE_KINDS and inc.device in self.world.devices:
            return ("device", inc.device)
        if inc.kind in MAINS_KINDS and inc.device in self.world.devices:
            return ("mains", inc.device)
        return None

    def _open_verdict(self, inc: IncidentRow) -> tuple[str | None, Outage | None, str]:
        """(None | "false_down" | "child_paged", outage, why) for the opening of ``inc``."""
        subject = self._subject(inc)
        assert subject is not None
        what, device = subject
        interval = self.timing.poll_s
        lo, hi = inc.opened_at - interval - SLACK_S, inc.opened_at + 1.0
        truth = self.truth
        window = f"window {self.rel(lo)}..{self.rel(hi)} (opened {self.rel(inc.opened_at)})"
        candidates = [o for o in self.outages if o.subject == subject
                      and o.applied.start_at <= hi and (o.applied.up_at if what == "device"
                                                        else o.applied.end_at) >= lo]
        if what == "mains":
            if truth.ever(lambda t: truth.on_battery(device, t), lo, hi):
                return None, max(candidates, key=lambda o: o.applied.start_at, default=None), window
            return "false_down", None, f"on mains throughout the {window}"
        if truth.ever(lambda t: truth.failing(device, t) and truth.observable(device, t), lo, hi):
            return None, max(candidates, key=lambda o: o.applied.start_at, default=None), window
        if truth.ever(lambda t: truth.failing(device, t) or truth.ancestor_failing(device, t), lo, hi):
            cut = sorted(a for a in self.world.ancestors(device)
                         if truth.failing_in(a, lo, hi))
            why = f"silence explained by {', '.join(cut) or 'its parents'} failing in the {window}"
            return "child_paged", None, why
        return "false_down", None, f"answering throughout the {window}"

    def _map(self, inc: IncidentRow) -> Outage | None:
        if inc.id not in self._mapped:
            self._mapped[inc.id] = self._open_verdict(inc)[1]
        return self._mapped[inc.id]

    # -------------------------------------------------------------- judging mails

    def judge(self, mails: list[Mail], run_end: float) -> list[Finding]:
        """Judge every mail, then every outage; return the findings."""
        for mail in sorted(mails, key=lambda m: m.at):
            for inc_id in mail.down:
                self._mention(mail, inc_id, "down")
            for inc_id in mail.recovered:
                self._mention(mail, inc_id, "recovered")
        for o in self.outages:
            self._judge_outage(o, run_end)
        return self.findings

    def _mention(self, mail: Mail, inc_id: int, what: str) -> None:
        inc = self.incidents.get(inc_id)
        if inc is None:
            self._add("false", "unknown_incident", mail.post, None, "?", mail.at,
                      f"{what.upper()} header names #{inc_id}, not in the alerting database", kind="?")
            return
        device = inc.device or "-"
        if inc.kind in UNJUDGED_KINDS:
            if (mail.post, inc_id) not in self._opening_judged:
                self._opening_judged.add((mail.post, inc_id))
                self._add("unjudged", inc.kind, mail.post, inc, device, mail.at, "self-monitoring")
            return
        if inc.kind == FLAPPING_KIND and inc.device in self.world.devices:
            if (mail.post, inc_id) not in self._opening_judged:
                self._opening_judged.add((mail.post, inc_id))
                self._judge_flapping(mail, inc)
            return
        if self._subject(inc) is None:
            if what == "down" or (mail.post, inc_id) not in self._opening_judged:
                self._add("false", "unexpected_kind", mail.post, inc, device, mail.at,
                          f"{what.upper()} of a kind this world never makes true (key {inc.key})")
            self._opening_judged.add((mail.post, inc_id))
            return
        outage = self._map(inc)
        if (mail.post, inc_id) not in self._opening_judged:
            self._opening_judged.add((mail.post, inc_id))
            verdict, _, why = self._open_verdict(inc)
            if verdict is not None:
                told = "DOWN" if what == "down" else "RECOVERED (opening never announced)"
                self._add("false", verdict, mail.post, inc, device, mail.at, f"{told}: {why}")
        if outage is None:
            if what == "recovered":
                self._judge_unmapped_recovery(mail, inc)
            return
        expected = mail.post == outage.post
        if what == "down":
            if not expected:
                self._add("unjudged", "other_post", mail.post, inc, device, mail.at,
                          f"DOWN at a post other than {outage.post}: {self._describe(outage)}")
                return
            if outage.downs and all(m is not mail for m, _ in outage.downs):
                first = outage.downs[0]
                self._add("false", "duplicate_down", mail.post, inc, device, mail.at,
                          f"outage already announced by #{first[1]} at {self.rel(first[0].at)}; "
                          f"{self._describe(outage)}")
            outage.downs.append((mail, inc_id))
            return
        if not self._judge_recovery(mail, inc, outage) or not expected:
            return
        if outage.recovereds and all(m is not mail for m, _ in outage.recovereds):
            first = outage.recovereds[0]
            self._add("false", "duplicate_recovered", mail.post, inc, device, mail.at,
                      f"recovery already told by #{first[1]} at {self.rel(first[0].at)}; "
                      f"{self._describe(outage)}")
        outage.recovereds.append((mail, inc_id))

    def _judge_flapping(self, mail: Mail, inc: IncidentRow) -> None:
        """A flapping incident is true when its device failed often enough within the flap window."""
        truth, device = self.truth, inc.device or ""  # a flapping incident always names its device
        lo = inc.opened_at - (FLAP_WINDOW + 1) * self.timing.poll_s - SLACK_S
        hi = inc.opened_at + 1.0
        failed = [truth.failing(device, (a + b) / 2) and truth.observable(device, (a + b) / 2)
                  for a, b in truth.segments(lo, hi)]
        times = sum(1 for i, bad in enumerate(failed) if bad and (i == 0 or not failed[i - 1]))
        if times < FLAP_OUTAGES:
            self._add("false", "false_flapping", mail.post, inc, device, mail.at,
                      f"flapping, but {device} observably failed {times}× in the window "
                      f"{self.rel(lo)}..{self.rel(hi)} (opened {self.rel(inc.opened_at)})")

    def _judge_recovery(self, mail: Mail, inc: IncidentRow, outage: Outage) -> bool:
        """True when the RECOVERED is true (else a finding is added)."""
        a, truth, device = outage.applied, self.truth, outage.fault.device
        resolved = float(inc.resolved_at) if inc.resolved_at is not None else mail.at
        if outage.subject[0] == "device":
            def well(t: float) -> bool:
                return truth.reachable(device, t)
        else:
            def well(t: float) -> bool:
                return truth.reachable(device, t) and not truth.on_battery(device, t)
        if resolved < a.end_at - RESPONSE_S:
            still = "down" if outage.subject[0] == "device" else "on battery"
            self._add("false", "false_recovered", mail.post, inc, device, mail.at,
                      f"resolved {self.rel(resolved)} while still {still}; {self._describe(outage)}")
            return False
        if not truth.ever(well, a.end_at, max(resolved, a.end_at) + RESPONSE_S):
            cut = sorted(x for x in self.world.ancestors(device)
                         if truth.failing_in(x, a.end_at, resolved + RESPONSE_S))
            self._add("false", "false_recovered", mail.post, inc, device, mail.at,
                      f"resolved {self.rel(resolved)} without observing it (unreachable; "
                      f"{', '.join(cut) or 'parent'} failing); {self._describe(outage)}")
            return False
        return True

    def _judge_unmapped_recovery(self, mail: Mail, inc: IncidentRow) -> None:
        subject = self._subject(inc)
        assert subject is not None
        truth, device = self.truth, subject[1]
        resolved = float(inc.resolved_at) if inc.resolved_at is not None else mail.at
        def well(t: float) -> bool:
            return truth.reachable(device, t) and not (subject[0] == "mains" and truth.on_battery(device, t))

        if not truth.ever(well, resolved - RESPONSE_S, resolved + RESPONSE_S):
            self._add("false", "false_recovered", mail.post, inc, device, mail.at,
                      f"resolved {self.rel(resolved)} while {device} was not observably well")

    def _judge_outage(self, o: Outage, run_end: float) -> None:
        device, kind = o.fault.device, ("bts_on_battery" if o.subject[0] == "mains" else "device_down")
        describe = self._describe(o)
        if o.must_tell and not o.downs:
            self._add("missed", "missed_down", o.post, None, device, None,
                      f"no DOWN at {o.post}{' (told only as recovered)' if o.recovereds else ''}; {describe}",
                      kind=kind)
        if o.downs and o.first_seen is not None:
            mail, inc_id = o.downs[0]
            latency = mail.at - o.first_seen
            self.latencies.append(latency)
            if latency > o.interval + LATE_S:
                self._add("late", "late_down", o.post, self.incidents.get(inc_id), device, mail.at,
                          f"first DOWN {latency:.1f}s after first seen (due within "
                          f"{o.interval:.0f}+{LATE_S:.0f}s); {describe}")
        if (o.must_tell or o.downs) and not o.recovereds:
            seen = o.recovery_seen if o.recovery_seen is not None else o.applied.up_at
            due = seen + self.group_interval_s + o.interval + SLACK_S
            if run_end >= due:
                self._add("missed", "missed_recovered", o.post, None, device, None,
                          f"no RECOVERED by {self.rel(run_end)} (due by {self.rel(due)}); {describe}",
                          kind=kind)
            else:
                self._add("pending", "pending_recovered", o.post, None, device, None,
                          f"RECOVERED not yet due (by {self.rel(due)}); {describe}", kind=kind)


def check(world: World, timing: Timing, applied: list[Applied], mails: list[Mail],
          incidents: dict[int, IncidentRow], t0: float, run_end: float, group_interval_s: float) -> Report:
    """Judge a finished run."""
    checker = Checker(world, timing, applied, incidents, t0, group_interval_s)
    findings = checker.judge(mails, run_end)
    return Report(t0, timing, len(applied), len(mails), sum(1 for m in mails if m.about_incidents),
                  findings, checker.outages, checker.latencies)
