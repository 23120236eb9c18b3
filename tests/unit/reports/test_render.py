"""CSV, printable HTML and PDF (turned into a PNG with pdftoppm) of the staged report; the monthly job."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from inventory.inventory import Inventory
from reports import build_report
from reports.export import devices_csv, groups_csv
from reports.monthly import MonthlyReports
from reports.render import duration, html_to_pdf, pct, render_html
from reports.tables import report_runs_list
from store.sqlite import SqliteMetricStore
from tests.unit.reports.scenario import END, T0, A, B, stage

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture()
def report(report_inventory: Inventory, metric_store: SqliteMetricStore, engine: Engine):  # type: ignore[no-untyped-def]
    stage(report_inventory, metric_store, engine)
    return build_report(engine, report_inventory, T0, END, store=metric_store, now=END)


def test_formatters() -> None:
    assert pct(0.9984615) == "99,846 %" and pct(None) == "—"
    assert duration(390) == "00:06:30" and duration(90061) == "1 ngày 01:01:01"


def test_csv_has_the_figures(report) -> None:  # type: ignore[no-untyped-def]
    rows = {r["ma"]: r for r in csv.DictReader(io.StringIO(groups_csv(report, "commune")))}
    assert rows[A]["duong_du_phong_s"] == "600" and rows[A]["mat_ket_noi_s"] == "600"
    assert rows[A]["ten"] == "Phường Thành Đông"
    devices = {r["thiet_bi"]: r for r in csv.DictReader(io.StringIO(devices_csv(report)))}
    assert devices[f"c{B}-bts1"]["so_lan_mat"] == "2" and devices[f"c{B}-bts1"]["mttr_s"] == "195"
    assert devices[f"c{B}-bts1"]["kha_dung_pct"] == f"{100 * 3210 / 3600:.4f}"


def test_html_is_vietnamese_and_complete(report) -> None:  # type: ignore[no-untyped-def]
    page = render_html(report, TZ)
    assert "Báo cáo khả dụng" in page and "Phường Thành Đông" in page
    assert "Xã/phường có ít nhất 1 trạm BTS hoạt động suốt kỳ" in page
    assert "00:10:00" in page  # A's router: 600 s down, A's 600 s on backup
    assert "<script" not in page


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")
def test_pdf_page_renders_to_a_non_empty_png(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pdf = html_to_pdf(render_html(report, TZ), tmp_path / "report.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    base = ["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-gray", str(pdf)]
    subprocess.run([*base[:-1], "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=60)
    (png,) = tmp_path.glob("page*.png")
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 2000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 200 and height > 200
    raw = subprocess.run(base, check=True, timeout=60, capture_output=True).stdout  # the same page as PGM
    pixels = raw.split(b"\n", 3)[3]  # after "P5", "w h", "255"
    dark = sum(1 for v in pixels if v < 128)
    assert dark > 500  # text was drawn, not a blank page


class FakeNotifier:
    """Records what the monthly job would put in the outbox."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def enqueue(self, conn, post, key, kind, message, now):  # type: ignore[no-untyped-def]
        self.sent.append((post, key, message.subject))
        return 1


def test_monthly_job_runs_once_per_month(report_inventory: Inventory, metric_store: SqliteMetricStore,
                                         engine: Engine, tmp_path: Path) -> None:
    notifier = FakeNotifier()
    job = MonthlyReports(engine, report_inventory, tmp_path, TZ, notifier=notifier, posts=("coordinators",),
                         base_url="http://127.0.0.1:8000", pdf=False)
    now = 1_790_000_000  # 2026-09-21 local: the previous month is 2026-08
    assert job.run_once(now) is None  # no history yet: Trucban was not watching in August
    stage(report_inventory, metric_store, engine)  # history from 2026-09-21 on
    assert job.run_once(now + 40 * 86400) == "2026-09"
    assert job.run_once(now + 40 * 86400 + 3600) is None
    assert job.run_once(now + 3600) is None
    (run,) = report_runs_list(engine)
    assert run["period"] == "2026-09" and (tmp_path / "2026-09" / run["files"]["html"]).exists()
    subject = "Báo cáo khả dụng tháng 09/2026"
    assert notifier.sent == [("coordinators", "report:2026-09:coordinators", subject)]
