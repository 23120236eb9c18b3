"""A storm crossing Hải Phòng's coast, in three formats, against hand-made expectations.

Track: Bạch Long Vĩ (20.1346 N, 107.7307 E) at 18:00Z → Cát Hải (20.8087, 106.869) at
06:00Z → (21.0, 107.0) at 12:00Z; 34-kt winds out to 12 km, 50-kt to 5 km.
By hand from the reference coordinates, the communes closest to that path are:
Bạch Long Vĩ 0 km, Cát Hải 0 km, Đông Hải 10.1 km, Hải An 13.7 km, Đồ Sơn 14.2 km.
So within 12 km: Bạch Long Vĩ and Cát Hải (inside 5 km: 50 kt) and Đông Hải (34 kt).
The CAP warning box (20.78–20.84 N, 106.75–106.90 E) holds Cát Hải and Đông Hải only,
its 10-km circle Bạch Long Vĩ only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.reference import load_reference
from storm.exposure import exposure
from storm.model import Track, TrackError
from storm.parse_cap import parse_cap
from storm.parse_geojson import parse_geojson
from storm.parse_ibtracs import parse_ibtracs

DATA = Path(__file__).parent / "data"
BLV, CAT_HAI, DONG_HAI = "11948", "11914", "11411"
T0 = 1788717600  # 2026-09-06 18:00 UTC
T1 = T0 + 12 * 3600


def hai_phong() -> tuple[dict, dict]:
    ref = load_reference().in_province("31")
    return {c.code: [(c.lat, c.lon)] for c in ref}, {c.code: c.name for c in ref}


def exposed(track: Track) -> dict:
    places, names = hai_phong()
    return {e.code: e for e in exposure(track, places, names)}


@pytest.mark.parametrize("track", [parse_geojson(DATA / "track.geojson"),
                                   parse_ibtracs(DATA / "track_ibtracs.csv")], ids=["geojson", "ibtracs"])
def test_track_exposes_the_hand_made_communes(track: Track) -> None:
    assert [p.ts for p in track.points] == [T0, T1, T1 + 6 * 3600]
    got = exposed(track)
    assert set(got) == {BLV, CAT_HAI, DONG_HAI}
    assert got[BLV].wind_kt == 50 and got[CAT_HAI].wind_kt == 50 and got[DONG_HAI].wind_kt == 34
    assert got[BLV].eta == T0
    assert T0 < got[CAT_HAI].eta <= T1
    assert got[DONG_HAI].wind_class == "gió mạnh cấp 8 trở lên"
    assert 9.5 < got[DONG_HAI].closest_km < 11


def test_cap_areas_expose_their_communes() -> None:
    track = parse_cap(DATA / "warning_cap.xml")
    got = exposed(track)
    assert set(got) == {BLV, CAT_HAI, DONG_HAI}
    assert got[CAT_HAI].via == "vùng cảnh báo: Ven biển Hải Phòng"
    assert got[CAT_HAI].eta == T1 - 3600 * 3  # onset 10:00 +07:00
    assert got[BLV].via == "vùng cảnh báo: Bạch Long Vĩ"


def test_geojson_errors_name_the_field(tmp_path: Path) -> None:
    text = (DATA / "track.geojson").read_text(encoding="utf-8")
    bad = tmp_path / "bad.geojson"
    bad.write_text(text.replace('"2026-09-07T12:00:00Z"', '"sáng mai"'), encoding="utf-8")
    message = r"features\[2\]\.properties\.time: not an ISO-8601 time: 'sáng mai'"
    with pytest.raises(TrackError, match=message):
        parse_geojson(bad)
    second_radius = '"radius_34kt_km": {"NE": 12, "SE": 12, "SW": 12, "NW": 12}, "radius_50kt_km": 5'
    broken = second_radius.replace('"radius_50kt_km": 5', '"radius_50kt_km": [1, 2]')
    bad.write_text(text.replace(second_radius, broken), encoding="utf-8")
    with pytest.raises(TrackError, match=r"features\[1\]\.properties\.radius_50kt_km"):
        parse_geojson(bad)
    bad.write_text(text[:-10], encoding="utf-8")
    with pytest.raises(TrackError, match=r"bad\.geojson:\d+: invalid JSON"):
        parse_geojson(bad)


def test_ibtracs_errors_name_line_and_column(tmp_path: Path) -> None:
    text = (DATA / "track_ibtracs.csv").read_text(encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(text.replace("20.8087,106.869,,80,6.48", "20.8087,106.869,,80,sáu"), encoding="utf-8")
    with pytest.raises(TrackError, match=r"bad\.csv:4: USA_R34_NE: not a number: 'sáu'"):
        parse_ibtracs(bad)
    bad.write_text(text.replace("2026-09-07 12:00:00", "07/09/2026 12h"), encoding="utf-8")
    with pytest.raises(TrackError, match=r"bad\.csv:5: ISO_TIME"):
        parse_ibtracs(bad)


def test_cap_errors_name_the_line(tmp_path: Path) -> None:
    text = (DATA / "warning_cap.xml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.xml"
    bad.write_text(text.replace("20.84,106.75 20.78,106.75</polygon>", "20.84,106.75</polygon>"),
                   encoding="utf-8")
    with pytest.raises(TrackError, match=r"bad\.xml:20: polygon: needs ≥ 4 pairs, first = last"):
        parse_cap(bad)
    bad.write_text(text.replace("<circle>20.1346,107.7307 10</circle>", "<circle>mười km</circle>"),
                   encoding="utf-8")
    with pytest.raises(TrackError, match=r"bad\.xml:24: circle"):
        parse_cap(bad)
