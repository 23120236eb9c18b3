"""Report page, JSON, CSV download and printable HTML on the running service (lab history so far)."""

from __future__ import annotations

import csv
import io

import pytest

from tests.functional.conftest import RunningService, wait_for

pytestmark = pytest.mark.functional


def test_report_page_json_and_csv(running: RunningService) -> None:
    wait_for(lambda: running.service.alerting.last.ts, 30)
    page = running.get("/reports?period=day")
    assert page.status_code == 200 and "Báo cáo khả dụng" in page.text and 'id="daily"' in page.text
    data = running.get("/api/reports/availability?by=commune&period=day").json()
    codes = set(running.service.inventory.watched_communes)
    assert {i["key"] for i in data["items"]} == codes
    assert data["availability_pct"] is None or 0 <= data["availability_pct"] <= 100
    daily = running.get("/api/reports/daily?period=day").json()
    assert len(daily["days"]) == 1
    answer = running.get("/api/reports/availability.csv?by=device&period=day")
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert {r["thiet_bi"] for r in rows} == set(running.service.inventory.devices)
    printable = running.get("/reports/print?period=day")
    assert printable.status_code == 200 and "Chỉ số hạ tầng (DII)" in printable.text


def test_bad_period_is_a_clear_422(running: RunningService) -> None:
    answer = running.get("/api/reports/availability?date=21-09-2026")
    assert answer.status_code == 422 and "YYYY-MM-DD" in answer.text
