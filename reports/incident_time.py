"""Time on backup link and time on battery, from the incidents that say so.

``link_on_backup`` incidents (one per commune) give the time a commune ran on
its backup path; ``bts_on_battery`` incidents (one per power system) the time
a BTS site ran on battery. Both are clipped to the period; an incident still
open runs to the period's end; overlapping spans of one commune are merged.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Engine, and_, or_, select

from alerting.db import incidents
from alerting.incidents import IncidentKind


def incident_spans(engine: Engine, kind: IncidentKind, start: int, end: int
                   ) -> list[tuple[str | None, str | None, int, int]]:
    """(commune, device, from, to) of every ``kind`` incident overlapping [start, end), clipped."""
    c = incidents.c
    query = select(c.commune, c.device, c.opened_at, c.resolved_at).where(and_(
        c.kind == kind.value, c.opened_at < end, or_(c.resolved_at.is_(None), c.resolved_at > start)))
    out = []
    with engine.connect() as conn:
        for commune, device, opened, resolved in conn.execute(query):
            lo, hi = max(int(opened), start), min(end if resolved is None else int(resolved), end)
            if hi > lo:
                out.append((commune, device, lo, hi))
    return out


def union_seconds(spans: list[tuple[int, int]]) -> int:
    """Length of the union of [a, b) spans."""
    total, cur_a, cur_b = 0, None, None
    for a, b in sorted(spans):
        if cur_b is None or a > cur_b:
            if cur_b is not None and cur_a is not None:
                total += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_a is not None and cur_b is not None:
        total += cur_b - cur_a
    return total


def per_key(spans: list[tuple[str | None, str | None, int, int]], use: str) -> dict[str, int]:
    """Merged seconds per commune (``use="commune"``) or per device (``use="device"``)."""
    grouped: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for commune, device, a, b in spans:
        key = commune if use == "commune" else device
        if key:
            grouped[key].append((a, b))
    return {k: union_seconds(v) for k, v in grouped.items()}


def backup_seconds(engine: Engine, start: int, end: int) -> dict[str, int]:
    """Commune → seconds on the backup link in [start, end)."""
    return per_key(incident_spans(engine, IncidentKind.LINK_ON_BACKUP, start, end), "commune")


def battery_seconds(engine: Engine, start: int, end: int) -> tuple[dict[str, int], dict[str, int]]:
    """(device → seconds, commune → seconds) on battery in [start, end)."""
    spans = incident_spans(engine, IncidentKind.BTS_ON_BATTERY, start, end)
    return per_key(spans, "device"), per_key(spans, "commune")
