"""Rendering a runbook with an incident's own values: commune, device, local time, battery, contacts."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from alerting.incidents import Incident, IncidentKind, IncidentStatus, Severity
from inventory.inventory import Inventory
from runbooks import render_runbook, render_runbook_html
from runbooks.render import duration_vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OPENED = 1_789_000_000  # 2026-09-10 00:26:40 UTC = 07:26 giờ Việt Nam


def _incident(kind: IncidentKind, **kw: object) -> Incident:
    base: dict = dict(id=42, key=f"{kind.value}:x", kind=kind, severity=Severity.CRITICAL,
                      status=IncidentStatus.OPEN, title="Trụ sở UBND phường Hồng Bàng mất điện lưới",
                      why="UPS-MIB: nguồn ra = ắc quy", runbook=f"runbooks/{kind.value}.md",
                      opened_at=OPENED, updated_at=OPENED, province="31", commune="11311",
                      site="hq-11311", device="pwr-11311")
    base.update(kw)
    return Incident(**base)


def test_battery_runbook_carries_commune_time_minutes_and_contacts(small_inventory: Inventory) -> None:
    inc = _incident(IncidentKind.BTS_ON_BATTERY, details={"charge_pct": 63, "minutes_left": 47.4})
    title, body = render_runbook("bts_on_battery", inc, small_inventory, TZ, now=OPENED + 3900)
    assert title == "BTS mất điện lưới, đang chạy ắc quy — Phường Hồng Bàng"
    assert "| Xã/phường | Phường Hồng Bàng — Ban Chỉ huy phòng thủ dân sự phường Hồng Bàng |" in body
    assert "**47 phút**" in body and "**63%**" in body
    assert "07:26 ngày 10/09/2026 (giờ Việt Nam), đã 1 giờ 5 phút" in body
    assert "- Nguyễn Văn A (Trực ban) — ☎ +84901234567 — a@example.vn" in body
    assert "- Lê Thị NOC (Trưởng ca NOC) — ☎ +84243000000" in body  # NOC from the inventory's NOC site
    assert "{{" not in body


def test_device_down_names_parent_operator_and_hardening(small_inventory: Inventory) -> None:
    inc = _incident(IncidentKind.DEVICE_DOWN, device="r1-11311", affected=("pwr-11311",))
    _, body = render_runbook("device_down", inc, small_inventory, TZ, now=OPENED + 60)
    assert "Router truy nhập (r1-11311), IP 10.31.0.1" in body
    assert "| Thiết bị cha | Router tổng hợp (agg-01) |" in body
    assert "| Nhà mạng, cấp chống chịu | VNPT, cấp 4 |" in body
    assert "| Bị ảnh hưởng phía sau | Nguồn BTS (pwr-11311) |" in body


def test_procedure_without_incident_and_html_escapes_inventory_text(small_inventory: Inventory) -> None:
    title, body = render_runbook("typhoon_preparation", None, small_inventory, TZ)
    assert title == "Chuẩn bị trước bão" and "Lê Thị NOC" in body
    inc = _incident(IncidentKind.BTS_ON_BATTERY, details={"charge_pct": 20, "minutes_left": 9})
    title, page = render_runbook_html("bts_on_battery", inc, small_inventory, TZ)
    assert "<h1>BTS mất điện lưới, đang chạy ắc quy</h1>" in page
    assert "Trần &lt;b&gt;B&lt;/b&gt;" in page and "<b>B</b>" not in page  # inventory text is not HTML
    assert '<a href="battery_low.md">' in page and "<table>" in page


def test_incident_without_commune_points_at_the_noc(small_inventory: Inventory) -> None:
    inc = _incident(IncidentKind.POLLER_DEGRADED, commune=None, site=None, device=None)
    title, body = render_runbook("poller_degraded", inc, small_inventory, TZ)
    assert title == "Trucban thăm dò chậm hoặc thiếu" and "Lê Thị NOC" in body


def test_durations_in_vietnamese() -> None:
    assert duration_vi(45 * 60) == "45 phút"
    assert duration_vi(3 * 86400 + 3600 + 59) == "3 ngày 1 giờ"


def test_values_are_table_safe_and_a_bad_template_is_refused(small_inventory: Inventory, tmp_path) -> None:
    """Rendered with Jinja2 (sandboxed): a '|' in incident text stays inside its cell; a stray '{%' in a
    runbook is a load-time problem naming its line, not a crash at incident time."""
    from pathlib import Path

    from runbooks.catalog import check_body

    inc = _incident(IncidentKind.DEVICE_DOWN, device="r1-11311", title="cổng Gi0/1 | Gi0/2 lỗi")
    _, body = render_runbook("device_down", inc, small_inventory, TZ, now=OPENED + 60)
    assert "cổng Gi0/1 \\| Gi0/2 lỗi" in body
    problems = check_body(Path(tmp_path / "x.md"), ["# Tiêu đề", "Sự cố {{ title }}", "sai {% if %}"], 7)
    assert [(p.line, p.field, p.value) for p in problems] == [(9, "template", "sai {% if %}")]
