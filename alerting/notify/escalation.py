"""Escalation: an incident nobody acknowledged after T goes up a level (commune → NOC → coordinators).

The timer starts when the DOWN went out to the first post; an acknowledgement
(dashboard, or a «XN <id>» reply) or the incident's recovery stops it, as in
OpenNMS. The escalated incident joins the next post's group, so a storm of
unacknowledged incidents still reaches the NOC as a few grouped messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from alerting.incidents import IncidentStatus
from alerting.notify.incident_reader import IncidentReader
from alerting.notify.tables import notify_escalations


@dataclass(frozen=True, slots=True)
class Step:
    """Escalate to ``post`` when the previous step is ``after_s`` old."""

    post: str
    after_s: int


def start(conn: Connection, incident_id: int, steps: list[Step], now: int) -> bool:
    """Arm the timer for an incident (once); False if already armed or nothing to escalate to."""
    if not steps:
        return False
    c = notify_escalations.c
    if conn.execute(select(c.incident_id).where(c.incident_id == incident_id)).first():
        return False
    conn.execute(
        insert(notify_escalations).values(
            incident_id=incident_id,
            chain=[[s.post, s.after_s] for s in steps],
            level=0,
            next_at=now + steps[0].after_s,
            done=False,
        )
    )
    return True


def due(conn: Connection, now: int, incidents: IncidentReader) -> list[tuple[int, str]]:
    """(incident id, next post) for timers that fired on still-unacknowledged incidents.

    Timers of acknowledged or resolved incidents are closed on the way.
    """
    c = notify_escalations.c
    rows = conn.execute(select(notify_escalations).where(and_(c.done.is_(False), c.next_at <= now))).all()
    current = incidents.by_ids(r.incident_id for r in rows)
    out: list[tuple[int, str]] = []
    for r in rows:
        inc = current.get(r.incident_id)
        if inc is None or inc.status is not IncidentStatus.OPEN:  # acknowledged, resolved or gone
            conn.execute(
                update(notify_escalations)
                .where(c.incident_id == r.incident_id)
                .values(done=True, next_at=None)
            )
            continue
        chain = [Step(p, int(a)) for p, a in r.chain]
        post = chain[r.level].post
        level = r.level + 1
        more = level < len(chain)
        conn.execute(
            update(notify_escalations)
            .where(c.incident_id == r.incident_id)
            .values(level=level, done=not more, next_at=now + chain[level].after_s if more else None)
        )
        out.append((r.incident_id, post))
    return out


def stop(conn: Connection, incident_id: int) -> None:
    """Close an incident's timer (acknowledged)."""
    c = notify_escalations.c
    conn.execute(
        update(notify_escalations).where(c.incident_id == incident_id).values(done=True, next_at=None)
    )
