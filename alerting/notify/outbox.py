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
(:class:`ProcessIdentity`), and ``attempt_started_at`` is written before each
send and cleared after it. At start (:meth:`Outbox.reclaim_orphans`) the rows
claimed by a process that is no longer running — a previous run of this node —
are taken back at once instead of waiting for the lease; those that were in
flight may have reached the peer, are sent again at most once and counted in
``crash_resends``.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path
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


def _boot_id() -> str:
    """This machine's boot id ('' where the kernel does not tell)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> str | None:
    """A process's start time (clock ticks since boot, /proc); None if it does not run, '' if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    """Who holds a claim: host, boot, pid, process start and a random token, as one string."""

    host: str
    boot: str
    pid: int
    start: str
    token: str = field(default_factory=lambda: secrets.token_hex(6))

    @classmethod
    def current(cls) -> ProcessIdentity:
        """The identity of this process (a new token each time: each Outbox is its own claimer)."""
        pid = os.getpid()
        return cls(socket.gethostname()[:64], _boot_id(), pid, _start_ticks(pid) or "")

    def __str__(self) -> str:
        return f"{self.host}|{self.boot}|{self.pid}|{self.start}|{self.token}"

    @classmethod
    def parse(cls, text: str | None) -> ProcessIdentity | None:
        """The identity written in ``claimed_by``; None if missing or malformed."""
        parts = (text or "").split("|")
        if len(parts) != 5 or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]), parts[3], parts[4])

    def holder_gone(self, holder: ProcessIdentity) -> bool:
        """Is the process that wrote ``holder`` certainly not running any more?

        Only decidable on this node (same host): another boot, no such pid, or
        a pid reused by another process (other start time). A claim by another
        host is left to its lease.
        """
        if holder.host != self.host or str(holder) == str(self):
            return False
        if holder.boot and self.boot and holder.boot != self.boot:
            return True
        if not self.start:  # no /proc here: ask the kernel whether the pid exists
            try:
                os.kill(holder.pid, 0)
            except ProcessLookupError:
                return True
            except OSError:
                return False
            return False
        start = _start_ticks(holder.pid)
        if start is None:
            return True
        return bool(start and holder.start and start != holder.start)


@dataclass(frozen=True, slots=True)
class Reclaimed:
    """Rows taken back from a dead process at start."""

    rows: int
    in_flight: list[OutboxRow]


class Outbox:
    """Rows in ``notify_outbox`` and their life cycle."""

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
            delay = min(self.retry.backoff_s * 2 ** (attempts - 1), self.retry.max_backoff_s)
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
