"""The map's geometry: the shipped outline (Natural Earth, 34 provinces of 2025), the approximate commune
areas cut from it, and GET /api/map/communes (scope, province filter, source and licence)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape

from alerting.core import AlertingCore
from alerting.db import database_url, open_database
from api.app import create_app
from api.auth.accounts import AccountStore
from api.auth.audit import AuditLog
from api.context import ApiContext, Security
from api.geo.areas import official_areas, outline_text, province_areas, provinces
from api.render import package_dir
from api.routes.maps import _map_json
from inventory.loader import load_inventory
from inventory.reference import load_reference
from lab.generator import generate_lab
from store.sqlite import SqliteMetricStore

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HAI_PHONG = "31"
BACH_LONG_VI = "11948"
CAT_HAI = "11914"


def test_outline_is_small_and_has_every_province_of_2025_with_its_communes() -> None:
    size = (package_dir("static") / "map-vn.json").stat().st_size
    assert size < 250_000, size  # shipped simplified
    doc = json.loads(outline_text())
    assert "Natural Earth" in doc["source"] and "public domain" in doc["licence"]
    ref = load_reference()
    assert {c for c, p in provinces().items() if p.kind == "province"} == set(ref.provinces)
    assert {p.kind for p in provinces().values()} == {"province", "foreign"}
    for code in ref.provinces:  # Natural Earth's lines are older and coarse, but most points fall inside
        land = provinces()[code].land
        points = ref.in_province(code)
        inside = sum(land.distance(Point(c.lon, c.lat)) < 0.03 for c in points)
        assert inside / len(points) > 0.75, (code, inside, len(points))  # Lai Châu: 29 of 38


def test_cat_ba_is_hai_phong_and_bach_long_vi_is_off_the_outline() -> None:
    hai_phong = provinces()[HAI_PHONG].land
    assert hai_phong.contains(Point(107.03, 20.78))  # Natural Earth says Quảng Ninh
    assert not provinces()["22"].land.contains(Point(107.03, 20.78))
    blv = load_reference().communes[BACH_LONG_VI]
    assert hai_phong.distance(Point(blv.lon, blv.lat)) > 0.5  # too small an island for 1:10m


def test_hai_phong_areas_tile_the_province_and_islands_get_their_official_size() -> None:
    areas = province_areas(HAI_PHONG)
    assert set(areas) == {c.code for c in load_reference().in_province(HAI_PHONG)}
    cells = [a.geometry for a in areas.values() if a.method == "voronoi"]
    assert len(cells) == len(areas) - 1
    assert all(not g.is_empty and g.geom_type in ("Polygon", "MultiPolygon") for g in cells)
    union = shapely.union_all(cells)
    land = provinces()[HAI_PHONG].land
    assert union.symmetric_difference(land).area / land.area < 0.001  # the cells tile the province …
    assert sum(g.area for g in cells) == pytest.approx(union.area, rel=1e-3)  # … without overlapping
    blv = areas[BACH_LONG_VI]
    assert blv.method == "disc"
    km2 = blv.geometry.area * 111.32**2 * 0.936  # cos(20.1°): degrees² to km² at that latitude
    assert km2 == pytest.approx(official_areas()[BACH_LONG_VI], rel=0.15)
    assert areas[CAT_HAI].geometry.contains(Point(107.03, 20.78))  # Cát Bà is Cát Hải's
    for code, area in areas.items():  # every area is where its official point is (coast: 2.5 km at most)
        ref = load_reference().communes[code]
        assert area.geometry.distance(Point(ref.lon, ref.lat)) * 111 < (5 if code == CAT_HAI else 2.5), code


def test_geojson_is_rounded_to_a_ten_metre_grid() -> None:
    geo = province_areas(HAI_PHONG)[CAT_HAI].geojson()
    text = json.dumps(geo)
    assert shape(geo).area > 0
    numbers = text.replace("[", " ").replace("]", " ").replace(",", " ").split()
    assert max(len(n.split(".")[1]) for n in numbers if "." in n) <= 4


class NoCycle:
    """No poller."""

    last = None


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, ApiContext, str]]:
    root: Path = tmp_path_factory.mktemp("map")
    inventory = load_inventory(generate_lab(root / "lab", HAI_PHONG, port=16197, limit=3).inventory)
    store = SqliteMetricStore(root / "metrics.sqlite")
    engine = open_database(database_url(root / "alerting.sqlite"))
    core = AlertingCore(inventory, store, engine, timezone=TZ)
    security = Security(AccountStore(engine, secrets.token_bytes(32)), AuditLog(engine))
    ctx = ApiContext(inventory, core.tracker, store, NoCycle(), TZ, core, security=security)
    _, token = security.accounts.create_token("map", ["read"], created_by="tests")
    with TestClient(create_app(ctx)) as client:
        yield client, ctx, token
    store.close()
    engine.dispose()


def test_route_gives_the_watched_communes_with_areas(world: tuple[TestClient, ApiContext, str]) -> None:
    client, ctx, token = world
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/map/communes").status_code == 401
    answer = client.get("/api/map/communes", headers=auth)
    assert answer.status_code == 200
    doc = answer.json()
    assert [c["code"] for c in doc["communes"]] == ctx.inventory.watched_communes
    assert doc["provinces"] == [HAI_PHONG] and doc["outline"] == "/static/map-vn.json"
    assert "Natural Earth" in doc["source"] and "ước lượng" in doc["approximate"]
    first = doc["communes"][0]
    assert first["name"].startswith(("Phường", "Xã", "Đặc khu")) and first["method"] == "voronoi"
    assert shape(first["area"]).contains(Point(first["lon"], first["lat"]))
    assert client.get("/api/map/communes?province=01", headers=auth).json()["communes"] == []
    assert client.get("/api/map/communes?province=x", headers=auth).status_code == 422
    outline = client.get("/static/map-vn.json")
    assert outline.status_code == 200 and outline.json()["type"] == "FeatureCollection"


def test_a_commune_scoped_viewer_gets_its_commune_only(world: tuple[TestClient, ApiContext, str]) -> None:
    _, ctx, _ = world
    mine = ctx.inventory.watched_communes[1]
    doc = json.loads(_map_json(ctx, frozenset({mine}), None))
    assert [c["code"] for c in doc["communes"]] == [mine]
    assert json.loads(_map_json(ctx, frozenset(), None))["communes"] == []
