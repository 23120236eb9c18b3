"""The duty-officer screens' pure parts: search folding, NOC filters and order, resolved titles, bands."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alerting.battery import battery_figure, on_battery
from alerting.bts_status import BtsState
from alerting.maintenance import MaintenanceWindow
from api.bands import window_slots
from api.incident_text import final_title
from api.noc import SHOWN_ORDER, NocFilters, NocRow, _shown, fold
from common.timefmt import duration_vi as duration_text
from store.base import Sample
from store.sqlite import SqliteMetricStore

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = 1_790_000_000  # 2026-09-21 21:13:20 +07


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Phường Hồng Bàng", "phuong hong bang"), ("Đồ Sơn", "do son"), ("Xã Cát Hải", "xa cat hai")],
)
def test_fold_drops_diacritics_and_case(text: str, folded: str) -> None:
    assert fold(text) == folded


def _row(shown: str, roles: list[str], problem_roles: list[str], name: str = "Phường Hồng Bàng") -> NocRow:
    return NocRow(code="11311", name=name, province="31", shown=shown, label="", since=None,  # type: ignore[arg-type]
                  since_text="", up=0, total=0, roles=roles, problem_roles=problem_roles,
                  key=fold(f"{name} 11311"))


def test_noc_filters_come_from_the_query_and_ignore_unknown_values() -> None:
    f = NocFilters.of({"status": "battery", "role": "bts", "q": " hong bang ", "problems": "1", "x": "y"})
    assert (f.status, f.role, f.q, f.problems) == ("battery", "bts", "hong bang", True)
    assert NocFilters.of({"status": "<script>", "role": "toaster"}) == NocFilters()
    assert not NocFilters().active and f.active


def test_noc_row_matching() -> None:
    battery = _row("battery", ["router", "power"], ["power"])
    assert battery.matches(NocFilters(q="hong bang")) and battery.matches(NocFilters(q="11311"))
    assert not battery.matches(NocFilters(q="do son"))
    assert battery.matches(NocFilters(problems=True, role="power"))
    assert not battery.matches(NocFilters(problems=True, role="router"))  # the router is fine
    assert battery.matches(NocFilters(role="router"))  # … but the commune has one
    assert not _row("ok", ["router"], []).matches(NocFilters(problems=True))
    assert not battery.matches(NocFilters(province="01"))


def test_a_commune_on_battery_is_not_normal_and_cut_off_comes_first() -> None:
    assert _shown("ok", "primary", BtsState.BATTERY) == "battery"
    assert _shown("ok", "isolated", BtsState.UP) == "isolated"
    assert _shown("down", "primary", BtsState.BATTERY) == "down"
    assert SHOWN_ORDER.index("isolated") < SHOWN_ORDER.index("battery") < SHOWN_ORDER.index("ok")


def test_a_resolved_title_says_how_it_ended_not_its_live_runtime() -> None:
    live = "Trạm BTS Hồng Bàng mất điện lưới, đang chạy ắc quy, còn khoảng 64 phút (ước tính lúc 21:00)"
    assert final_title("bts_on_battery", live, T0, TZ) == (
        "Trạm BTS Hồng Bàng mất điện lưới — đã có điện lưới trở lại lúc 21:13 21/09"
    )
    down = final_title("device_down", "Mất kết nối: Router A", T0, TZ)
    assert down.endswith("đã kết nối lại lúc 21:13 21/09")
    assert final_title("site_alarm", "Cửa trạm mở", T0, TZ) == "Cửa trạm mở — đã khắc phục lúc 21:13 21/09"
    assert [duration_text(s) for s in (40, 45 * 60, 3900, 3 * 86400 + 4 * 3600)] == [
        "40 giây", "45 phút", "1 giờ 5 phút", "3 ngày 4 giờ"]


def test_maintenance_bands_follow_weekly_slots() -> None:
    once = MaintenanceWindow(1, "device", "d", T0, T0 + 7200, None, "thay ắc quy", "noc", T0)
    assert window_slots(once, T0 - 3600, T0 + 3600, TZ) == [(T0, T0 + 3600)]
    nightly = {"weekdays": [0, 1, 2, 3, 4, 5, 6], "start": "02:00", "minutes": 60}
    weekly = MaintenanceWindow(2, "site", "s", T0 - 30 * 86400, None, nightly, "định kỳ", "noc", T0)
    slots = window_slots(weekly, T0, T0 + 2 * 86400, TZ)
    assert len(slots) == 2 and all(b - a == 3600 for a, b in slots)


def test_the_battery_figure_fits_the_discharge_and_counts_down_when_last_known(tmp_path: Path) -> None:
    store = SqliteMetricStore(tmp_path / "m.sqlite")
    try:
        store.write([Sample("ups", {"device": "p"}, {"charge_pct": 80.0 - i}, T0 + 60 * i) for i in range(5)])
        fields = {"output_source": 5, "seconds_on_battery": 840, "charge_pct": 76.0, "minutes_remaining": 300}
        assert on_battery(fields) and not on_battery({"output_source": 3, "seconds_on_battery": 0})
        live = battery_figure(store, "p", fields, T0 + 240, observable=True, now=T0 + 600)
        assert live.minutes_left == pytest.approx(76.0) and live.method == "dự báo theo tốc độ xả"
        assert live.label(TZ) == "Đang chạy ắc quy, còn khoảng 76 phút"
        later = battery_figure(store, "p", fields, T0 + 240, observable=False, now=T0 + 840)
        assert later.minutes_left == pytest.approx(66.0) and later.last_known
        assert later.left_text(TZ) == "còn khoảng 66 phút (ước tính lúc 21:17)"
        few = battery_figure(store, "p", fields, T0 + 240, observable=True, now=T0 + 240, fit_min_points=10)
        assert few.minutes_left == 300 and few.method == "ước tính của UPS"
        mains = battery_figure(store, "p", {"output_source": 3, "charge_pct": 100}, T0,
                               observable=True, now=T0)
        assert not mains.on_battery and mains.minutes_left is None
        assert mains.label(TZ) == "Đang dùng điện lưới"
    finally:
        store.close()
