"""Flap detection: Icinga's weighted state-change percentage with hysteresis.

Over the last ``window`` observations, each change of state counts with a
weight rising from 0.8 (oldest) to 1.2 (newest); the percentage is taken over
the changes possible so far, but never fewer than ``min_slots`` (by default
the whole window) — so one or two real outages (two changes each) are never
flapping, even just after start, while a link that keeps toggling is caught
after about eight observations instead of Icinga's twenty checks.
Flapping starts above ``start_pct`` and stops only below ``stop_pct``. A
third outage (good → bad) within the window is flapping too, however the
percentage stands: that catches a link toggling every poll after its second
outage was told, and never takes two real outages for flapping.
"""

from __future__ import annotations

from alerting.rules.config import FlappingRules


def flap_percent(history: list[int], window: int, min_slots: int = 1) -> float:
    """Weighted percentage of state changes in the last ``window`` observations."""
    recent = history[-window:]
    if len(recent) < 2:
        return 0.0
    slots = len(recent) - 1
    total = 0.0
    for i in range(1, len(recent)):
        weight = 0.8 + 0.4 * (i - 1) / max(slots - 1, 1)
        if recent[i] != recent[i - 1]:
            total += weight
    return 100.0 * total / max(slots, min_slots)


def outages(history: list[int], window: int) -> int:
    """Good → bad changes in the last ``window`` observations."""
    recent = history[-window:]
    return sum(1 for i in range(1, len(recent)) if recent[i - 1] == 1 and recent[i] == 0)


def is_flapping(history: list[int], was_flapping: bool, rules: FlappingRules) -> bool:
    """New flapping flag after one more observation, with hysteresis."""
    if len(history) < rules.min_checks:
        return False
    pct = flap_percent(history, rules.window, rules.min_slots)
    many = outages(history, rules.window) >= rules.min_outages
    if was_flapping:
        return many or pct >= rules.stop_pct
    return many or pct > rules.start_pct
