"""Alertmanager-style grouping per command post, kept in the database.

Each post has one group. First news is never batched: an incident new to the
post is flushed ``group_wait`` after it arrived (a few seconds, to gather what
one failure opens at once), whenever the post last heard from Trucban, and that
flush carries every pending follow-up with it. Follow-ups — severity or scope
changes and recoveries of problems the post already knows — wait for
``group_interval`` after the last flush; with nothing new, still-firing alerts
are repeated after ``repeat_interval``.
An alert leaves the group only after its RECOVERED went out, so every DOWN is
followed by a RECOVERED. One that came and went between two flushes is told
once as "happened, already recovered" (if it outlasted ``group_wait``;
shorter blips are damped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Connection

from alerting.notify.config import Timers
from alerting.notify.tables import notify_alerts, notify_groups

FIRING, RESOLVED = "firing", "resolved"


@dataclass
class FlushPlan:
    """What one flush of a post's group says."""

    post: str
    seq: int
    items: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)  # (change, incident, snap)
    still_active: int = 0
    queued_at: dict[int, int] = field(default_factory=dict)
    levels: dict[int, int] = field(default_factory=dict)


def add_alert(
    conn: Connection,
    post: str,
    incident_id: int,
    severity: int,
    scope: int,
    snap: dict[str, Any],
    level: int,
    now: int,
    timers: Timers,
) -> bool:
    """Put an incident into a post's group (once); False if it is already there."""
    c = notify_alerts.c
    if conn.execute(select(c.id).where(and_(c.post == post, c.incident_id == incident_id))).first():
        return False
    conn.execute(
        insert(notify_alerts).values(
            post=post,
            incident_id=incident_id,
            level=level,
            severity=severity,
            sent_severity=None,
            scope=scope,
            sent_scope=None,
            status=FIRING,
            dirty=True,
            queued_at=now,
            snapshot=snap,
        )
    )
    touch(conn, post, now, timers, first_news=True)
    return True


def posts_of(conn: Connection, incident_id: int) -> list[str]:
    """Posts that hold this incident."""
    return [
        r.post
        for r in conn.execute(select(notify_alerts.c.post).where(notify_alerts.c.incident_id == incident_id))
    ]


def change_alert(
    conn: Connection,
    incident_id: int,
    severity: int,
    scope: int,
    snap: dict[str, Any],
    now: int,
    timers: Timers,
) -> None:
    """Severity or scope changed: mark dirty where it differs from what was last sent."""
    c = notify_alerts.c
    for row in conn.execute(select(notify_alerts).where(c.incident_id == incident_id)).all():
        dirty = (
            row.dirty or row.sent_severity is None or row.sent_severity != severity or row.sent_scope != scope
        )
        conn.execute(
            update(notify_alerts)
            .where(c.id == row.id)
            .values(
                severity=severity,
                scope=scope,
                snapshot=snap,
                dirty=dirty,
                queued_at=row.queued_at if row.dirty else now,
            )
        )
        if dirty and not row.dirty:
            touch(conn, row.post, now, timers)


def resolve_alert(conn: Connection, incident_id: int, snap: dict[str, Any], now: int, timers: Timers) -> None:
    """The incident cleared: its RECOVERED is due in every post that heard the DOWN."""
    c = notify_alerts.c
    for row in conn.execute(select(notify_alerts).where(c.incident_id == incident_id)).all():
        conn.execute(
            update(notify_alerts)
            .where(c.id == row.id)
            .values(status=RESOLVED, snapshot=snap, dirty=True, queued_at=now)
        )
        touch(conn, row.post, now, timers)


def touch(conn: Connection, post: str, now: int, timers: Timers, *, first_news: bool = False) -> None:
    """Something changed in the post's group: schedule its next flush.

    ``first_news`` (an incident new to the post) is due ``group_wait`` from now;
    a follow-up waits for ``group_interval`` after the last flush. An earlier
    flush already scheduled is never pushed back.
    """
    g = notify_groups.c
    row = conn.execute(select(notify_groups).where(g.post == post)).first()
    if row is None:
        conn.execute(
            insert(notify_groups).values(
                post=post, created_at=now, next_flush_at=now + timers.group_wait_s, last_flush_at=None, seq=0
            )
        )
        return
    at = _next_flush(row.next_flush_at, row.last_flush_at, now, timers, first_news)
    conn.execute(update(notify_groups).where(g.post == post).values(next_flush_at=at))


def _next_flush(
    scheduled: int | None, last_flush: int | None, now: int, timers: Timers, first_news: bool
) -> int:
    """When the group should flush after a change (see :func:`touch`)."""
    if first_news or last_flush is None:
        at = now + timers.group_wait_s
    else:
        at = max(now, last_flush + timers.group_interval_s)
    return at if scheduled is None else min(at, scheduled)


def due(conn: Connection, now: int) -> list[str]:
    """Posts whose group is due for a flush."""
    g = notify_groups.c
    return [
        r.post
        for r in conn.execute(
            select(g.post)
            .where(and_(g.next_flush_at.is_not(None), g.next_flush_at <= now))
            .order_by(g.next_flush_at)
        )
    ]


def flush(conn: Connection, post: str, now: int, timers: Timers) -> FlushPlan:
    """Take what changed since the last flush, mark it sent, and reschedule the group."""
    c, g = notify_alerts.c, notify_groups.c
    group = conn.execute(select(notify_groups).where(g.post == post)).one()
    rows = conn.execute(select(notify_alerts).where(c.post == post).order_by(c.severity.desc(), c.id)).all()
    plan = FlushPlan(post, group.seq + 1)
    reminder = (
        not any(r.dirty for r in rows)
        and group.last_flush_at is not None
        and now - group.last_flush_at >= timers.repeat_interval_s
    )
    for r in rows:
        if r.status == RESOLVED:
            if r.dirty and r.sent_severity is not None:
                plan.items.append(("recovered", r.incident_id, r.snapshot))
            elif r.dirty and _lasted(r.snapshot) > timers.group_wait_s:
                plan.items.append(("transient", r.incident_id, r.snapshot))  # came and went between flushes
            conn.execute(delete(notify_alerts).where(c.id == r.id))
            continue
        plan.still_active += 1
        if r.dirty:
            if r.sent_severity is None:
                change = "escalated" if r.level > 0 else "new"
            elif r.severity != r.sent_severity:
                change = "worse" if r.severity > r.sent_severity else "better"
            else:
                change = "scope"
            plan.items.append((change, r.incident_id, r.snapshot))
        elif reminder:
            plan.items.append(("reminder", r.incident_id, r.snapshot))
        plan.queued_at[r.incident_id] = r.queued_at
        plan.levels[r.incident_id] = r.level
        conn.execute(
            update(notify_alerts)
            .where(c.id == r.id)
            .values(dirty=False, sent_severity=r.severity, sent_scope=r.scope)
        )
    values: dict[str, int | None]
    if plan.still_active:
        values = {"next_flush_at": now + timers.repeat_interval_s, "last_flush_at": now}
    else:
        values = {"next_flush_at": None, "last_flush_at": None}
    conn.execute(update(notify_groups).where(g.post == post).values(seq=plan.seq, **values))
    return plan


def _lasted(snap: dict[str, Any]) -> int:
    """Seconds an incident lasted (0 when unknown)."""
    if snap.get("resolved_at") and snap.get("opened_at"):
        return int(snap["resolved_at"]) - int(snap["opened_at"])
    return 0
