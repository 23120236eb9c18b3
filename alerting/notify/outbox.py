"""The durable outbox: every message to every contact is a row before anything is sent.

A row is inserted in the same transaction as the grouping state that produced
it, claimed (``sending`` with a lease) before an attempt, and marked ``sent``
right after the channel accepted it. A crash leaves rows ``pending`` (sent
later) or ``sending`` with an expired lease (sent again, with the same
idempotency key — Message-ID header, ZNS ``tracking_id``, SMS ``client_ref``
— so the peer can drop the rare duplicate of the one in-flight message).
Failures retry with exponential backoff; after a channel's ``max_attempts`` the
row falls back to the next channel of its chain (Zalo → SMS → e-mail). A row that
cannot be sent at all on a channel (its URL cannot be built, the sender raised)
falls back at once. Rows are never dropped: the last channel keeps retrying at
the backoff ceiling.

Claims carry the identity of the process that holds them
(:class:`~alerting.notify.claims.ProcessIdentity`), and ``attempt_started_at`` is written before each
send and cleared after it. At start (:meth:`Outbox.reclaim_orphans`) the rows
claimed by a process that is no longer running — a previous run of this node —
are taken back at once instead of waiting for the lease; those that were in
flight may have reached the peer, are sent again at most once and counted in
``crash_resends``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from alerting.notify.claims import ProcessIdentity
from alerting.notify.config import Retry
from alerting.notify.messages import Rendered
from alerting.notify.outbox_reads import OutboxReads
from alerting.notify.tables import notify_outbox
from common.retry import exponential_delay


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


@dataclass(frozen=True, slots=True)
class Reclaimed:
    """Rows taken back from a dead process at start."""

    rows: int
    in_flight: list[OutboxRow]


class Outbox(OutboxReads):
    """Rows in ``notify_outbox`` and their life cycle (reads for the dashboard: :class:`OutboxReads`)."""

    def __init__(
        self, engine: Engine, retry: Retry | None = None, identity: ProcessIdentity | None = None
    ) -> None:
        self.engine = engine
        self.retry = retry or Retry()
        self.identity = identity or ProcessIdentity.current()

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
                    .values(
                        status="sending",
                        claimed_until=now + self.retry.claim_s,
                        claimed_by=str(self.identity),
                    )
                )
        return [_row(r) for r in rows]

    def reclaim_orphans(self, now: int) -> Reclaimed:
        """Take back at once the rows claimed by a process of this node that no longer runs.

        Rows whose attempt had started (``attempt_started_at`` set) may have
        reached the peer: they are counted in ``crash_resends`` and returned so
        the caller can note the possible duplicate in the incident timeline.
        """
        c = notify_outbox.c
        with self.engine.begin() as conn:
            rows = conn.execute(select(notify_outbox).where(c.status == "sending")).all()
            gone = [
                r
                for r in rows
                if (holder := ProcessIdentity.parse(r.claimed_by)) is not None
                and self.identity.holder_gone(holder)
            ]
            in_flight = [r for r in gone if r.attempt_started_at is not None]
            if in_flight:
                conn.execute(
                    update(notify_outbox)
                    .where(c.id.in_([r.id for r in in_flight]))
                    .values(crash_resends=c.crash_resends + 1)
                )
            if gone:
                conn.execute(
                    update(notify_outbox)
                    .where(c.id.in_([r.id for r in gone]))
                    .values(
                        status="pending",
                        next_attempt_at=now,
                        claimed_until=None,
                        claimed_by=None,
                        attempt_started_at=None,
                    )
                )
        return Reclaimed(len(gone), [_row(r) for r in in_flight])

    def attempting(self, row: OutboxRow, now: int) -> None:
        """Record, before the send, that an attempt on the row's current channel starts now."""
        with self.engine.begin() as conn:
            conn.execute(
                update(notify_outbox)
                .where(notify_outbox.c.id == row.id)
                .values(
                    attempt_started_at=now,
                    channel_index=row.channel_index,
                    attempts=row.attempts,
                    claimed_by=str(self.identity),
                )
            )

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
                    claimed_by=None,
                    attempt_started_at=None,
                    total_attempts=notify_outbox.c.total_attempts + 1,
                )
            )

    def postpone(self, row: OutboxRow, at: int) -> None:
        """Not attempted (rate limit): back to pending until ``at``."""
        with self.engine.begin() as conn:
            conn.execute(
                update(notify_outbox)
                .where(notify_outbox.c.id == row.id)
                .values(
                    status="pending",
                    next_attempt_at=at,
                    claimed_until=None,
                    claimed_by=None,
                    attempt_started_at=None,
                )
            )

    def failed(
        self,
        row: OutboxRow,
        now: int,
        error: str,
        max_attempts: int,
        retry_after: float | None = None,
        *,
        permanent: bool = False,
        hold: bool = False,
    ) -> str:
        """Record a failed attempt: back off, or fall back to the next channel. Returns what happened.

        ``permanent``: this channel cannot send the row at all (bad URL, sender
        bug), so the row falls back at once instead of spending ``max_attempts``.
        ``hold``: on a fallback the caller tries the next channel right away, so
        the row stays claimed by this process instead of going back to pending.
        """
        attempts = row.attempts + 1
        index = row.channel_index
        if (attempts >= max_attempts or permanent) and index + 1 < len(row.chain):
            index, attempts, at, outcome = index + 1, 0, now, f"fallback→{row.chain[index + 1][0]}"
        else:
            delay = exponential_delay(attempts - 1, self.retry.backoff_s, self.retry.max_backoff_s)
            at, outcome = now + int(max(delay, retry_after or 0.0)), "retry"
        held = hold and outcome != "retry"
        with self.engine.begin() as conn:
            conn.execute(
                update(notify_outbox)
                .where(notify_outbox.c.id == row.id)
                .values(
                    status="sending" if held else "pending",
                    channel_index=index,
                    attempts=attempts,
                    next_attempt_at=at,
                    claimed_until=now + self.retry.claim_s if held else None,
                    claimed_by=str(self.identity) if held else None,
                    attempt_started_at=None,
                    last_error=error[:500],
                    total_attempts=notify_outbox.c.total_attempts + 1,
                )
            )
        return outcome


def _row(r: Any) -> OutboxRow:
    return OutboxRow(
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
