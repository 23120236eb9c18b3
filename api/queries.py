"""Incident queries the dashboard needs beyond the repository's (severity, kind, scope filters)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, func, select

from alerting.db import incidents
from alerting.incidents import Incident, IncidentKind, IncidentStatus, Severity


def find_incidents(
    engine: Engine,
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
    """A page of incidents, newest first, and the total matching.

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
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(
            query.order_by(incidents.c.opened_at.desc(), incidents.c.id.desc()).limit(limit).offset(offset)
        )
        return [_incident(r) for r in rows], int(total)


def _incident(r: Any) -> Incident:
    return Incident(
        id=r.id,
        key=r.key,
        kind=IncidentKind(r.kind),
        severity=Severity(r.severity),
        status=IncidentStatus(r.status),
        title=r.title,
        why=r.why,
        runbook=r.runbook,
        opened_at=r.opened_at,
        updated_at=r.updated_at,
        province=r.province,
        commune=r.commune,
        site=r.site,
        device=r.device,
        affected=tuple(r.affected or ()),
        details=dict(r.details or {}),
        resolved_at=r.resolved_at,
        acked_by=r.acked_by,
        acked_at=r.acked_at,
        ack_comment=r.ack_comment,
    )
