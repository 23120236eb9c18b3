"""Scheduled monthly report: on the first run after a local month ends, write and e-mail its report.

Files go to ``<out_dir>/<YYYY-MM>/``: ``bao-cao-<YYYY-MM>.html`` (printable),
``.pdf`` (when Chromium is installed), ``xa-<YYYY-MM>.csv`` (per commune) and
``thiet-bi-<YYYY-MM>.csv`` (per device). A row in ``report_runs`` marks the
month done, so a restart never sends it twice. The e-mail (a summary with the
headline figures and a link to the dashboard) goes to each configured command
post through the notification outbox, like any alert.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert, select

from alerting.history import state_history
from alerting.notify.messages import Rendered
from inventory.inventory import Inventory
from reports.export import devices_csv, groups_csv
from reports.render import PdfError, duration, html_to_pdf, pct, render_html
from reports.report import AvailabilityReport, build_report, previous_month
from reports.tables import report_runs
from store.base import MetricStore

log = logging.getLogger(__name__)


class MonthlyReports:
    """Generates last month's report once and queues its e-mail."""

    def __init__(self, engine: Engine, inventory: Inventory, out_dir: Path, timezone: ZoneInfo, *,
                 store: MetricStore | None = None, notifier: Any = None, posts: Sequence[str] = (),
                 base_url: str = "", pdf: bool = True, clock: Callable[[], float] = time.time) -> None:
        self.engine, self.inventory, self.out_dir, self.timezone = engine, inventory, out_dir, timezone
        self.store, self.notifier, self.posts, self.base_url = store, notifier, tuple(posts), base_url
        self.pdf, self.clock = pdf, clock

    def run_once(self, now: int | None = None) -> str | None:
        """Generate the previous month if not done yet; returns its label, or None when nothing to do."""
        now = int(self.clock()) if now is None else now
        start, end, label = previous_month(now, self.timezone)
        with self.engine.connect() as conn:
            if conn.execute(select(report_runs.c.period).where(report_runs.c.period == label)).first():
                return None
            first = conn.execute(select(func.min(state_history.c.started_at))).scalar_one_or_none()
        if first is None or first >= end:  # Trucban was not watching yet that month: nothing to report
            return None
        self.generate(label, start, end, now)
        return label

    def generate(self, label: str, start: int, end: int, now: int) -> dict[str, Any]:
        """Write the files, record the run and queue the e-mails; returns the run row."""
        report = build_report(self.engine, self.inventory, start, end, store=self.store, now=now)
        folder = self.out_dir / label
        folder.mkdir(parents=True, exist_ok=True)
        title = f"Báo cáo khả dụng tháng {label[5:]}/{label[:4]}"
        page = render_html(report, self.timezone, title=title)
        files = {"html": f"bao-cao-{label}.html", "communes_csv": f"xa-{label}.csv",
                 "devices_csv": f"thiet-bi-{label}.csv"}
        (folder / files["html"]).write_text(page, encoding="utf-8")
        (folder / files["communes_csv"]).write_text(groups_csv(report, "commune"), encoding="utf-8-sig")
        (folder / files["devices_csv"]).write_text(devices_csv(report), encoding="utf-8-sig")
        if self.pdf:
            try:
                html_to_pdf(page, folder / f"bao-cao-{label}.pdf")
                files["pdf"] = f"bao-cao-{label}.pdf"
            except PdfError as exc:
                log.error("monthly report %s: %s (HTML and CSV written)", label, exc)
        total = report.total()
        summary = {"availability": total.availability, "outages": total.outages, "mttr_s": total.mttr_s,
                   "down_s": total.down_s, "indicators": report.indicators.as_dict()}
        row = {"period": label, "start": start, "end": end, "generated_at": now, "files": files,
               "summary": summary}
        with self.engine.begin() as conn:
            conn.execute(insert(report_runs).values(**row))
            if self.notifier is not None:
                message = self.message(title, report, label)
                for post in self.posts:
                    self.notifier.enqueue(conn, post, f"report:{label}:{post}", "report", message, now)
        log.info("monthly report %s written to %s", label, folder)
        return row

    def message(self, title: str, report: AvailabilityReport, label: str) -> Rendered:
        """The e-mail: headline figures, DII indicators, the link to the full report."""
        total, ind = report.total(), report.indicators
        link = f"{self.base_url.rstrip('/')}/reports?period=month&date={label}-01"
        lines = [
            f"Khả dụng toàn mạng: {pct(total.availability)}",
            f"Số lần mất kết nối: {total.outages}; MTTR: {duration(total.mttr_s)}",
            f"Xã/phường có BTS hoạt động suốt tháng: "
            f"{ind.communes_bts_up_throughout}/{ind.communes_with_bts}",
            f"Xã/phường có đường dự phòng hoạt động: "
            f"{ind.communes_backup_working}/{ind.communes_with_backup}",
            f"Báo cáo đầy đủ (HTML, PDF, CSV): {link}",
        ]
        body = "\n".join(lines)
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines[:-1])
        rich = (f"<h2>{html.escape(title)}</h2><ul>{items}</ul>"
                f'<p><a href="{html.escape(link)}">Xem báo cáo đầy đủ</a></p>')
        return Rendered(title, f"{title}: kha dung {pct(total.availability)}", f"{title}\n\n{body}", rich)
