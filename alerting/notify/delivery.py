"""Was the post told? A narrow, read-only view of what notify did for one incident.

The outbox (``notify_outbox``) holds one row per message and contact, and the
worker writes a timeline line for every attempt (``notify_sent`` /
``notify_failed`` / ``notify_resent``, each naming its outbox row); a post no
channel reaches is a ``notify_nowhere`` line. This module reads those records
and says, per message and contact, where it stands — for the incident page and
the incident API. It never writes and never reads device states.

Statuses (a row is never dropped, so "failed" still retries):

- ``delivered``: a channel accepted the message (which one, when);
- ``retrying``: an attempt failed and the row is waiting for its next attempt
  with a channel of its chain still untried (a fallback remains);
- ``failed``: every channel of its chain has failed — it is on the last one and
  that one failed too; the outbox keeps trying at its backoff ceiling;
- ``pending``: queued, not attempted yet (grouping wait, rate limit);
- ``no_channel``: the post has no contact any configured channel reaches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from alerting.incidents import IncidentEvent
from alerting.notify.tables import notify_alerts, notify_outbox

DELIVERED, RETRYING, FAILED, PENDING, NO_CHANNEL = "delivered", "retrying", "failed", "pending", "no_channel"
STATUS_VI = {
    DELIVERED: "Đã gửi",
    RETRYING: "Đang thử lại",
    FAILED: "Gửi thất bại",
    PENDING: "Đang chờ gửi",
    NO_CHANNEL: "Không có kênh liên lạc",
}
SEND_EVENTS = ("notify_sent", "notify_failed", "notify_resent")
MAX_ROWS = 200  # an incident's page never reads more outbox rows than this
_NOWHERE = re.compile(r"^Không gửi: (?P<name>.*) \((?P<post>[^()]*)\) không có kênh liên lạc$")


@dataclass(frozen=True, slots=True)
class ChannelTry:
    """One channel of a message's chain and how it went."""

    channel: str
    outcome: str  # delivered | failed (given up, fell back) | trying | waiting | untried


@dataclass(frozen=True, slots=True)
class PostDelivery:
    """One message to one contact of a post (or a post nobody can reach) for one incident."""

    post: str
    post_name: str
    contact: str  # the contact's name in the inventory or routes file ('' for a post without a channel)
    status: str  # see the module docstring
    about: str  # down | recovered | update | '' (no message)
    channel: str | None  # the channel that delivered, or the one being tried
    at: int | None  # delivered at; else the last attempt (or when queued)
    next_attempt_at: int | None = None
    attempts: int = 0  # attempts made, all channels
    error: str | None = None  # the last failure, already without secrets (the worker redacts it)
    chain: tuple[ChannelTry, ...] = field(default_factory=tuple)

    @property
    def status_vi(self) -> str:
        """The status for people."""
        return STATUS_VI[self.status]


class DeliveryReader:
    """Reads the outbox rows and timeline lines of one incident (read-only)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def for_incident(self, incident_id: int, events: Sequence[IncidentEvent]) -> list[PostDelivery]:
        """Every message to every contact about ``incident_id``, then the posts no channel reaches.

        ``events`` is the incident's timeline (the repository already read it): it names the outbox
        rows attempted and the posts without a channel. Rows still waiting for their first attempt
        are found through the posts the incident was routed to.
        """
        tried = {int(e.data["outbox"]): e.ts for e in events if e.kind in SEND_EVENTS and "outbox" in e.data}
        ids = set(tried)
        c = notify_outbox.c
        with self.engine.connect() as conn:
            posts = [
                r.post
                for r in conn.execute(
                    select(notify_alerts.c.post).where(notify_alerts.c.incident_id == incident_id)
                )
            ]
            rows: list[Any] = []
            if ids:
                rows += conn.execute(
                    select(notify_outbox).where(c.id.in_(sorted(ids)[-MAX_ROWS:])).order_by(c.id)
                ).all()
            if posts:
                waiting = conn.execute(
                    select(notify_outbox)
                    .where(c.post.in_(posts), c.status != "sent", c.total_attempts == 0)
                    .order_by(c.id)
                    .limit(MAX_ROWS)
                ).all()
                rows += [r for r in waiting if r.id not in ids and _about(r.meta, incident_id) is not None]
        out = [_delivery(r, incident_id, tried.get(r.id)) for r in sorted(rows, key=lambda r: r.id)]
        told = {d.post for d in out}
        out += [d for d in _nowhere(events) if d.post not in told]
        return out


def summary(deliveries: Iterable[PostDelivery]) -> dict[str, int]:
    """How many messages stand in each status (for lists and badges)."""
    counts: dict[str, int] = {}
    for d in deliveries:
        counts[d.status] = counts.get(d.status, 0) + 1
    return counts


def _about(meta: dict[str, Any] | None, incident_id: int) -> str | None:
    """What the message says about the incident: down, recovered, update; None if it is not about it."""
    meta = meta or {}
    if incident_id in (meta.get("down") or ()):
        return "down"
    if incident_id in (meta.get("recovered") or ()):
        return "recovered"
    if incident_id in (meta.get("incidents") or ()):
        return "update"
    return None


def _delivery(r: Any, incident_id: int, last_try: int | None) -> PostDelivery:
    chain = [str(link[0]) for link in (r.chain or ())]
    index = min(int(r.channel_index), max(len(chain) - 1, 0))
    meta = r.meta or {}
    if r.status == "sent":
        status, channel, at = DELIVERED, r.delivered_via, r.sent_at
    elif int(r.total_attempts) == 0:
        status, channel, at = PENDING, chain[index] if chain else None, r.created_at
    else:
        last = index == len(chain) - 1 and int(r.attempts) > 0
        status, channel, at = (FAILED if last else RETRYING), chain[index] if chain else None, last_try
    tries = []
    for i, name in enumerate(chain):
        if i < index:
            outcome = "failed"
        elif i > index:
            outcome = "untried"
        elif status == DELIVERED:
            outcome = "delivered"
        elif status == PENDING:
            outcome = "waiting"
        else:
            outcome = "failed" if status == FAILED else "trying"
        tries.append(ChannelTry(name, outcome))
    return PostDelivery(
        post=r.post,
        post_name=str(meta.get("post_name") or r.post),
        contact=r.contact,
        status=status,
        about=_about(meta, incident_id) or "update",
        channel=channel,
        at=at,
        next_attempt_at=None if status == DELIVERED else r.next_attempt_at,
        attempts=int(r.total_attempts),
        error=None if status == DELIVERED else r.last_error,
        chain=tuple(tries),
    )


def _nowhere(events: Sequence[IncidentEvent]) -> list[PostDelivery]:
    out: dict[str, PostDelivery] = {}
    for e in events:
        if e.kind != "notify_nowhere":
            continue
        post = str(e.data.get("post", ""))
        match = _NOWHERE.match(e.text)
        name = match.group("name") if match else post
        out.setdefault(post, PostDelivery(post, name, "", NO_CHANNEL, "", None, e.ts))
    return list(out.values())
