"""Replay a (historical) storm against recorded data: how did the exposed communes fare?

For drills (*diễn tập*) and after-action reviews: for every exposed commune,
over the storm window around its arrival, the share of device-time that was up
and which devices went down or were cut off, from the state history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from alerting.history import StateHistory
from inventory.inventory import Inventory

BEFORE_S = 6 * 3600
AFTER_S = 24 * 3600
UP = ("up", "degraded")


@dataclass(frozen=True, slots=True)
class CommuneReplay:
    """What the record shows for one exposed commune around the storm's arrival."""

    code: str
    name: str
    start: int
    end: int
    up_pct: float | None  # share of recorded device-time up (None: nothing recorded)
    went_down: tuple[str, ...]
    cut_off: tuple[str, ...]


def replay(
    exposure: list[dict[str, Any]], inventory: Inventory, history: StateHistory
) -> list[CommuneReplay]:
    """One :class:`CommuneReplay` per exposed commune, in arrival order."""
    out = []
    for e in exposure:
        code = e["code"]
        start, end = int(e["eta"]) - BEFORE_S, int(e["eta"]) + AFTER_S
        devices = inventory.devices_by_commune.get(code, [])
        spans = history.intervals(start, end, devices)
        seconds: dict[str, int] = defaultdict(int)
        down: set[str] = set()
        cut: set[str] = set()
        for span in spans:
            seconds[span.status] += span.end - span.start
            if span.status == "down":
                down.add(span.subject)
            elif span.status == "unreachable":
                cut.add(span.subject)
        counted = sum(v for k, v in seconds.items() if k not in ("maintenance", "unknown"))
        up = sum(seconds[k] for k in UP)
        out.append(
            CommuneReplay(
                code,
                e["name"],
                start,
                end,
                round(100.0 * up / counted, 2) if counted else None,
                tuple(sorted(down)),
                tuple(sorted(cut)),
            )
        )
    return out
