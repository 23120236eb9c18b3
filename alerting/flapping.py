"""Flap detection: Icinga's weighted state-change percentage with hysteresis.

Over the last ``window`` observations, each change of state counts with a
weight rising from 0.8 (oldest) to 1.2 (newest); the percentage is taken over
the changes possible so far, but never fewer than ``min_slots`` (by default
the whole window) — so one or two real outages (two changes each) are never
flapping, even just after start, while a link that keeps toggling is caught
after about eight observations instead of Icinga's twenty checks.
Flapping starts above ``start_pct`` and stops only below ``stop_pct``. Only
*brief* runs flap: a change counts when it begins or ends a finished run of at
most ``brief_run`` observations, and a third brief outage within the window is
flapping however the percentage stands. Real outages — longer than a brief
run — are never flapping, whatever their number: each is told on its own, as
the command post must hear of every outage longer than two intervals.
"""

from __future__ import annotations

from alerting.rules.config import FlappingRules


def runs(history: list[int]) -> list[tuple[int, int]]:
    """Run-length encoding: ``[1, 0, 0, 1]`` → ``[(1, 1), (0, 2), (1, 1)]``."""
    out: list[tuple[int, int]] = []
    for value in history:
        if out and out[-1][0] == value:
            out[-1] = (value, out[-1][1] + 1)
        else:
            out.append((value, 1))
    return out


def flap_percent(history: list[int], window: int, min_slots: int = 1, brief_run: int | None = None) -> float:
    """Weighted percentage of state changes in the last ``window`` observations.

    With ``brief_run``, only changes that begin or end a finished run of at
    most that many observations count: a long outage and its recovery are two
    real events, not a flap.
    """
    recent = history[-window:]
    if len(recent) < 2:
        return 0.0
    slots = len(recent) - 1
    counted = _changes_around_brief_runs(recent, brief_run)
    total = 0.0
    for i in range(1, len(recent)):
        weight = 0.8 + 0.4 * (i - 1) / max(slots - 1, 1)
        if recent[i] != recent[i - 1] and i in counted:
            total += weight
    return 100.0 * total / max(slots, min_slots)


def _changes_around_brief_runs(recent: list[int], brief_run: int | None) -> set[int]:
    """Indexes of the changes that count (all of them without ``brief_run``)."""
    changes = {i for i in range(1, len(recent)) if recent[i] != recent[i - 1]}
    if brief_run is None:
        return changes
    counted: set[int] = set()
    start, encoded = 0, runs(recent)
    for n, (_value, length) in enumerate(encoded):
        whole = 0 < n < len(encoded) - 1  # the window may cut the first run; the last goes on
        if whole and length <= brief_run:
            counted |= {start, start + length} & changes
        start += length
    return counted


def brief_outages(history: list[int], window: int, brief_run: int) -> int:
    """Outages of at most ``brief_run`` observations in the last ``window`` (the newest: so far)."""
    encoded = runs(history[-window:])
    return sum(1 for n, (value, length) in enumerate(encoded) if value == 0 and n > 0 and length <= brief_run)


def is_flapping(history: list[int], was_flapping: bool, rules: FlappingRules) -> bool:
    """New flapping flag after one more observation, with hysteresis.

    A device silent for longer than a brief run has settled: it is down, and
    its own incident speaks (a flapping flag must never hide a real outage).
    """
    if len(history) < rules.min_checks:
        return False
    last_value, last_length = runs(history)[-1]
    if last_value == 0 and last_length > rules.brief_run:
        return False
    pct = flap_percent(history, rules.window, rules.min_slots, rules.brief_run)
    many = brief_outages(history, rules.window, rules.brief_run) >= rules.min_outages
    if was_flapping:
        return many or pct >= rules.stop_pct
    return many or pct > rules.start_pct
