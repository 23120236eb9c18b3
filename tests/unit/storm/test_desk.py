"""The storm desk: import → proposal with exposure and readiness → one-action confirmation."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alerting.core import AlertingCore
from alerting.db import open_database
from alerting.notify.facade import NotifyService
from alerting.repository import IncidentRepository
from lab.national import national_inventory
from store.sqlite import SqliteMetricStore
from storm.desk import StormDesk
from storm.model import TrackError
from tests.unit.notify.conftest import config

DATA = Path(__file__).parent / "data"
NOW = 1788660000  # 2026-09-06 02:00 UTC, before the storm
BLV, CAT_HAI, DONG_HAI = "11948", "11914", "11411"


@pytest.fixture()
def desk(tmp_path: Path) -> StormDesk:
    inventory = national_inventory("31")
    engine = open_database(f"sqlite:///{tmp_path / 'alerting.sqlite'}")
    store = SqliteMetricStore(tmp_path / "metrics.sqlite")
    core = AlertingCore(inventory, store, engine)
    notify = NotifyService.build(engine, inventory, config(), incidents=IncidentRepository(engine),
                                 base_url="http://127.0.0.1:8000", timezone=ZoneInfo("Asia/Ho_Chi_Minh"),
                                 clock=lambda: NOW)
    return StormDesk(engine, inventory, core, notify, clock=lambda: NOW)


def test_import_proposes_exactly_the_exposed_communes(desk: StormDesk) -> None:
    storm = desk.import_track(DATA / "track.geojson", by="điều phối viên")
    assert storm.status == "proposed" and storm.source == "geojson"
    assert set(storm.communes) == {BLV, CAT_HAI, DONG_HAI}
    assert storm.communes[0] == BLV  # earliest arrival first
    ready = storm.readiness
    assert sorted(ready["backup_ok"] + ready["backup_missing"]) == sorted(storm.communes)
    assert len(ready["power_unknown"]) == 2 * 3  # two power systems per exposed commune, no data yet
    kinds = {f["properties"]["kind"] for f in storm.overlay["features"]}
    assert kinds == {"track", "fix", "radius"}
    assert desk.recent()[0].id == storm.id


def test_confirm_declares_typhoon_mode_for_those_communes(desk: StormDesk) -> None:
    storm = desk.import_track(DATA / "warning_cap.xml", by="dp")
    confirmed = desk.confirm(storm.id, by="dp")
    assert confirmed.status == "confirmed" and confirmed.declaration_id is not None
    assert desk.notify is not None
    decl = desk.notify.typhoon.get(confirmed.declaration_id)
    assert sorted(decl.communes) == sorted(storm.communes)
    assert decl.name == "Bão số 3 (diễn tập)"
    with pytest.raises(ValueError, match="already confirmed"):
        desk.confirm(storm.id, by="dp")


def test_bad_file_is_rejected_whole(desk: StormDesk, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text((DATA / "track_ibtracs.csv").read_text(encoding="utf-8").replace("20.8087", "x"),
                   encoding="utf-8")
    with pytest.raises(TrackError, match=r"bad\.csv:4: LAT"):
        desk.import_track(bad, by="dp")
    with pytest.raises(TrackError, match="unknown forecast format"):
        desk.import_track(tmp_path / "storm.kml", by="dp")
    assert desk.recent() == []


def test_replay_against_recorded_history(desk: StormDesk) -> None:
    from collectors.base import PollResult

    storm = desk.import_track(DATA / "track.geojson", by="dp")
    cat_hai = next(e for e in storm.exposure if e["code"] == CAT_HAI)
    eta = int(cat_hai["eta"])
    inv = desk.inventory
    victim = f"c{CAT_HAI}-bts1"

    def cycle(ts: int, silent: set[str]) -> None:
        desk.core.evaluate({d: PollResult(d, d not in silent, ts) for d in inv.devices}, ts)

    cycle(eta - 7 * 3600, set())
    cycle(eta, {victim})  # the BTS dies on arrival
    cycle(eta + 3 * 3600, set())  # and is back three hours later
    rows = {r.code: r for r in desk.replay(storm.id)}
    row = rows[CAT_HAI]
    assert row.went_down == (victim,)
    devices = len(inv.devices_by_commune[CAT_HAI])
    window = 30 * 3600
    assert row.up_pct == pytest.approx(round(100 * (devices * window - 3 * 3600) / (devices * window), 2))
    assert rows[BLV].went_down == ()
