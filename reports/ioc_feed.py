"""The IOC feed: incident open/ack/resolve and typhoon declare/end → signed webhooks via the outbox.

The feed reads the alerting database, not the core's callbacks, so it sees an
acknowledgement made anywhere (dashboard, API, reply code, CLI) and a storm
declared by another process; its cursors live in ``report_cursors``, so a
restart neither loses nor repeats an event (each row's dedup key is the event's
``delivery`` id). Every event becomes one row per configured channel in the
notification outbox — the same durable queue, retries and backoff as the
alerts — and is sent by the ``tbhook://`` plugin (:mod:`reports.signed_webhook`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.engine import Connection

import reports.signed_webhook  # noqa: F401 - registers the tbhook:// apprise plugin
from alerting.db import incident_events, incidents
from alerting.notify.messages import Rendered
from alerting.notify.outbox import Outbox
from alerting.notify.tables import typhoon_declarations
from inventory.inventory import Inventory
from reports.ioc_payloads import IocIncident, IocTyphoon, IocWebhookEvent
from reports.tables import get_cursor, set_cursor

log = logging.getLogger(__name__)
EVENT_NAMES = {"opened": "incident.opened", "acknowledged": "incident.acknowledged",
               "resolved": "incident.resolved"}
STATUS_AFTER = {"opened": "open", "acknowledged": "acknowledged", "resolved": "resolved"}
POST = "ioc"
BATCH = 500


class IocFeed:
    """Enqueues IOC webhooks for new incident events and typhoon changes."""

    def __init__(self, engine: Engine, inventory: Inventory, channels: Sequence[str],
                 timezone: ZoneInfo, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.inventory = inventory
        self.channels = tuple(channels)
        self.timezone = timezone
        self.clock = clock
        self.outbox = Outbox(engine)

    def run_once(self, now: int | None = None) -> int:
        """One pass; returns how many outbox rows were added."""
        if not self.channels:
            return 0
        now = int(self.clock()) if now is None else now
        with self.engine.begin() as conn:
            return self._incident_events(conn, now) + self._typhoons(conn, now)

    def _incident_events(self, conn: Connection, now: int) -> int:
        ev = incident_events.c
        cursor = get_cursor(conn, "ioc:events")
        if cursor is None:  # first start: from now on, no replay of history
            cursor = int(conn.execute(select(func.coalesce(func.max(ev.id), 0))).scalar_one())
            set_cursor(conn, "ioc:events", cursor)
            return 0
        query = (select(ev.id.label("event_id"), ev.kind.label("event_kind"), ev.ts, ev.actor, incidents)
                 .join(incidents, incidents.c.id == ev.incident_id)
                 .where(ev.id > cursor, ev.kind.in_(list(EVENT_NAMES)))
                 .order_by(ev.id).limit(BATCH))
        added, last = 0, cursor
        for row in conn.execute(query).mappings().all():
            last = int(row["event_id"])
            payload = IocWebhookEvent(
                event=EVENT_NAMES[row["event_kind"]],  # type: ignore[arg-type]
                delivery=f"incident-event-{row['event_id']}",
                occurred_at=int(row["ts"]), occurred_at_local=self._local(int(row["ts"])), actor=row["actor"],
                incident=self.incident(dict(row), STATUS_AFTER[row["event_kind"]]))
            added += self._enqueue(conn, payload, now)
        set_cursor(conn, "ioc:events", last)
        return added

    def _typhoons(self, conn: Connection, now: int) -> int:
        c = typhoon_declarations.c
        since = get_cursor(conn, "ioc:typhoon")
        set_cursor(conn, "ioc:typhoon", now)
        if since is None:
            return 0
        added = 0
        for row in conn.execute(select(typhoon_declarations).where(
                or_(c.declared_at >= since, c.ended_at >= since)).order_by(c.id)).mappings().all():
            storm = IocTyphoon(id=row["id"], name=row["name"], communes=list(row["communes"] or []),
                               province=row["province"], starts_at=row["starts_at"], ends_at=row["ends_at"],
                               declared_by=row["declared_by"], declared_at=row["declared_at"],
                               ended_at=row["ended_at"])
            events: list[tuple[Any, int, str]] = [
                ("typhoon.declared", row["declared_at"], row["declared_by"])]
            if row["ended_at"] is not None:
                events.append(("typhoon.ended", row["ended_at"], "trucban"))
            for name, ts, actor in events:
                if ts < since:
                    continue
                payload = IocWebhookEvent(event=name, delivery=f"typhoon-{row['id']}-{name.split('.')[1]}",
                                          occurred_at=int(ts), occurred_at_local=self._local(int(ts)),
                                          actor=actor, typhoon=storm)
                added += self._enqueue(conn, payload, now)
        return added

    def incident(self, row: Mapping[str, Any], status: str | None = None) -> IocIncident:
        """An incident row (mapping) as the IOC sees it."""
        commune = row["commune"]
        return IocIncident(
            id=row["id"], kind=row["kind"], severity=row["severity"],
            status=status or row["status"],  # type: ignore[arg-type]
            title=row["title"], why=row["why"], province=row["province"] or self.inventory.province,
            commune=commune, commune_name=self.inventory.commune_ref(commune).name if commune else None,
            site=row["site"], device=row["device"], affected=list(row["affected"] or []),
            opened_at=row["opened_at"], resolved_at=row["resolved_at"] if status != "open" else None,
            acked_by=row["acked_by"], acked_at=row["acked_at"])

    def _enqueue(self, conn: Connection, payload: IocWebhookEvent, now: int) -> int:
        body = payload.model_dump_json()
        message = Rendered(subject=payload.event, short=payload.event, text=body, html="")
        added = 0
        for channel in self.channels:
            added += self.outbox.enqueue(conn, dedup_key=f"ioc:{channel}:{payload.delivery}", post=POST,
                                         contact=channel, kind="webhook", message=message,
                                         chain=[(channel, "")], now=now, meta={"event": payload.event})
        return added

    def _local(self, ts: int) -> str:
        return datetime.fromtimestamp(ts, self.timezone).isoformat()
