"""The durable outbox: every message to every contact is a row before anything is sent.

A row is inserted in the same transaction as the grouping state that produced
it, claimed (``sending`` with a lease) before an attempt, and marked ``sent``
right after the channel accepted it. A crash leaves rows ``pending`` (sent
later) or ``sending`` with an expired lease (sent again, with the same
idempotency key — Message-ID header, ZNS ``tracking_id``, SMS ``client_ref``
— so the peer can drop the rare duplicate of the one in-flight message).
Failures retry with exponential backoff; after a channel's ``max_attempts`` the
row falls back to the next channel of its chain (Zalo → SMS → e-mail). Rows are
never dropped: the last channel keeps retrying at the backoff ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from alerting.notify.config import Retry
from alerting.notify.messages import Rendered
from alerting.notify.tables import notify_outbox


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A claimed message ready for one attempt."""

    id: int
    dedup_key: str
    post: str
    contact: str
    kind: str
    message: Rendered
    chain: list[tuple[str, str]]
    channel_index: int
    attempts: int
    meta: dict[str, Any]

    @property
    def channel(self) -> tuple[str, str]:
        """(channel name, target) of the current attempt."""
        return self.chain[self.channel_index]

    @property
    def tracking(self) -> str:
        """Idempotency key sent to the peer: the same on every retry of this row."""
        return f"trucban-{self.id}"


class Outbox:
    """Rows in ``notify_outbox`` and their life cycle."""

    def __init__(self, engine: Engine, retry: Retry | None = None) -> None:
        self.engine = engine
        self.retry = retry or Retry()

    def enqueue(
        self,
        conn: Connection,
        *,
        dedup_key: str,
        post: str,
        contact: str,
        kind: str,
        message: Rendered,
        chain: list[tuple[str, str]],
        now: int,
        meta: dict[str, Any] | None = None,
    ) -> bool:
        """Insert a message in the caller's transaction; False if ``dedup_key`` is already there."""
        exists = conn.execute(
            select(notify_outbox.c.id).where(notify_outbox.c.dedup_key == dedup_key)
        ).first()
        if exists is not None or not chain:
            return False
        conn.execute(
            insert(notify_outbox).values(
                dedup_key=dedup_key,
                post=post,
                contact=contact[:100],
                kind=kind,
                subject=message.subject,
                short=message.short,
                text=message.text,
                html=message.html,
                chain=[list(c) for c in chain],
                channel_index=0,
                attempts=0,
                total_attempts=0,
                status="pending",
                next_attempt_at=now,
                claimed_until=None,
                created_at=now,
                sent_at=None,
                delivered_via=None,
                last_error=None,
                meta=meta or {},
            )
        )
        return True

    def claim_due(self, now: int, limit: int = 200) -> list[OutboxRow]:
        """Due rows (and rows whose lease expired after a crash), leased for ``retry.claim_s``."""
        c = notify_outbox.c
        due = or_(
            and_(c.status == "pending", c.next_attempt_at <= now),
            and_(c.status == "sending", c.claimed_until < now),
        )
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(notify_outbox).where(due).order_by(c.next_attempt_at, c.id).limit(limit)
            ).all()
            if rows:
                conn.execute(
                    update(notify_outbox)
                    .where(c.id.in_([r.id for r in rows]))
                    .values(status="sending", claimed_until=now + self.retry.claim_s)
                )
        return [
            OutboxRow(
                r.id,
                r.dedup_key,
                r.post,
                r.contact,
                r.kind,
                Rendered(r.subject, r.short, r.text, r.html),
                [(ch, t) for ch, t in r.chain],
                r.channel_index,
                r.attempts,
                dict(r.meta or {}),
            )
            for r in rows
        ]

    def sent(self, row: OutboxRow, now: int) -> None:
        """The channel accepted the message."""
        with self.engine.begin() as conn:
            conn.execute(
                update(notify_outbox)
                .where(notify_outbox.c.id == row.id)
                .values(
                    status="sent",
                    sent_at=now,
                    delivered_via=row.channel[0],
                    claimed_until=None,
                    total_attempts=notify_outbox.c.total_attempts + 1,
                )
            )

    def postpone(self, row: OutboxRow, at: int) -> None:
        """Not attempted (rate limit): back to pending until ``at``."""
        with self.engine.begin() as conn:
            conn.execute(
                update(notify_outbox)
                .where(notify_outbox.c.id == row.id)
                .values(status="pending", next_attempt_at=at, claimed_until=None)
            )

    def failed(
        self, row: OutboxRow, now: int, error: str, max_attempts: int, retry_after: float | None = None
    ) -> str:
        """Record a failed attempt: back off, or fall back to the next channel. Returns what happened."""
        attempts = row.attempts + 1
        index = row.channel_index
        if attempts >= max_attempts and index + 1 < len(row.chain):
            index, attempts, at, outcome = index + 1, 0, now, f"fallback→{row.chain[index + 1][0]}"
        else:
            delay = min(self.retry.backoff_s * 2 ** (attempts - 1), self.retry.max_backoff_s)
            at, outcome = now + int(max(delay, retry_after or 0.0)), "retry"
        with self.engine.begin() as conn:
            conn.execute(
                update(notify_outbox)
                .where(notify_outbox.c.id == row.id)
                .values(
                    status="pending",
                    channel_index=index,
                    attempts=attempts,
                    next_attempt_at=at,
                    claimed_until=None,
                    last_error=error[:500],
                    total_attempts=notify_outbox.c.total_attempts + 1,
                )
            )
        return outcome

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

    def counts(self) -> dict[str, int]:
        """Rows per status."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(notify_outbox.c.status, func.count()).group_by(notify_outbox.c.status))
            return {str(s): int(n) for s, n in rows}
