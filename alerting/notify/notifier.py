"""The core's subscriber: incident changes → per-post groups → rendered messages in the outbox.

``handle`` (called after every evaluation) only records what changed, in one
transaction; ``tick`` (called by the outbox worker's loop, every second or so)
flushes due groups, fires escalations and digests. Both take ``now`` so tests
and the storm benchmark run on a simulated clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from alerting.incidents import Incident, IncidentEvent, IncidentStatus
from alerting.manager import Change, ChangeKind
from alerting.notify import coverage, escalation, grouping
from alerting.notify.config import NotifyConfig, severity
from alerting.notify.digest import digest_text
from alerting.notify.incident_reader import Incidents
from alerting.notify.messages import Links, Rendered, render_group, render_plain, snapshot
from alerting.notify.outbox import Outbox
from alerting.notify.routing import Router
from alerting.notify.tables import notify_alerts, notify_outbox, notify_timers
from inventory.inventory import Inventory

log = logging.getLogger(__name__)


class Notifier:
    """Turns incident changes into grouped, routed, durable messages."""

    def __init__(
        self,
        engine: Engine,
        inventory: Inventory,
        config: NotifyConfig,
        *,
        incidents: Incidents,
        base_url: str,
        timezone: ZoneInfo,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.inventory = inventory
        self.config = config
        self.router = Router(inventory, config, timezone)
        self.links = Links(base_url, timezone)
        self.outbox = Outbox(engine, config.retry)
        self.repo = incidents  # reads incidents, writes timeline lines and acknowledgements
        self.clock = clock
        self.unreachable_posts: set[str] = set()
        self.gaps = coverage.gaps(self.router)  # config and inventory do not change while running
        self._told_nowhere: set[tuple[int, str]] = set()

    def delivery_gaps(self) -> list[coverage.Gap]:
        """Posts an incident can be routed to that no configured channel reaches (for /readyz, banner)."""
        return list(self.gaps)

    def __call__(self, changes: list[Change]) -> None:
        """Subscriber entry point (``AlertingCore.subscribers``)."""
        self.handle(changes, int(self.clock()))

    def handle(self, changes: list[Change], now: int) -> None:
        """Record the changes that deserve a message: open, severity/scope change, resolve."""
        if not changes:
            return
        timers = self.config.timers
        with self.engine.begin() as conn:
            for change in changes:
                inc = change.incident
                if change.kind is ChangeKind.RESOLVED:
                    grouping.resolve_alert(conn, inc.id, snapshot(inc, self.inventory), now, timers)
                    continue
                known = set(grouping.posts_of(conn, inc.id))
                if change.kind is ChangeKind.UPDATED and known:
                    grouping.change_alert(
                        conn,
                        inc.id,
                        int(inc.severity),
                        len(inc.affected),
                        snapshot(inc, self.inventory),
                        now,
                        timers,
                    )
                for post in self._posts(conn, inc, now):
                    if post not in known and self._reachable(conn, post, inc.id, now):
                        grouping.add_alert(
                            conn,
                            post,
                            inc.id,
                            int(inc.severity),
                            len(inc.affected),
                            snapshot(inc, self.inventory),
                            0,
                            now,
                            timers,
                        )

    def _posts(self, conn: Connection, inc: Incident, now: int) -> list[str]:
        """Routed posts; for ``delivery_failing``, another post too when those are reached only
        through the failing channel or have messages stuck on it."""
        posts = self.router.posts_for(inc, now)
        avoid = self.router.failing_channels(inc)
        if not avoid:
            return posts
        busy = frozenset(
            post
            for post, chain, index in conn.execute(
                select(notify_outbox.c.post, notify_outbox.c.chain, notify_outbox.c.channel_index).where(
                    notify_outbox.c.status != "sent"
                )
            )
            if chain and index < len(chain) and chain[index][0] in avoid
        )
        return self.router.avoiding(posts, avoid, busy)

    def _reachable(self, conn: Connection, post: str, incident_id: int, now: int) -> bool:
        """Does a channel reach ``post``? If not, the incident's timeline says so (once per post)."""
        if self.router.deliveries(post):
            return True
        if post not in self.unreachable_posts:
            self.unreachable_posts.add(post)
            log.warning("notify: post %s has no contact reachable by a configured channel", post)
        if (incident_id, post) not in self._told_nowhere:
            self._told_nowhere.add((incident_id, post))
            text = f"Không gửi: {self.router.post_name(post)} ({post}) không có kênh liên lạc"
            event = IncidentEvent(now, "notify_nowhere", text, data={"post": post})
            self.repo.add_event(conn, incident_id, event)
        return False

    def catch_up(self, now: int) -> int:
        """After a restart: route active incidents nobody recorded, resolve recorded ones that cleared."""
        active = self.repo.active()
        timers = self.config.timers
        added = 0
        with self.engine.begin() as conn:
            recorded = {
                r.incident_id
                for r in conn.execute(select(notify_alerts.c.incident_id, notify_alerts.c.status))
                if r.status == grouping.FIRING
            }
            for inc in active.values():
                if inc.id in recorded:
                    continue
                for post in self._posts(conn, inc, now):
                    if self._reachable(conn, post, inc.id, now):
                        added += grouping.add_alert(
                            conn,
                            post,
                            inc.id,
                            int(inc.severity),
                            len(inc.affected),
                            snapshot(inc, self.inventory),
                            0,
                            now,
                            timers,
                        )
            live = {i.id for i in active.values()}
            for incident_id in recorded - live:
                inc = self.repo.get(incident_id)
                grouping.resolve_alert(conn, incident_id, snapshot(inc, self.inventory), now, timers)
        return added

    def tick(self, now: int | None = None) -> int:
        """Flush due groups, escalate, send digests; return how many outbox rows were added."""
        now = int(self.clock()) if now is None else now
        added = 0
        with self.engine.begin() as conn:
            for incident_id, post in escalation.due(conn, now, self.repo):
                inc = self.repo.get(incident_id)
                if self._reachable(conn, post, incident_id, now):
                    grouping.add_alert(
                        conn,
                        post,
                        incident_id,
                        int(inc.severity),
                        len(inc.affected),
                        snapshot(inc, self.inventory),
                        1,
                        now,
                        self.config.timers,
                    )
            for post in grouping.due(conn, now):
                added += self._flush(conn, post, now)
            for digest in self.config.digests:
                if self._timer_due(conn, f"digest:{digest.to}", now, digest.every_s):
                    added += self.digest(conn, digest.to, now)
        return added

    def _flush(self, conn: Connection, post: str, now: int) -> int:
        plan = grouping.flush(conn, post, now, self.config.timers)
        current = self.repo.by_ids(i for c, i, _ in plan.items if c not in ("recovered", "transient"))
        items = []
        for change, incident_id, snap in plan.items:
            inc = current.get(incident_id)
            if change == "reminder" and (inc is None or inc.status is not IncidentStatus.OPEN):
                continue
            items.append((change, snapshot(inc, self.inventory) if inc is not None else snap))
        if not items:
            return 0
        minimum = severity(self.config.escalation.min_severity)
        for change, incident_id, _snap in plan.items:
            inc = current.get(incident_id)
            if change == "new" and inc is not None and inc.severity >= minimum:
                steps = [escalation.Step(p, self._delay(p)) for p in self.router.escalation_chain(post)]
                escalation.start(conn, incident_id, steps, now)
        message = render_group(self.router.post_name(post), items, plan.still_active, self.links)
        avoid = frozenset().union(*(self.router.failing_channels(i) for i in current.values() if i.is_active))
        meta = {
            "post": post,
            "post_name": self.router.post_name(post),
            "seq": plan.seq,
            "incidents": [s["id"] for _c, s in items],
            "down": [s["id"] for c, s in items if c in ("new", "escalated", "transient")],
            "recovered": [s["id"] for c, s in items if c in ("recovered", "transient")],
            "queued_at": {str(k): v for k, v in plan.queued_at.items()},
        }
        return self.enqueue(conn, post, f"grp:{post}:{plan.seq}", "alert", message, now, meta, avoid=avoid)

    def _delay(self, post: str) -> int:
        levels = self.config.escalation.levels
        return (
            int(self.config.escalation.after_s[levels.index(post)])
            if post in levels
            else int(self.config.escalation.after_s[0])
        )

    def enqueue(
        self,
        conn: Connection,
        post: str,
        key: str,
        kind: str,
        message: Rendered,
        now: int,
        meta: dict | None = None,
        *,
        avoid: frozenset[str] = frozenset(),
    ) -> int:
        """One outbox row per reachable contact of ``post`` (channels in ``avoid`` tried last)."""
        added = 0
        for delivery in self.router.deliveries(post, avoid):
            added += self.outbox.enqueue(
                conn,
                dedup_key=f"{key}:{delivery.contact}"[:200],
                post=post,
                contact=delivery.contact,
                kind=kind,
                message=message,
                chain=list(delivery.chain),
                now=now,
                meta=meta,
            )
        return added

    def _timer_due(self, conn: Connection, name: str, now: int, every_s: int) -> bool:
        row = conn.execute(select(notify_timers.c.at).where(notify_timers.c.name == name)).first()
        if row is None:
            conn.execute(notify_timers.insert().values(name=name, at=now + every_s))
            return False
        if row.at > now:
            return False
        conn.execute(notify_timers.update().where(notify_timers.c.name == name).values(at=now + every_s))
        return True

    def digest(
        self,
        conn: Connection,
        post: str,
        now: int,
        communes: list[str] | None = None,
        title: str = "Tổng hợp tình hình",
        key: str | None = None,
    ) -> int:
        """Send a digest of the current picture to ``post``."""
        active = list(self.repo.active().values())
        subject, body = digest_text(self.inventory, active, communes, title)
        message = render_plain(
            subject,
            body + f"\n\nGiờ Việt Nam: {self.links.local(now)}. "
            f"Chi tiết: {self.links.base_url.rstrip('/')}/incidents",
        )
        return self.enqueue(conn, post, key or f"digest:{post}:{now}", "digest", message, now)

    def acknowledge(self, incident_id: int, who: str, comment: str = "", now: int | None = None) -> Incident:
        """Acknowledge (stops escalation) — for the dashboard and reply codes."""
        now = int(self.clock()) if now is None else now
        inc = self.repo.acknowledge(incident_id, who, comment, now)
        with self.engine.begin() as conn:
            escalation.stop(conn, incident_id)
        return inc
