"""Reading and writing incidents and their timelines (SQLAlchemy Core)."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, Update, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from alerting.bulk import execute_many
from alerting.db import incident_events, incidents
from alerting.incidents import (
    Condition,
    Incident,
    IncidentEvent,
    IncidentKind,
    IncidentStatus,
    Severity,
)

# what a national reconcile writes by the thousand, as driver SQL (alerting.bulk)
ADD_EVENT = ("INSERT INTO incident_events (incident_id, ts, kind, text, actor, data) "
             "VALUES ({}, {}, {}, {}, {}, {})")
RESOLVE = "UPDATE incidents SET status = {}, resolved_at = {}, updated_at = {} WHERE id = {}"


class IncidentNotFound(LookupError):
    """No incident with that id."""


class IncidentRepository:
    """Incidents and their timeline in the alerting database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def active(self) -> dict[str, Incident]:
        """Open and acknowledged incidents by key (without timelines)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(incidents).where(incidents.c.status != IncidentStatus.RESOLVED.value))
            return {r.key: incident_from_row(r) for r in rows}

    def active_among(self, keys: Iterable[str]) -> dict[str, Incident]:
        """The open and acknowledged incidents among ``keys``, by key, in key order (as :meth:`active`)."""
        wanted = sorted(set(keys))
        out: dict[str, Incident] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                rows = conn.execute(select(incidents).where(
                    incidents.c.key.in_(wanted[i:i + 500]),
                    incidents.c.status != IncidentStatus.RESOLVED.value))
                out.update((r.key, incident_from_row(r)) for r in rows)
        return dict(sorted(out.items()))

    def get(self, incident_id: int) -> Incident:
        """One incident with its whole timeline."""
        with self.engine.connect() as conn:
            row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
            if row is None:
                raise IncidentNotFound(f"incident {incident_id} does not exist")
            inc = incident_from_row(row)
            events = conn.execute(
                select(incident_events)
                .where(incident_events.c.incident_id == incident_id)
                .order_by(incident_events.c.id)
            )
            inc.events = [IncidentEvent(e.ts, e.kind, e.text, e.actor, e.data or {}) for e in events]
            return inc

    def by_ids(self, ids: Iterable[int]) -> dict[int, Incident]:
        """The incidents among ``ids`` that exist, by id (without timelines)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(incidents).where(incidents.c.id.in_(wanted)))
            return {r.id: incident_from_row(r) for r in rows}

    def overlapping(self, start: int, end: int) -> builtins.list[Incident]:
        """Incidents opened before ``end``, not resolved before ``start`` (no timelines), oldest first."""
        c = incidents.c
        query = select(incidents).where(c.opened_at < end,
                                        or_(c.resolved_at.is_(None), c.resolved_at >= start))
        with self.engine.connect() as conn:
            return [incident_from_row(r) for r in conn.execute(query.order_by(c.id))]

    def list(
        self,
        *,
        status: str | None = None,
        commune: str | None = None,
        communes: Iterable[str] | None = None,
        severity: int | None = None,
        kind: str | None = None,
        device: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Incident], int]:
        """A page of incidents, newest first, and the total matching count.

        ``status`` 'active' means open or acknowledged; ``severity`` is a minimum;
        ``communes`` limits to a scope (city-level incidents without a commune are out).
        """
        query = select(incidents)
        if status == "active":
            query = query.where(incidents.c.status != IncidentStatus.RESOLVED.value)
        elif status:
            query = query.where(incidents.c.status == status)
        if commune:
            query = query.where(incidents.c.commune == commune)
        if communes is not None:
            query = query.where(incidents.c.commune.in_(list(communes)))
        if severity is not None:
            query = query.where(incidents.c.severity >= severity)
        if kind:
            query = query.where(incidents.c.kind == kind)
        if device:
            query = query.where(incidents.c.device == device)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = conn.execute(
                query.order_by(incidents.c.opened_at.desc(), incidents.c.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return [incident_from_row(r) for r in rows], int(total)

    def open_many(
        self, conds: builtins.list[Condition], now: int, conn: Connection
    ) -> builtins.list[Incident]:
        """Insert incidents for new conditions (one round trip) with their 'opened' events."""
        if not conds:
            return []
        rows = [
            dict(
                key=c.key,
                kind=c.kind.value,
                severity=int(c.severity),
                status=IncidentStatus.OPEN.value,
                title=c.title,
                why=c.why,
                runbook=c.runbook,
                province=c.province,
                commune=c.commune,
                site=c.site,
                device=c.device,
                affected=list(c.affected),
                details=_jsonable(c.details),
                opened_at=c.since,
                updated_at=now,
            )
            for c in conds
        ]
        ids = {
            r.key: r.id
            for r in conn.execute(
                # ids are matched by key: no row order needed, so the rows go in batches, not one by one
                insert(incidents).returning(incidents.c.id, incidents.c.key),
                rows,
            )
        }
        execute_many(conn, ADD_EVENT, [(ids[c.key], now, "opened", c.why, "trucban", "{}") for c in conds])
        return [_incident_from(dict(row, id=ids[row["key"]])) for row in rows]

    def resolve_many(
        self, active: builtins.list[Incident], now: int, conn: Connection, text: str
    ) -> builtins.list[Incident]:
        """Mark incidents resolved (one round trip each for rows and events)."""
        if not active:
            return []
        execute_many(conn, RESOLVE, [(IncidentStatus.RESOLVED.value, now, now, inc.id) for inc in active])
        execute_many(conn, ADD_EVENT, [(inc.id, now, "resolved", text, "trucban", "{}") for inc in active])
        for inc in active:
            inc.status, inc.resolved_at, inc.updated_at = IncidentStatus.RESOLVED, now, now
        return active

    def change(
        self, conn: Connection, incident_id: int, values: dict[str, Any], events: builtins.list[IncidentEvent]
    ) -> Incident:
        """Update columns and append timeline events in the caller's transaction."""
        columns = tuple(sorted(values))
        row = conn.execute(_update_returning(columns),
                           {"_id": incident_id, **{f"v_{c}": values[c] for c in columns}}).one()
        execute_many(conn, ADD_EVENT, [(incident_id, e.ts, e.kind, e.text, e.actor,
                                        json.dumps(_jsonable(e.data))) for e in events])
        return incident_from_row(row)

    def acknowledge(self, incident_id: int, who: str, comment: str, now: int) -> Incident:
        """Record an acknowledgement (stops escalation); resolved incidents cannot be acked."""
        with self.engine.begin() as conn:
            row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
            if row is None:
                raise IncidentNotFound(f"incident {incident_id} does not exist")
            if row.status == IncidentStatus.RESOLVED.value:
                raise ValueError(f"incident {incident_id} is already resolved")
            text = f"{who} đã xác nhận" + (f": {comment}" if comment else "")
            return self.change(
                conn,
                incident_id,
                {
                    "status": IncidentStatus.ACKNOWLEDGED.value,
                    "acked_by": who,
                    "acked_at": now,
                    "ack_comment": comment,
                    "updated_at": now,
                },
                [IncidentEvent(now, "acknowledged", text, actor=who)],
            )

    @staticmethod
    def add_event(conn: Connection, incident_id: int, event: IncidentEvent) -> None:
        """Append one timeline line."""
        conn.execute(
            insert(incident_events).values(
                incident_id=incident_id,
                ts=event.ts,
                kind=event.kind,
                text=event.text,
                actor=event.actor,
                data=_jsonable(event.data),
            )
        )


@lru_cache(maxsize=64)
def _update_returning(columns: tuple[str, ...]) -> Update:
    """``UPDATE incidents SET <columns> WHERE id = :_id RETURNING *``, built once per column set
    (SQLAlchemy then reuses its compiled form instead of building it again for every update)."""
    return (update(incidents).where(incidents.c.id == bindparam("_id"))
            .values({c: bindparam(f"v_{c}") for c in columns}).returning(*incidents.c))


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items()}


def incident_from_row(r: Row) -> Incident:
    """An :class:`Incident` from a row of the ``incidents`` table (the one mapping of its columns)."""
    return _incident_from(r._asdict())


def _incident_from(r: dict[str, Any]) -> Incident:
    return Incident(
        id=r["id"],
        key=r["key"],
        kind=IncidentKind(r["kind"]),
        severity=Severity(r["severity"]),
        status=IncidentStatus(r["status"]),
        title=r["title"],
        why=r["why"],
        runbook=r["runbook"],
        opened_at=r["opened_at"],
        updated_at=r["updated_at"],
        province=r["province"],
        commune=r["commune"],
        site=r["site"],
        device=r["device"],
        affected=tuple(r["affected"] or ()),
        details=dict(r["details"] or {}),
        resolved_at=r.get("resolved_at"),
        acked_by=r.get("acked_by"),
        acked_at=r.get("acked_at"),
        ack_comment=r.get("ack_comment"),
    )
