"""What notify may ask of incidents, and the two things it writes to them.

Notify learns of incidents from the core's change batches; for the rest —
catching up after a restart, escalation, digests, the typhoon summary — it
asks through :class:`IncidentReader` and writes only timeline lines and
acknowledgements through :class:`IncidentNotes`. The composition root hands
it the alerting repository (:class:`alerting.repository.IncidentRepository`
has every method), so notify never touches the incidents table, its columns
or the repository's internals.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy.engine import Connection

from alerting.incidents import Incident, IncidentEvent


class IncidentReader(Protocol):
    """Read-only questions notify asks about incidents."""

    def active(self) -> dict[str, Incident]:
        """Open and acknowledged incidents by key (without timelines)."""

    def get(self, incident_id: int) -> Incident:
        """One incident with its timeline (raises LookupError when there is none)."""

    def by_ids(self, ids: Iterable[int]) -> dict[int, Incident]:
        """The incidents among ``ids`` that exist, by id (without timelines)."""

    def overlapping(self, start: int, end: int) -> list[Incident]:
        """Incidents opened before ``end`` and not resolved before ``start`` (without timelines)."""


class IncidentNotes(Protocol):
    """What notify writes: lines in an incident's timeline, acknowledgements."""

    def add_event(self, conn: Connection, incident_id: int, event: IncidentEvent) -> None:
        """Append one timeline line in the caller's transaction (with notify's own rows)."""

    def acknowledge(self, incident_id: int, who: str, comment: str, now: int) -> Incident:
        """Record an acknowledgement (raises for an unknown or resolved incident)."""


class Incidents(IncidentReader, IncidentNotes, Protocol):
    """Everything notify needs of incidents."""
