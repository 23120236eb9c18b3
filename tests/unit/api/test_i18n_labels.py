"""Every code a page can show has a Vietnamese label (with diacritics) and an English one."""

from __future__ import annotations

from enum import StrEnum

import pytest

from alerting.states import Status
from alerting.summary import STATUS_VI, CommuneStatus
from api import i18n
from inventory.model import DeviceRole, LinkKind, LinkMedium, SiteKind

CODES: list[tuple[str, type[StrEnum]]] = [
    ("dev", Status),
    ("st", CommuneStatus),
    ("role", DeviceRole),
    ("kind", SiteKind),
    ("link", LinkKind),
    ("medium", LinkMedium),
]


@pytest.mark.parametrize(("prefix", "codes"), CODES)
def test_every_code_has_a_label_in_both_languages(prefix: str, codes: type[StrEnum]) -> None:
    missing = [c.value for c in codes if f"{prefix}_{c.value}" not in i18n.TEXT]
    assert missing == []
    for code in codes:
        vi, en = i18n.TEXT[f"{prefix}_{code.value}"]
        assert vi and en


def test_device_states_as_people_read_them() -> None:
    assert i18n.text("dev_up") == "Hoạt động"
    assert i18n.text("dev_down") == "Mất kết nối"
    assert i18n.text("dev_unreachable") == "Không liên lạc được (do thiết bị phía trên)"
    assert i18n.text("dev_unknown") == "Chưa rõ / chưa có số liệu"
    assert i18n.text("dev_maintenance") == "Đang bảo trì"
    assert i18n.text("dev_unknown", "en") == "Unknown / no data yet"
    assert STATUS_VI[CommuneStatus.UNKNOWN] == i18n.text("st_unknown")


@pytest.mark.parametrize(
    ("code", "vi", "en"),
    [
        ("primary", "Đường chính", "Primary link"),
        ("backup:4g", "Đường dự phòng (4G)", "Backup link (4G)"),
        ("backup:leo", "Đường dự phòng (vệ tinh LEO)", "Backup link (LEO satellite)"),
        ("isolated", "Mất mọi đường kết nối", "All links lost"),
        ("unknown", "Chưa rõ / chưa có số liệu", "Unknown / no data yet"),
        ("something-new", "Chưa rõ / chưa có số liệu", "Unknown / no data yet"),
    ],
)
def test_connectivity_for_people(code: str, vi: str, en: str) -> None:
    assert i18n.connectivity(code) == vi and i18n.connectivity(code, "en") == en
