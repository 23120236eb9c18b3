"""The audit log: every write says who, when, what (and from where)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select

from api.auth.tables import audit_log


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited action."""

    id: int
    ts: int
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    ip: str


class AuditLog:
    """Append-only record of writes (acknowledgements, maintenance, accounts, logins)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        actor: str,
        action: str,
        target: str = "",
        details: dict[str, Any] | None = None,
        ip: str = "",
        now: int | None = None,
    ) -> None:
        """Append one entry; never holds secrets (callers pass names and ids only)."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(audit_log).values(
                    ts=now or int(time.time()),
                    actor=actor,
                    action=action,
                    target=target,
                    details=details or {},
                    ip=ip,
                    text="",
                )
            )

    def list(
        self, *, actor: str | None = None, action: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[AuditEntry], int]:
        """A page of entries, newest first, and the total matching."""
        query = select(audit_log)
        if actor:
            query = query.where(audit_log.c.actor == actor)
        if action:
            query = query.where(audit_log.c.action == action)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit).offset(offset))
            return [
                AuditEntry(r.id, r.ts, r.actor, r.action, r.target, dict(r.details or {}), r.ip) for r in rows
            ], int(total)
