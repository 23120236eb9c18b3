"""The picture's BTS column: every site with a BTS or a power system counts; the commune shows its worst."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from alerting.bts_status import BtsState, SiteBts
from alerting.states import DeviceState, Status
from api.picture import Index, row_bts, site_of
from inventory.loader import load_inventory
from store.base import Point

T0 = 1_790_000_000  # 21:13 in Hà Nội
INVENTORY = """\
province: "31"
communes:
  - code: "11311"
sites:
  - {id: hq, name: Trụ sở UBND phường Hồng Bàng, kind: commune_hq, commune: "11311"}
  - {id: bts-a, name: Trạm BTS A, kind: bts_site, commune: "11311"}
  - {id: bts-b, name: Trạm BTS B, kind: bts_site, commune: "11311"}
devices:
  - {id: r1, name: Router, site: hq, role: router, address: 10.31.0.1}
  - {id: bts1, name: BTS A, site: bts-a, role: bts, address: 10.31.0.2, parents: [r1]}
  - {id: pwr-a, name: Nguồn A, site: bts-a, role: power, address: 10.31.0.3, parents: [r1]}
  - {id: pwr-b, name: Nguồn B, site: bts-b, role: power, address: 10.31.0.4, parents: [r1]}
"""


def test_sites_with_a_bts_or_a_power_system_are_bts_sites(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    index = Index(load_inventory(path))
    assert index.bts_sites["11311"] == {"bts-a": (["bts1"], ["pwr-a"]), "bts-b": ([], ["pwr-b"])}

    states = {d: DeviceState(d, Status.UP) for d in ("r1", "bts1", "pwr-a", "pwr-b")}
    states["pwr-b"].status = Status.UNREACHABLE
    ups = {
        "pwr-a": Point(T0, {"device": "pwr-a"}, {"output_source": 3, "charge_pct": 100}),
        "pwr-b": Point(T0, {"device": "pwr-b"}, {"output_source": 5, "charge_pct": 40}),
    }
    a = site_of(["bts1"], ["pwr-a"], states, ups, {}, T0 + 60)
    b = site_of([], ["pwr-b"], states, ups, {}, T0 + 60)
    assert a.state is BtsState.UP
    assert b.state is BtsState.BATTERY and b.last_known and b.observed_at == T0 and b.charge_pct == 40


def test_isolated_commune_keeps_the_last_known_battery_in_its_label() -> None:
    ctx = SimpleNamespace(timezone=ZoneInfo("Asia/Ho_Chi_Minh"))
    site = SiteBts(BtsState.BATTERY, last_known=True, observed_at=T0, via_power=True)
    assert row_bts(site, True, ctx) == ("isolated", "Xã bị cô lập · Đang chạy ắc quy (lần cuối lúc 21:13)")  # type: ignore[arg-type]
    assert row_bts(SiteBts(BtsState.UNREACHABLE), False, ctx) == (  # type: ignore[arg-type]
        "unknown", "Không liên lạc được (do thiết bị phía trên)"
    )
    assert row_bts(SiteBts(BtsState.NONE), False, ctx) == ("none", "Không có BTS")  # type: ignore[arg-type]
