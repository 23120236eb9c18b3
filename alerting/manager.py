"""Conditions → incidents: open, update, resolve; one incident per stable key.

The manager is the only writer of incident life-cycle changes. It reconciles
the full set of a cycle's conditions with the active incidents in one database
transaction, so a crash leaves either the old or the new picture, never half.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from enum import StrEnum

from alerting.incidents import SEVERITY_VI, Condition, Incident, IncidentEvent
from alerting.repository import IncidentRepository


class ChangeKind(StrEnum):
    """What happened to an incident in a reconcile."""

    OPENED = "opened"
    UPDATED = "updated"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Change:
    """An incident life-cycle change, for notification."""

    kind: ChangeKind
    incident: Incident


class IncidentManager:
    """Keeps incidents in step with the rules' current conditions."""

    def __init__(self, repo: IncidentRepository) -> None:
        self.repo = repo

    def reconcile(self, conditions: list[Condition], now: int, *, only: Set[str] | None = None,
                  was_active: Set[str] | None = None) -> list[Change]:
        """Open new, update changed, resolve vanished incidents; return the changes.

        ``only``: the keys whose condition may differ from the last reconcile that went through
        (the others' incidents already match, so are neither read nor written); None: every key.
        ``was_active``: with ``only``, the keys that reconcile left active (the others have no
        active incident, so are not looked up).
        """
        wanted = {c.key: c for c in conditions}
        if only is None:
            active = self.repo.active()
        else:
            wanted = {k: c for k, c in wanted.items() if k in only}
            active = self.repo.active_among(only if was_active is None else only & was_active)
        changes: list[Change] = []
        with self.repo.engine.begin() as conn:
            new = [c for k, c in wanted.items() if k not in active]
            changes += [Change(ChangeKind.OPENED, inc) for inc in self.repo.open_many(new, now, conn)]
            for key, cond in wanted.items():
                current = active.get(key)
                if current is None:
                    continue
                values, events = _diff(current, cond, now)
                if values:
                    changes.append(
                        Change(ChangeKind.UPDATED, self.repo.change(conn, current.id, values, events))
                    )
            gone = [inc for key, inc in active.items() if key not in wanted]
            resolved = self.repo.resolve_many(gone, now, conn, "Đã trở lại bình thường")
            changes += [Change(ChangeKind.RESOLVED, inc) for inc in resolved]
        return changes


def _diff(current: Incident, cond: Condition, now: int) -> tuple[dict, list[IncidentEvent]]:
    """Column updates and timeline events for a still-active incident."""
    values: dict = {}
    events: list[IncidentEvent] = []
    if cond.severity != current.severity:
        values["severity"] = int(cond.severity)
        events.append(
            IncidentEvent(
                now,
                "severity",
                f"Mức độ: {SEVERITY_VI[current.severity]} → {SEVERITY_VI[cond.severity]}",
                data={"from": int(current.severity), "to": int(cond.severity)},
            )
        )
    if tuple(cond.affected) != tuple(current.affected):
        values["affected"] = list(cond.affected)
        events.append(
            IncidentEvent(
                now,
                "scope",
                f"Ảnh hưởng: {len(cond.affected)} (trước: {len(current.affected)})",
                data={"affected": list(cond.affected)},
            )
        )
    if cond.title != current.title or cond.why != current.why:
        values["title"], values["why"] = cond.title, cond.why
    details = {k: (list(v) if isinstance(v, tuple) else v) for k, v in cond.details.items()}
    if details != current.details:
        values["details"] = details
    if values:
        values["updated_at"] = now
    return values, events
