"""The outbox worker: attempts due messages through their channel chain, within rate limits.

``run_once(now)`` is synchronous (apprise is), sends in a small thread pool and
is what tests and the storm benchmark call; ``run`` loops it in the service's
event loop. Messages to one contact go out in order (a RECOVERED never
overtakes its DOWN), and a channel over its rate is postponed, not failed.
Every attempt that was made — sent or failed — is a line in the timeline of
each incident the message is about.

Delivery isolation: whatever goes wrong with one row (a URL apprise cannot
parse, masking or the sender raising) fails that row alone, is recorded in its
``last_error`` and timeline without the secret, and the row falls back to its
post's next channel within the same pass. Each attempt is recorded before it
is made; the first pass of a process takes back at once the rows a dead
process had claimed (:meth:`Outbox.reclaim_orphans`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from sqlalchemy import func, select

from alerting.incidents import IncidentEvent
from alerting.notify.channels import ChannelSender, SendResult
from alerting.notify.config import NotifyConfig
from alerting.notify.incident_reader import IncidentNotes
from alerting.notify.outbox import Outbox, OutboxRow
from alerting.notify.ratelimit import RateLimits
from alerting.notify.tables import notify_outbox

log = logging.getLogger(__name__)


@dataclass
class WorkerReport:
    """What one pass did."""

    sent: int = 0
    failed: int = 0
    postponed: int = 0
    fallbacks: int = 0
    reclaimed: int = 0  # rows taken back from a dead process (first pass after a restart)
    resent_after_crash: int = 0  # of those, rows whose attempt was in flight: possibly delivered twice


class OutboxWorker:
    """Delivers outbox rows; ``tick`` (the notifier's timers) runs before each pass."""

    def __init__(
        self,
        outbox: Outbox,
        sender: ChannelSender,
        config: NotifyConfig,
        *,
        timeline: IncidentNotes,
        clock: Callable[[], float] = time.time,
        parallel: int = 4,
        tick: Callable[[int], object] | None = None,
    ) -> None:
        self.outbox = outbox
        self.timeline = timeline  # where each attempt becomes a line of its incidents' timelines
        self.sender = sender
        self.config = config
        self.clock = clock
        self.parallel = parallel
        self.tick = tick
        self.limits = RateLimits({n: (c.rate_per_minute, c.burst) for n, c in config.channels.items()})
        self.pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="notify-send")
        self.last = WorkerReport()
        self._reclaimed = False

    def run_once(self, now: int | None = None) -> WorkerReport:
        """One pass: (first pass: reclaim a dead process's rows), timers, then every due row once."""
        now = int(self.clock()) if now is None else now
        report = WorkerReport()
        if not self._reclaimed:
            self._reclaim(now, report)
            self._reclaimed = True
        if self.tick is not None:
            self.tick(now)
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
        for outcomes in self.pool.map(lambda row: self._deliver(row, now), ready):
            report.fallbacks += sum(o.startswith("fallback") for o in outcomes)
            last = outcomes[-1]
            if last == "sent":
                report.sent += 1
            elif last == "postponed":
                report.postponed += 1
            else:
                report.failed += 1
        self.last = report
        return report

    def _reclaim(self, now: int, report: WorkerReport) -> None:
        """Take back the rows of a dead process; note the possible duplicates in the timelines."""
        reclaimed = self.outbox.reclaim_orphans(now)
        report.reclaimed, report.resent_after_crash = reclaimed.rows, len(reclaimed.in_flight)
        if reclaimed.rows:
            log.warning(
                "outbox: %d rows claimed by a process that no longer runs taken back at once; "
                "%d were being sent at the crash and may arrive twice",
                reclaimed.rows,
                len(reclaimed.in_flight),
            )
        for row in reclaimed.in_flight:
            self._timeline(
                row,
                now,
                "notify_resent",
                f"Tiến trình gửi dừng đột ngột khi đang gửi tới "
                f"{self._who(row)} qua {row.channel[0]}: gửi lại, người nhận có thể nhận 2 lần",
            )

    def _deliver(self, row: OutboxRow, now: int) -> list[str]:
        """Attempt a row; on a fallback, its next channel at once (same pass). Never raises."""
        outcomes: list[str] = []
        while True:
            try:
                outcome = self._deliver_once(row, now)
            except Exception as exc:  # noqa: BLE001 - the database failed around this row: it alone waits
                log.error(
                    "outbox #%d: attempt not recorded (%s); retried after its lease",
                    row.id,
                    type(exc).__name__,
                )
                outcomes.append("error")
                return outcomes
            outcomes.append(outcome)
            if not outcome.startswith("fallback"):
                return outcomes
            row = replace(row, channel_index=row.channel_index + 1, attempts=0)
            wait = self.limits.take(row.channel[0], now)
            if wait > 0:
                try:
                    self.outbox.postpone(row, now + max(1, int(wait + 0.999)))
                except Exception as exc:  # noqa: BLE001
                    log.error("outbox #%d: could not postpone (%s)", row.id, type(exc).__name__)
                outcomes.append("postponed")
                return outcomes

    def _deliver_once(self, row: OutboxRow, now: int) -> str:
        """One attempt on the row's current channel, recorded before it is made."""
        self.outbox.attempting(row, now)
        try:
            result = self._attempt(row)
        except Exception as exc:  # noqa: BLE001 - never its text: it may quote the channel's secret
            result = SendResult(
                False, f"{row.channel[0]}: lỗi khi chuẩn bị gửi ({type(exc).__name__})", permanent=True
            )
        if result.ok:
            self.outbox.sent(row, now)
            self._timeline(
                row,
                now,
                "notify_sent",
                f"Đã gửi tới {self._who(row)} qua {row.channel[0]}: {row.message.subject}",
            )
            return "sent"
        channel = self.config.channels.get(row.channel[0])
        error = self.sender.redact(result.error or "?")
        outcome = self.outbox.failed(
            row,
            now,
            error,
            channel.max_attempts if channel else 1,
            result.retry_after,
            permanent=result.permanent,
            hold=True,
        )
        log.warning(
            "outbox #%d to %s via %s failed (%s): %s", row.id, row.post, row.channel[0], outcome, error
        )
        then = f"chuyển sang kênh {outcome.split('→', 1)[1]}" if "→" in outcome else "sẽ thử lại"
        self._timeline(
            row,
            now,
            "notify_failed",
            f"Gửi không được tới {self._who(row)} qua {row.channel[0]} "
            f"(lần {row.attempts + 1}): {error}; {then}",
        )
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
                    self.timeline.add_event(conn, incident_id, IncidentEvent(now, kind, text, data=data))
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
