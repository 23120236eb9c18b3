"""Wiring of the reporting side into the service: IOC feed, monthly job, evaluation watchdog.

``trucban.service`` calls :func:`reporting_parts` once the alerting database,
store and notification service exist, and :meth:`ReportingParts.schedule` in
its lifespan. (The self-monitoring rule is the core's, built with it in
:mod:`trucban.alerting_parts`.) Keeps the core free of FastAPI and the service
file short.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from common.errors import ConfigError, Problem
from reports.ioc_feed import IocFeed
from reports.monthly import MonthlyReports

log = logging.getLogger(__name__)
WATCHDOG_S = 10.0


def names(value: str | None) -> list[str]:
    """'a, b' → ['a', 'b']."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@dataclass
class ReportingParts:
    """What the service runs beside the poller for reports and IOC, and the evaluation watchdog."""

    reports_dir: Path
    ioc: IocFeed | None = None
    monthly: MonthlyReports | None = None

    def schedule(self, scheduler: Any, core: Any, poll_interval_s: float) -> None:
        """IOC feed every 2 s, monthly check every hour, and the evaluation watchdog."""
        if self.ioc is not None:
            scheduler.add_job(
                self.ioc.run_once, "interval", seconds=2, id="ioc-feed", max_instances=1, coalesce=True
            )
        if self.monthly is not None:
            scheduler.add_job(
                self.monthly.run_once,
                "interval",
                hours=1,
                id="monthly-report",
                max_instances=1,
                coalesce=True,
                next_run_time=_soon(120),
            )

        async def watchdog() -> None:
            """Evaluate rules even when no poll cycle delivers (a stalled scheduler is itself an incident)."""
            now = int(time.time())
            if now - core.last.ts > 2 * poll_interval_s + WATCHDOG_S:
                core.evaluate({}, now)

        scheduler.add_job(
            watchdog, "interval", seconds=WATCHDOG_S, id="selfmon-watchdog", max_instances=1, coalesce=True
        )


def _soon(seconds: float) -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(seconds=seconds)


def reporting_parts(settings: Any, inventory: Any, engine: Engine, store: Any, notify: Any) -> ReportingParts:
    """Build the parts on the alerting database ``engine``."""
    tz = ZoneInfo(settings.timezone)
    reports_dir = Path(settings.data_dir) / "reports"
    parts = ReportingParts(reports_dir)
    channels = names(getattr(settings, "ioc_webhooks", ""))
    if channels:
        configured = notify.config.channels if notify is not None else {}
        missing = [c for c in channels if c not in configured]
        if missing:
            raise ConfigError(
                [
                    Problem(
                        "(settings)",
                        None,
                        "ioc_webhooks",
                        ", ".join(missing),
                        "not a channel of notify_routes (kind webhook, tbhook:// URL)",
                    )
                ],
                "settings",
            )
        parts.ioc = IocFeed(engine, inventory, channels, tz)
    if getattr(settings, "reports_enabled", True):
        base = (
            getattr(settings, "public_base_url", None) or f"http://{settings.http_host}:{settings.http_port}"
        )
        parts.monthly = MonthlyReports(
            engine,
            inventory,
            reports_dir,
            tz,
            store=store,
            notifier=notify.notifier if notify is not None else None,
            posts=names(getattr(settings, "report_posts", "coordinators")),
            base_url=base,
        )
    return parts
