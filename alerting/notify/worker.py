"""The outbox worker: attempts due messages through their channel chain, within rate limits.

``run_once(now)`` is synchronous (apprise is), sends in a small thread pool and
is what tests and the storm benchmark call; ``run`` loops it in the service's
event loop. Messages to one contact go out in order (a RECOVERED never
overtakes its DOWN), and a channel over its rate is postponed, not failed.
Every attempt that was made — sent or failed — is a line in the timeline of
each incident the message is about.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import func, select

from alerting.incidents import IncidentEvent
from alerting.notify.channels import ChannelSender, SendResult
from alerting.notify.config import NotifyConfig
from alerting.notify.outbox import Outbox, OutboxRow
from alerting.notify.ratelimit import RateLimits
from alerting.notify.tables import notify_outbox
from alerting.repository import IncidentRepository

log = logging.getLogger(__name__)


@dataclass
class WorkerReport:
    """What one pass did."""

    sent: int = 0
    failed: int = 0
    postponed: int = 0
    fallbacks: int = 0


class OutboxWorker:
    """Delivers outbox rows; ``tick`` (the notifier's timers) runs before each pass."""

    def __init__(
        self,
        outbox: Outbox,
        sender: ChannelSender,
        config: NotifyConfig,
        clock: Callable[[], float] = time.time,
        parallel: int = 4,
        tick: Callable[[int], object] | None = None,
    ) -> None:
        self.outbox = outbox
        self.sender = sender
        self.config = config
        self.clock = clock
        self.parallel = parallel
        self.tick = tick
        self.limits = RateLimits({n: (c.rate_per_minute, c.burst) for n, c in config.channels.items()})
        self.pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="notify-send")
        self.last = WorkerReport()

    def run_once(self, now: int | None = None) -> WorkerReport:
        """One pass: timers, then every due row once."""
        now = int(self.clock()) if now is None else now
        if self.tick is not None:
            self.tick(now)
        report = WorkerReport()
        rows = self.outbox.claim_due(now)
        if not rows:
            self.last = report
            return report
        heads = self._heads()
        ready: list[OutboxRow] = []
        for row in rows:
            if heads.get((row.post, row.contact), row.id) < row.id:
                self.outbox.postpone(row, now)  # an earlier message to this contact goes first
                report.postponed += 1
                continue
            wait = self.limits.take(row.channel[0], now)
            if wait > 0:
                self.outbox.postpone(row, now + max(1, int(wait + 0.999)))
                report.postponed += 1
                continue
            ready.append(row)
        # Each row is marked sent (or failed) right after its own attempt, so a crash re-sends at most
        # the attempts in flight (≤ ``parallel``), never a whole pass.
        for outcome in self.pool.map(lambda row: self._deliver(row, now), ready):
            if outcome == "sent":
                report.sent += 1
            else:
                report.failed += 1
                report.fallbacks += outcome.startswith("fallback")
        self.last = report
        return report

    def _deliver(self, row: OutboxRow, now: int) -> str:
        result = self._attempt(row)
        if result.ok:
            self.outbox.sent(row, now)
            self._timeline(row, now, "notify_sent", f"Đã gửi tới {self._who(row)} qua {row.channel[0]}: "
                           f"{row.message.subject}")
            return "sent"
        channel = self.config.channels.get(row.channel[0])
        outcome = self.outbox.failed(
            row, now, result.error or "?", channel.max_attempts if channel else 1, result.retry_after
        )
        log.warning(
            "outbox #%d to %s via %s failed (%s): %s", row.id, row.post, row.channel[0], outcome, result.error
        )
        then = f"chuyển sang kênh {outcome.split('→', 1)[1]}" if "→" in outcome else "sẽ thử lại"
        self._timeline(row, now, "notify_failed", f"Gửi không được tới {self._who(row)} qua {row.channel[0]} "
                       f"(lần {row.attempts + 1}): {result.error or '?'}; {then}")
        return outcome

    @staticmethod
    def _who(row: OutboxRow) -> str:
        return f"{row.meta.get('post_name') or row.post} ({row.contact})"

    def _timeline(self, row: OutboxRow, now: int, kind: str, text: str) -> None:
        """One line in the timeline of every incident the message is about (a failure here is only logged)."""
        ids = row.meta.get("incidents") or [*row.meta.get("down", ()), *row.meta.get("recovered", ())]
        if not ids:
            return
        data = {"outbox": row.id, "post": row.post, "channel": row.channel[0]}
        try:
            with self.outbox.engine.begin() as conn:
                for incident_id in dict.fromkeys(int(i) for i in ids):
                    IncidentRepository.add_event(conn, incident_id, IncidentEvent(now, kind, text, data=data))
        except Exception:  # the message went (or not) either way; its timeline line must not undo that
            log.exception("outbox #%d: could not write the incident timeline", row.id)

    def _attempt(self, row: OutboxRow) -> SendResult:
        channel, target = row.channel
        headers = {
            "X-Trucban-Post": row.post,
            "X-Trucban-Down": " ".join(str(i) for i in row.meta.get("down", ())),
            "X-Trucban-Recovered": " ".join(str(i) for i in row.meta.get("recovered", ())),
        }
        return self.sender.send(channel, target, row.message, row.tracking, headers)

    def _heads(self) -> dict[tuple[str, str], int]:
        c = notify_outbox.c
        with self.outbox.engine.connect() as conn:
            rows = conn.execute(
                select(c.post, c.contact, func.min(c.id))
                .where(c.status != "sent")
                .group_by(c.post, c.contact)
            )
            return {(p, ct): int(i) for p, ct, i in rows}

    async def run(self, stop: asyncio.Event, interval_s: float = 1.0) -> None:
        """Loop until ``stop`` is set; a failing pass is logged and the loop goes on."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # a database hiccup must not end delivery for good
                log.exception("outbox worker pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_s)

    def close(self) -> None:
        """Stop the sending threads."""
        self.pool.shutdown(wait=True)
