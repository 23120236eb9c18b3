"""Seeded random fault schedules: episodes per commune and for the city core.

A schedule is a list of :class:`Fault` in seconds after ``T0`` (the instant
the run starts staging faults; the harness puts ``T0`` on a cycle start of the
slowest plan, so ``start % inventory_s`` is a fault's phase in that plan).

Per commune, episodes run one after another (never two at once in one
commune), each followed by a quiet gap of at least three observation intervals
of what it touched (3 × poll interval after a device fault, 3 × health interval
after a mains fault), so every fault of a device is distinguishable. Episodes:

``stop``        one device (BTS, power system, switch or access router; the last
                two are parent cuts: the devices behind go silent and must not be
                paged) frozen (SIGSTOP) or killed and restarted, 3.2–6 poll
                intervals; 1 in 4 are *short* (0.3–1.5 intervals: may be told)
``mains``       the power system loses mains and drains its battery, 2.6–4 health
                intervals, then mains returns
``nested``      the BTS or power system stops; 3.2–4 intervals later its switch
                or router stops (a parent cut over a failed child), comes back
                3.2–4.5 intervals later, and the child comes back 3.2–4 intervals
                after that
``battery-cut`` mains lost; 1.6–2.2 health intervals later (the on-battery message
                is out) the switch/router stops — the power system is cut off while
                on battery — and returns 3.2–4.5 poll intervals later; mains
                returns 1.3–2 health intervals after the parent
``battery-dark`` mains lost; 1.6–2.2 health intervals later the power system itself
                stops answering (the battery ran flat), restarts 3.2–4.5 poll
                intervals later still on battery; mains returns 1.3–2 health
                intervals after that

City: ``agg-a``/``agg-b`` outages (never overlapping each other, so the
redundantly homed communes are never cut off) cut off every commune homed only
on them; commune episodes of those communes keep out of
``[outage start − 3 × health, outage end + 3 × poll]``. The DNS pair gets
independent ``stop`` episodes.

Episode start instants are uniform, except that one in three is moved into the
middle of a cycle of the slowest plan (phase 15–45 % of ``inventory_s``, while
that plan's polls are still being spread over its jitter window); ``phase0``
tells the generator where ``T0`` falls in that plan's cycle.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from tests.functional.truth.world import CommuneSpec, World

WEIGHTS: tuple[tuple[str, float], ...] = (
    ("stop", 0.40), ("mains", 0.20), ("nested", 0.15), ("battery-cut", 0.125), ("battery-dark", 0.125),
)


@dataclass(frozen=True)
class Timing:
    """The service's plan intervals (the only timers a truth run compresses)."""

    poll_s: float = 10.0
    health_s: float = 20.0
    inventory_s: float = 60.0

    def of(self, kind: str) -> float:
        """Observation interval of a fault kind: reachability for ``stop``, health (UPS-MIB) for ``mains``."""
        return self.health_s if kind == "mains" else self.poll_s


@dataclass(frozen=True)
class Fault:
    """One fault: ``kind`` ``stop`` (device silent) or ``mains`` (power system on battery)."""

    id: str
    kind: str
    device: str
    start: float  # seconds after T0
    end: float
    mode: str = "freeze"  # stop: freeze | kill; mains: drain
    drain_per_min: float = 0.0
    episode: str = ""

    @property
    def duration(self) -> float:
        """Seconds from start to end."""
        return self.end - self.start


@dataclass
class Schedule:
    """Every fault of one run, with the seeds and window that produced it."""

    faults: list[Fault]
    seeds: list[int]
    window_s: float
    timing: Timing

    def actions(self) -> list[tuple[float, str, Fault]]:
        """(offset, "start"|"end", fault), in time order (ends first on ties)."""
        out = [(f.start, "start", f) for f in self.faults] + [(f.end, "end", f) for f in self.faults]
        return sorted(out, key=lambda a: (a[0], a[1] != "end"))

    @property
    def last_end(self) -> float:
        """Offset of the last action."""
        return max((f.end for f in self.faults), default=0.0)


class _Builder:
    """Episode placement for one lane (a commune or a city device)."""

    def __init__(self, rng: random.Random, timing: Timing, window_s: float, prefix: str,
                 blocked: list[tuple[float, float]], phase0: float = 0.0) -> None:
        self.rng, self.t, self.window, self.prefix, self.phase0 = rng, timing, window_s, prefix, phase0
        self.blocked = sorted(blocked)
        self.faults: list[Fault] = []

    def u(self, lo: float, hi: float, unit: float) -> float:
        """Uniform in [lo, hi] × unit, rounded to 0.1 s."""
        return round(self.rng.uniform(lo, hi) * unit, 1)

    def place(self, cursor: float) -> float:
        """An episode start at or after ``cursor``: uniform jitter, or mid-cycle of the slowest plan."""
        start = cursor + self.rng.uniform(0, self.t.poll_s)
        if self.rng.random() < 1 / 3:
            v = self.t.inventory_s
            phase = self.rng.uniform(0.15, 0.45) * v
            start = math.floor((start + self.phase0) / v) * v + phase - self.phase0
            while start < cursor:
                start += v
        return round(start, 1)

    def fits(self, start: float, end: float, gap: float) -> float | None:
        """None when the faults [start, end] end inside the window and [start, end + gap] is clear of
        blocks; else a later cursor to try (``inf``: past the window)."""
        if end > self.window:
            return math.inf
        for lo, hi in self.blocked:
            if start < hi and end + gap > lo:
                return hi
        return None

    def fault(self, kind: str, device: str, start: float, end: float, episode: str, mode: str = "freeze",
              drain: float = 0.0) -> Fault:
        """A numbered fault of this lane."""
        return Fault(f"{self.prefix}{len(self.faults) + 1:02d}", kind, device, round(start, 1), round(end, 1),
                     mode, drain, episode)

    def run(self, choose: Callable[[float], tuple[list[tuple[str, str, float, float, str, float]], float]],
            cursor: float) -> list[Fault]:
        """Place episodes from ``cursor`` until the window is full."""
        misses = 0
        while misses < 8:
            start = self.place(cursor)
            parts, gap = choose(start)
            end = max(p[3] for p in parts)
            later = self.fits(start, end, gap)
            if later == math.inf:
                misses += 1  # too long for what is left of the window: try another episode
                continue
            if later is not None:
                cursor = later
                continue
            for kind, device, s, e, mode, drain in parts:
                self.faults.append(self.fault(kind, device, s, e, "", mode, drain))
            cursor = end + gap
        return self.faults


def _drain(rng: random.Random) -> float:
    """%/min: with 100 % charge this projects 28–50 min left (below the 60-minute warning line)."""
    return round(rng.uniform(2.0, 3.5), 2)


def commune_episodes(c: CommuneSpec, rng: random.Random, timing: Timing, window_s: float,
                     blocked: list[tuple[float, float]], cursor: float, phase0: float = 0.0) -> list[Fault]:
    """Sequential random episodes for one commune."""
    p, h = timing.poll_s, timing.health_s
    b = _Builder(rng, timing, window_s, f"{c.code}-", blocked, phase0)
    r, sw, bts, pwr = (c.device(x) for x in ("r", "sw", "bts", "pwr"))

    def choose(t: float) -> tuple[list[tuple[str, str, float, float, str, float]], float]:
        kind = rng.choices([k for k, _ in WEIGHTS], [w for _, w in WEIGHTS])[0]
        if kind == "stop":
            dev = rng.choices([bts, pwr, sw, r], [0.3, 0.2, 0.25, 0.25])[0]
            if rng.random() < 0.25:
                return [("stop", dev, t, t + b.u(0.3, 1.5, p), "freeze", 0.0)], 3 * p + rng.uniform(0, p)
            mode = "kill" if rng.random() < 0.3 else "freeze"
            return [("stop", dev, t, t + b.u(3.2, 6.0, p), mode, 0.0)], 3 * p + rng.uniform(0, p)
        if kind == "mains":
            return [("mains", pwr, t, t + b.u(2.6, 4.0, h), "drain", _drain(rng))], 3 * h + rng.uniform(0, p)
        if kind == "nested":
            child, parent = rng.choice([bts, pwr]), rng.choice([sw, r])
            p_down = t + b.u(3.2, 4.0, p)
            p_up = p_down + b.u(3.2, 4.5, p)
            c_up = p_up + b.u(3.2, 4.0, p)
            return [("stop", child, t, c_up, "freeze", 0.0), ("stop", parent, p_down, p_up, "freeze", 0.0)], \
                3 * p + rng.uniform(0, p)
        if kind == "battery-cut":
            parent = rng.choice([sw, r])
            p_down = t + b.u(1.6, 2.2, h)
            p_up = p_down + b.u(3.2, 4.5, p)
            m_up = p_up + b.u(1.3, 2.0, h)
            parts = [("mains", pwr, t, m_up, "drain", _drain(rng)),
                     ("stop", parent, p_down, p_up, "freeze", 0.0)]
            return parts, 3 * h + rng.uniform(0, p)
        # battery-dark
        d_down = t + b.u(1.6, 2.2, h)
        d_up = d_down + b.u(3.2, 4.5, p)
        m_up = d_up + b.u(1.3, 2.0, h)
        mode = "kill" if rng.random() < 0.5 else "freeze"
        return [("mains", pwr, t, m_up, "drain", _drain(rng)), ("stop", pwr, d_down, d_up, mode, 0.0)], \
            3 * h + rng.uniform(0, p)

    return _with_episode_names(b.run(choose, cursor), (sw, r))


def _episode_name(parts: list[tuple[str, str, float, float, str, float]], cutters: tuple[str, str]) -> str:
    """A readable episode label from its parts."""
    kinds = [(k, d) for k, d, *_ in parts]
    if len(kinds) == 1:
        k, d = kinds[0]
        return "mains" if k == "mains" else ("parent-cut" if d in cutters else "stop")
    if kinds[0][0] == "stop":
        return "nested"
    return "battery-dark" if kinds[1][1] == kinds[0][1] else "battery-cut"


def _with_episode_names(faults: list[Fault], cutters: tuple[str, str]) -> list[Fault]:
    """Fill ``episode`` for faults of a commune (overlapping faults form one episode)."""
    out: list[Fault] = []
    i = 0
    while i < len(faults):
        group = [faults[i]]
        while i + len(group) < len(faults) and faults[i + len(group)].start < max(f.end for f in group):
            group.append(faults[i + len(group)])
        parts = [(f.kind, f.device, f.start, f.end, f.mode, f.drain_per_min) for f in group]
        name = _episode_name(parts, cutters)
        out += [Fault(f.id, f.kind, f.device, f.start, f.end, f.mode, f.drain_per_min, name) for f in group]
        i += len(group)
    return out


def city_faults(world: World, rng: random.Random, timing: Timing, window_s: float,
                cursor: float, phase0: float = 0.0) -> list[Fault]:
    """Aggregation-router outages (alternating, never overlapping) and DNS-pair stops."""
    p = timing.poll_s
    out: list[Fault] = []
    t = cursor + rng.uniform(0, 2 * p)
    n = 0
    aggs = ["agg-a", "agg-b"]
    rng.shuffle(aggs)
    while True:
        dev = aggs[n % 2]
        end = t + round(rng.uniform(3.2, 5.0) * p, 1)
        if end + 3 * p > window_s:
            break
        n += 1
        out.append(Fault(f"city-{dev}-{n:02d}", "stop", dev, round(t, 1), round(end, 1),
                         "kill" if rng.random() < 0.25 else "freeze", 0.0, "parent-cut"))
        # long quiet spells between core outages so cut-off communes get time for their own faults
        t = end + 3 * p + rng.uniform(3 * timing.health_s + 6 * p, 3 * timing.health_s + 18 * p)
    for dev in ("dns-1", "dns-2"):
        b = _Builder(rng, timing, window_s, f"city-{dev}-", [], phase0)

        def choose(t: float, dev: str = dev) -> tuple[list[tuple[str, str, float, float, str, float]], float]:
            if rng.random() < 0.25:
                return [("stop", dev, t, t + round(rng.uniform(0.3, 1.5) * p, 1), "freeze", 0.0)], 3 * p
            mode = "kill" if rng.random() < 0.3 else "freeze"
            return [("stop", dev, t, t + round(rng.uniform(3.2, 6.0) * p, 1), mode, 0.0)], \
                3 * p + rng.uniform(2 * p, 8 * p)

        out += [Fault(f.id, f.kind, f.device, f.start, f.end, f.mode, f.drain_per_min, "stop")
                for f in b.run(choose, cursor + rng.uniform(0, 3 * p))]
    return out


def generate(world: World, seeds: list[int], timing: Timing, window_s: float,
             lead_s: float | None = None, phase0: float = 0.0) -> Schedule:
    """The whole run's schedule.

    The city core's faults come from ``seeds[0]``; the communes are dealt to the
    seeds round-robin and each commune's episodes come from
    ``random.Random(f"{seed}/{commune code}")``, so a seed reproduces its
    communes' schedules whatever else runs beside them. ``lead_s``: first
    possible fault instant (default one poll interval after ``T0``);
    ``phase0``: where ``T0`` falls in the slowest plan's cycle (seconds), so
    "mid-cycle" instants are mid-cycle of the running service's plan.
    """
    lead = timing.poll_s if lead_s is None else lead_s
    city = city_faults(world, random.Random(f"{seeds[0]}/city"), timing, window_s, lead, phase0)
    cuts = [f for f in city if f.device.startswith("agg-")]
    faults = list(city)
    for i, c in enumerate(world.communes):
        seed = seeds[i % len(seeds)]
        blocked = [(f.start, f.end + 3 * timing.poll_s)
                   for f in cuts if c.homing == f.device.removeprefix("agg-")]
        faults += commune_episodes(c, random.Random(f"{seed}/{c.code}"), timing, window_s, blocked, lead,
                                   phase0)
    return Schedule(sorted(faults, key=lambda f: (f.start, f.id)), list(seeds), window_s, timing)
