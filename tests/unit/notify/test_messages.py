"""Vietnamese messages: every part present, SMS within two segments, local time."""

from __future__ import annotations

from alerting.incidents import Incident, IncidentKind, IncidentStatus, Severity
from alerting.notify.causes import cause_vi
from alerting.notify.messages import Links, render_group, sms_segments, snapshot
from inventory.inventory import Inventory
from tests.unit.notify.conftest import T0, TZ

LINKS = Links("https://trucban.haiphong.gov.vn", TZ)


def snap(i: int, kind: IncidentKind = IncidentKind.BTS_ON_BATTERY, **kw: object) -> dict:
    base = {
        "id": i,
        "key": f"k{i}",
        "kind": kind.value,
        "severity": int(Severity.MAJOR),
        "status": "open",
        "title": f"Trạm BTS Phường Hồng Bàng {i} mất điện lưới, đang chạy ắc quy, còn khoảng 40 phút",
        "why": "UPS-MIB: nguồn ra = ắc quy; dung lượng 62% (dự báo theo tốc độ xả)",
        "runbook": f"runbooks/{kind.value}.md",
        "commune": "11311",
        "commune_name": "Phường Hồng Bàng",
        "site": "c11311-bts",
        "site_name": "Trạm BTS Phường Hồng Bàng",
        "device": "c11311-pwr1",
        "opened_at": T0,
        "resolved_at": None,
        "affected": 0,
        "communes": [],
        "minutes_left": 40.0 + i,
    }
    base.update(kw)
    return base


def test_single_incident_message_has_every_part() -> None:
    msg = render_group("Ban Chỉ huy phường Hồng Bàng", [("new", snap(7))], 1, LINKS)
    for part in (
        "Trạm BTS Phường Hồng Bàng 7 mất điện lưới",
        "Nơi: Trạm BTS Phường Hồng Bàng, Phường Hồng Bàng",
        "Từ lúc: 21:13 21/09/2026",
        "Nguyên nhân: UPS-MIB",
        "Ảnh hưởng: trạm BTS đang chạy ắc quy, còn khoảng 47 phút",
        "https://trucban.haiphong.gov.vn/runbooks/bts_on_battery.md",
        "XN 7",
    ):
        assert part in msg.text
    assert "21:13 21/09/2026" in msg.html and "runbooks/bts_on_battery.md" in msg.html
    assert msg.subject.startswith("[NGHIÊM TRỌNG] Ban Chỉ huy phường Hồng Bàng")
    assert sms_segments(msg.short) <= 2 and "XN 7" in msg.short and "21:13 21/9" in msg.short


def test_group_summary_counts_bts_on_battery_and_fits_sms() -> None:
    items = [("new", snap(i)) for i in range(1, 4)] + [
        ("recovered", snap(9, IncidentKind.DEVICE_DOWN, resolved_at=T0 + 600))
    ]
    msg = render_group("Ban Chỉ huy phường Hồng Bàng", items, 3, LINKS)
    assert "3 trạm BTS của Phường Hồng Bàng đang chạy ắc quy, sớm nhất còn khoảng 41 phút" in msg.text
    assert "ĐÃ PHỤC HỒI" in msg.text and "Phục hồi lúc: 21:23 21/09/2026" in msg.text
    assert sms_segments(msg.short) <= 2
    assert "3 sự cố, 1 đã phục hồi" in msg.short


def test_segments_gsm_vs_unicode() -> None:
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2
    assert sms_segments("ắ" * 70) == 1 and sms_segments("ắ" * 71) == 2 and sms_segments("ắ" * 135) == 3


def test_cause_is_vietnamese_with_device_names_not_codes(lab_inventory: Inventory) -> None:
    code = lab_inventory.watched_communes[0]
    bts, router = f"c{code}-bts1", f"c{code}-r1"
    incident = Incident(
        id=3,
        key=f"device_down:{bts}",
        kind=IncidentKind.DEVICE_DOWN,
        severity=Severity.MAJOR,
        status=IncidentStatus.OPEN,
        title="Mất kết nối: BTS",
        why=f"{bts}: no SNMP answer from 127.0.0.1:16199 (timeout 2 s × 2); "
        f"thiết bị cha {router} không hoạt động",
        runbook="runbooks/device_down.md",
        opened_at=T0,
        updated_at=T0,
        commune=code,
        device=bts,
    )
    why = snapshot(incident, lab_inventory)["why"]
    assert "không trả lời SNMP (hết thời gian chờ 2 s × 2 lần)" in why, why
    assert lab_inventory.devices[router].name in why, why
    for english_or_code in ("no SNMP answer", "timeout", bts, router):
        assert english_or_code not in why, why
    text = render_group("Ban Chỉ huy", [("new", snapshot(incident, lab_inventory))], 1, LINKS).text
    assert f"Nguyên nhân: {why}" in text


def test_unknown_collector_error_is_named_by_its_kind(lab_inventory: Inventory) -> None:
    odd = cause_vi("the agent said something odd", lab_inventory)
    assert odd == "lỗi giao thức (chi tiết kỹ thuật: the agent said something odd)"
    assert cause_vi("ipv4 10.0.0.1: timed out", lab_inventory) == "ipv4 10.0.0.1: hết thời gian chờ"
