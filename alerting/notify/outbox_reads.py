"""What the dashboard and self-monitoring read from the outbox: counts, due time, a page of rows, health.

Read-only queries over ``notify_outbox``, apart from the rows' life cycle
(:mod:`alerting.notify.outbox`); :class:`~alerting.notify.outbox.Outbox`
inherits them, so callers ask one object.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, func, select

from alerting.notify.tables import notify_outbox


class OutboxReads:
    """Read-only views of ``notify_outbox`` (no secrets: targets never leave the table)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def pending_count(self) -> int:
        """Rows not yet delivered."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(notify_outbox).where(notify_outbox.c.status != "sent")
                ).scalar_one()
            )

    def next_due(self) -> int | None:
        """Earliest next attempt among pending rows."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.min(notify_outbox.c.next_attempt_at)).where(notify_outbox.c.status == "pending")
            ).scalar_one()

    def list(
        self, *, status: str | None = None, post: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of outbox rows (newest first) for the dashboard, and the total; no secrets inside."""
        c = notify_outbox.c
        query = select(
            c.id,
            c.post,
            c.contact,
            c.kind,
            c.subject,
            c.chain,
            c.channel_index,
            c.attempts,
            c.total_attempts,
            c.status,
            c.next_attempt_at,
            c.created_at,
            c.sent_at,
            c.delivered_via,
            c.last_error,
            c.crash_resends,
        )
        if status:
            query = query.where(c.status == status)
        if post:
            query = query.where(c.post == post)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = conn.execute(query.order_by(c.id.desc()).limit(limit).offset(offset)).all()
        out = []
        for r in rows:
            item = dict(r._mapping)
            item["channels"] = [ch for ch, _ in item.pop("chain")]
            out.append(item)
        return out, int(total)

    def channel_health(self, now: int, failed_attempts: int, stuck_s: int) -> dict[str, dict[str, int]]:
        """Per channel (the one each row is on now): rows ``pending``, ``failing`` (undelivered after
        ``failed_attempts`` attempts), ``stuck`` (undelivered for more than ``stuck_s``) and ``failed``
        attempts in all — the delivery health self-monitoring and ``/metrics`` are given."""
        c = notify_outbox.c
        query = select(c.chain, c.channel_index, c.total_attempts, c.status, c.created_at)
        out: dict[str, dict[str, int]] = defaultdict(
            lambda: {"pending": 0, "failing": 0, "stuck": 0, "failed": 0})
        with self.engine.connect() as conn:
            for chain, index, total, status, created in conn.execute(query):
                channel = chain[index][0] if chain and index < len(chain) else "?"
                row = out[channel]
                row["failed"] += int(total) - (1 if status == "sent" else 0)
                if status == "sent":
                    continue
                row["pending"] += 1
                if int(total) >= failed_attempts:
                    row["failing"] += 1
                if now - int(created) > stuck_s:
                    row["stuck"] += 1
        return dict(out)

    def crash_resends(self) -> int:
        """Messages sent again after a crash because their attempt was in flight (possible duplicates)."""
        with self.engine.connect() as conn:
            total = conn.execute(select(func.sum(notify_outbox.c.crash_resends))).scalar_one()
            return int(total or 0)

    def counts(self) -> dict[str, int]:
        """Rows per status."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(notify_outbox.c.status, func.count()).group_by(notify_outbox.c.status))
            return {str(s): int(n) for s, n in rows}
