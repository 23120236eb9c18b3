"""Flap detection: Icinga's weighted state-change percentage with hysteresis.

Over the last ``window`` observations, each change of state counts with a
weight rising from 0.8 (oldest) to 1.2 (newest); the percentage is taken over
the changes possible so far, but never fewer than ``min_slots`` — so one
outage and its recovery (two changes) is never flapping, while a link that
keeps toggling is caught after a few minutes instead of Icinga's twenty checks.
Flapping starts above ``start_pct`` and stops only below ``stop_pct``.
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


def is_flapping(history: list[int], was_flapping: bool, rules: FlappingRules) -> bool:
    """New flapping flag after one more observation, with hysteresis."""
    if len(history) < rules.min_checks:
        return False
    pct = flap_percent(history, rules.window, rules.min_slots)
    if was_flapping:
        return pct >= rules.stop_pct
    return pct > rules.start_pct
