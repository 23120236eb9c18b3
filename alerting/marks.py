"""How far the incidents have moved: the id of the newest timeline line, overall or within some communes.

Every change of an incident — opened, changed, acknowledged, resolved, a message
sent or failed — appends a line to its timeline, so the newest line's id is a
cheap version of everything the incident pages show. The dashboard's live
channel reads it once a second (an index lookup) to tell browsers when to
refresh; a commune-scoped reader asks within its communes only, so it never
learns that another commune moved.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, func, select

from alerting.db import incident_events, incidents


class IncidentMarks:
    """Reads the newest timeline line id (0 when there is none)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def newest(self) -> int:
        """The newest line of any incident."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(incident_events.c.id))).scalar() or 0)

    def newest_in(self, communes: Iterable[str]) -> int:
        """The newest line of an incident of one of ``communes``."""
        codes = sorted(set(communes))
        if not codes:
            return 0
        query = (
            select(func.max(incident_events.c.id))
            .join(incidents, incidents.c.id == incident_events.c.incident_id)
            .where(incidents.c.commune.in_(codes))
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)
