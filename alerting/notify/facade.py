"""One object the service and the dashboard use: delivery state, acknowledgements, typhoon mode.

``NotifyService.build`` assembles router, notifier, outbox, worker and typhoon
mode; ``start``/``stop`` run the outbox worker in the service's event loop.
Everything returned is JSON-able and free of secrets (channel URLs masked).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from alerting.incidents import Incident
from alerting.notify.channels import ChannelSender, mask_url
from alerting.notify.config import NotifyConfig
from alerting.notify.incident_reader import Incidents
from alerting.notify.notifier import Notifier
from alerting.notify.outbox import Outbox
from alerting.notify.readiness import NetworkView
from alerting.notify.typhoon import Declaration, TyphoonMode
from alerting.notify.worker import OutboxWorker
from inventory.inventory import Inventory

log = logging.getLogger(__name__)
ACK_REPLY = re.compile(r"^\s*(?:XN|xn|Xn|ACK|ack)\s*#?\s*(\d{1,10})\b")


@dataclass
class NotifyService:
    """Notification, assembled."""

    config: NotifyConfig
    notifier: Notifier
    outbox: Outbox
    worker: OutboxWorker
    typhoon: TyphoonMode
    clock: Callable[[], float] = time.time
    _stop: asyncio.Event | None = field(default=None, repr=False)
    _task: asyncio.Task | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        engine: Engine,
        inventory: Inventory,
        config: NotifyConfig,
        *,
        incidents: Incidents,
        base_url: str,
        timezone: ZoneInfo,
        view: Callable[[], NetworkView] | None = None,
        clock: Callable[[], float] = time.time,
        parallel: int = 4,
    ) -> NotifyService:
        """Wire the parts on one alerting database.

        ``incidents`` is how notify reads incidents and writes their timeline (the alerting
        repository, handed over by the composition root); ``view`` gives the typhoon readiness
        report the network picture when a storm is declared.
        """
        notifier = Notifier(
            engine, inventory, config, incidents=incidents, base_url=base_url, timezone=timezone, clock=clock
        )
        typhoon = TyphoonMode(notifier, config.typhoon, view)
        service: NotifyService
        worker = OutboxWorker(
            notifier.outbox,
            ChannelSender(dict(config.channels)),
            config,
            timeline=incidents,
            clock=clock,
            parallel=parallel,
            tick=lambda now: service.tick(now),
        )
        service = cls(config, notifier, notifier.outbox, worker, typhoon, clock)
        return service

    @property
    def subscriber(self) -> Notifier:
        """The alerting core's subscriber (given to ``AlertingCore(subscribers=…)`` at construction)."""
        return self.notifier

    def tick(self, now: int) -> int:
        """Timers: group flushes, escalations, digests, typhoon digests/auto-end."""
        return self.notifier.tick(now) + self.typhoon.tick(now)

    def run_once(self, now: int | None = None) -> Any:
        """One worker pass (timers included)."""
        return self.worker.run_once(now)

    async def start(self, interval_s: float = 1.0) -> None:
        """Catch up after a restart and start the worker loop."""
        await asyncio.to_thread(self.notifier.catch_up, int(self.clock()))
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.worker.run(self._stop, interval_s), name="notify-outbox")

    async def stop(self) -> None:
        """Stop the worker loop after its current pass; undelivered rows stay in the outbox."""
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await self._task
        await asyncio.to_thread(self.worker.close)

    # ---- for the dashboard -------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Outbox counts, channels (masked URLs), last worker pass, current typhoon declaration."""
        now = int(self.clock())
        typhoon = self.typhoon.current(now)
        return {
            "outbox": self.outbox.counts(),
            "crash_resends": self.outbox.crash_resends(),
            "channels": {
                name: {
                    "kind": ch.kind.value,
                    "url": mask_url(ch.url.get_secret_value()),
                    "rate_per_minute": ch.rate_per_minute,
                    "max_attempts": ch.max_attempts,
                }
                for name, ch in self.config.channels.items()
            },
            "worker": self.worker.last.__dict__,
            "posts_without_contacts": sorted(self.notifier.unreachable_posts),
            "typhoon": typhoon.as_dict() if typhoon else None,
            "typhoon_active": bool(typhoon and typhoon.active(now)),
        }

    def outbox_page(
        self, *, status: str | None = None, post: str | None = None, limit: int = 100, offset: int = 0
    ) -> dict[str, Any]:
        """A page of outbox rows (newest first) with delivery state."""
        items, total = self.outbox.list(status=status, post=post, limit=limit, offset=offset)
        return {"items": items, "total": total}

    def typhoon_status(self) -> dict[str, Any]:
        """The current declaration (active or upcoming) and recent history."""
        now = int(self.clock())
        current = self.typhoon.current(now)
        return {
            "current": current.as_dict() if current else None,
            "active": bool(current and current.active(now)),
            "poll_interval_s": self.typhoon.poll_interval(now),
            "history": [d.as_dict() for d in self.typhoon.history()],
        }

    def declare_typhoon(
        self,
        name: str,
        *,
        by: str,
        starts_at: int | None = None,
        ends_at: int,
        communes: list[str] | None = None,
        province: str | None = None,
        digest_every_s: int | None = None,
    ) -> Declaration:
        """Declare a storm (raises TyphoonError with a clear message on bad input)."""
        now = int(self.clock())
        return self.typhoon.declare(
            name,
            communes=communes,
            province=province,
            starts_at=now if starts_at is None else starts_at,
            ends_at=ends_at,
            by=by,
            now=now,
            digest_every_s=digest_every_s,
        )

    def end_typhoon(self, *, by: str, declaration_id: int | None = None) -> Declaration:
        """End the storm and send the recovery summary."""
        return self.typhoon.end(by=by, now=int(self.clock()), declaration_id=declaration_id)

    def acknowledge(self, incident_id: int, who: str, comment: str = "") -> Incident:
        """Acknowledge an incident (stops escalation)."""
        return self.notifier.acknowledge(incident_id, who, comment)

    def ack_reply(self, text: str, sender: str) -> Incident | None:
        """Handle a reply like «XN 123» from a channel that delivers replies; None if it is not one."""
        m = ACK_REPLY.match(text)
        if not m:
            return None
        return self.acknowledge(int(m.group(1)), sender, "xác nhận qua tin nhắn trả lời")
