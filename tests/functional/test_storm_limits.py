"""Storm bulletins cannot stall or flood the monitor, over real TCP (issue 18, item 4 and the Low items).

A real uvicorn server on loopback with the storm desk on. Every malformed
bulletin is a 422 problem+json naming what is wrong; a 4.8 MiB GeoJSON of
18,880 fixes imports in bounded time and memory while ``/healthz`` keeps
answering; the stored overlay is small; the list answers summaries; a storm
can be deleted, and the deletion is audited.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from api.context import WebOptions
from storm.desk import StormDesk
from tests.functional.api_peers import LightServer, light_inventory, light_server, rss_bytes

pytestmark = pytest.mark.functional
PROBLEM = "application/problem+json"
SOON = int(time.time()) + 6 * 3600


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LightServer]:
    """The light app with the storm desk on (its own alerting database)."""
    root = tmp_path_factory.mktemp("storm-limits")
    inventory = light_inventory(root / "lab")
    with light_server(root / "data", inventory, WebOptions(upload_limit=6 * 2**20)) as srv:
        core = srv.ctx.alerting
        assert core is not None
        srv.ctx.storms = StormDesk(core.engine, inventory, core)
        yield srv


@pytest.fixture(scope="module")
def coordinator(api: LightServer) -> Iterator[httpx.Client]:
    """A client with a read + typhoon token (what importing and deleting need)."""
    with httpx.Client(base_url=api.url, timeout=60,
                      headers={"Authorization": f"Bearer {api.token(['read', 'typhoon'])}"}) as client:
        yield client


def upload(client: httpx.Client, body: str | bytes, name: str = "bulletin.geojson") -> httpx.Response:
    return client.post("/api/storms", files={"file": (name, body, "application/octet-stream")})


def track(*features: dict) -> str:
    return json.dumps({"type": "FeatureCollection", "name": "Bão thử", "features": list(features)},
                      ensure_ascii=False)


def fix(lon: object = 106.6, lat: object = 20.9, when: object = None, **props: object) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"time": when or _iso(SOON), **props}}


GOOD = track(fix(), fix(106.8, 21.1, _iso(SOON + 6 * 3600)))


def raw(good: str, old: str, new: str) -> str:
    assert old in good
    return good.replace(old, new, 1)


RADIUS = track(fix(radius_34kt_km=100), fix(106.8, 21.1, _iso(SOON + 3600)))
CONE = track({"type": "Feature", "properties": {},
              "geometry": {"type": "Polygon", "coordinates": [[[106, 20], [107, 20], [107, 21], [106, 20]]]}})
DEEP = 100_000
CAP = ('<?xml version="1.0"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><info><event>Bão</event>'
       '<area><areaDesc>x</areaDesc><circle>{}</circle></area></info></alert>')
CSV = "ISO_TIME,LAT,LON,USA_WIND\n{}\n2026-09-07 06:00:00,21.0,107.0,60\n"

# (case, file name, body, what the detail must name)
MALFORMED: list[tuple[str, str, str | bytes, str]] = [
    ("features-list-of-number", "b.geojson", '{"type": "FeatureCollection", "features": [1]}', "features[0]"),
    ("features-object", "b.geojson", '{"type": "FeatureCollection", "features": {"a": 1}}', "features"),
    ("features-empty-object", "b.geojson", '{"type": "FeatureCollection", "features": {}}', "features"),
    ("string-geometry", "b.geojson", track({"type": "Feature", "geometry": "POINT (106 20)",
                                            "properties": {}}), "geometry"),
    ("nan-radius", "b.geojson", raw(RADIUS, '"radius_34kt_km": 100', '"radius_34kt_km": NaN'), "NaN"),
    ("infinity-radius", "b.geojson", raw(RADIUS, '"radius_34kt_km": 100', '"radius_34kt_km": Infinity'),
     "Infinity"),
    ("huge-radius", "b.geojson", raw(RADIUS, '"radius_34kt_km": 100', '"radius_34kt_km": 1e999'),
     "không hữu hạn"),
    ("negative-radius", "b.geojson", raw(RADIUS, '"radius_34kt_km": 100', '"radius_34kt_km": -5'),
     "radius_34kt_km"),
    ("nan-latitude", "b.geojson", raw(GOOD, "20.9]", "NaN]"), "NaN"),
    ("infinity-latitude", "b.geojson", raw(GOOD, "20.9]", "-Infinity]"), "Infinity"),
    ("latitude-95", "b.geojson", raw(GOOD, "20.9]", "95]"), "vĩ độ"),
    ("longitude-200", "b.geojson", raw(GOOD, "[106.6,", "[200,"), "kinh độ"),
    ("5000-digit-integer", "b.geojson", raw(GOOD, "20.9]", "2" + "0" * 4999 + "]"), "số quá dài"),
    ("100k-deep-arrays", "b.geojson", raw(GOOD, '"Bão thử"', "[" * DEEP + "]" * DEEP), "lồng nhau quá sâu"),
    ("100k-deep-objects", "b.geojson", raw(GOOD, '"Bão thử"', '{"a":' * DEEP + "1" + "}" * DEEP),
     "lồng nhau quá sâu"),
    ("year-0001-with-offset", "b.geojson", raw(GOOD, _iso(SOON), "0001-01-01T03:00:00+05:00"), "năm"),
    ("year-9999-with-offset", "b.geojson", raw(GOOD, _iso(SOON), "9999-12-31T22:00:00-05:00"), "năm"),
    ("track-over-250-years", "b.geojson", raw(GOOD, _iso(SOON), "1850-06-01T00:00:00Z"), "ngày"),
    ("polygon-latitude-95", "b.geojson", raw(CONE, "[107, 21]", "[107, 95]"), "vĩ độ"),
    ("polygon-string-ring", "b.geojson", raw(CONE, "[[[106, 20]", '["x", [[106, 20]'), "coordinates"),
    ("numeric-time", "b.geojson", raw(GOOD, f'"{_iso(SOON)}"', "1788660000"), "time"),
    ("too-many-fixes", "b.geojson", track(*[fix(106, 20.9, _iso(SOON + i)) for i in range(25_001)]),
     "quá nhiều"),
    ("too-many-vertices", "b.geojson", raw(CONE, "[[[106, 20]", "[[[106, 20]" + ", [106.5, 20.5]" * 25_000),
     "quá nhiều điểm"),
    ("not-utf8", "b.geojson", b"\xff\xfe" + GOOD.encode("utf-16-le"), "UTF-8"),
    ("cap-circle-latitude-95", "b.xml", CAP.format("95,106 10"), "vĩ độ"),
    ("cap-circle-nan-radius", "b.xml", CAP.format("20.9,106.6 nan"), "bán kính"),
    ("csv-nan-latitude", "b.csv", CSV.format("2026-09-07 00:00:00,nan,106.6,50"), "LAT"),
    ("csv-year-0001", "b.csv", CSV.format("0001-01-01 00:00:00,20.9,106.6,50"), "năm"),
    ("csv-nul-byte", "b.csv", CSV.format("2026-09-07 00:00:00,20.9,106.6,5\x000"), "USA_WIND"),
    ("csv-huge-field", "b.csv", CSV.format('2026-09-07 00:00:00,20.9,106.6,"' + "9" * 200_000 + '"'), "CSV"),
]


@pytest.mark.parametrize(("name", "body", "names"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_bulletin_is_a_422_problem_naming_the_fault(coordinator: httpx.Client, name: str,
                                                              body: str | bytes, names: str) -> None:
    before = coordinator.get("/api/storms").json()
    answer = upload(coordinator, body, name)
    assert answer.status_code == 422, answer.text[:300]
    assert answer.headers["content-type"].startswith(PROBLEM)
    detail = answer.json()["detail"]
    assert detail.startswith("bản tin không hợp lệ: ") and names in detail, detail[:300]
    assert len(detail) < 2000
    assert coordinator.get("/api/storms").json() == before  # nothing imported


def big_bulletin(n: int = 18_880) -> str:
    """~4.8 MiB: a 26-day track of ``n`` fixes two minutes apart, each with three wind radii."""
    start = time.time() + 3600
    features = []
    for i in range(n):
        f = i / n
        lon = 110.0 - 6.0 * f + 0.3 * math.sin(i / 50)
        lat = 15.0 + 7.0 * f + 0.2 * math.cos(i / 70)
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                         "properties": {"time": _iso(start + i * 120), "max_wind_kt": 80 + i % 40,
                                        "radius_34kt_km": [220.5 + i % 7, 200.25, 180.75, 210.0],
                                        "radius_50kt_km": 115.5, "radius_64kt_km": 55.25}})
    return json.dumps({"type": "FeatureCollection", "name": "Bão lớn thử tải", "features": features})


class Watch(threading.Thread):
    """Polls ``/healthz`` and samples this process's RSS until stopped: worst latency, peak RSS."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.peak = rss_bytes()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self.stop.is_set():
                t0 = time.perf_counter()
                assert client.get("/healthz").status_code in (200, 503)
                self.latencies.append(time.perf_counter() - t0)
                self.peak = max(self.peak, rss_bytes())
                self.stop.wait(0.05)


def test_big_bulletin_imports_in_bounded_time_and_memory_and_the_loop_stays_responsive(
    api: LightServer, coordinator: httpx.Client, tmp_path: Path
) -> None:
    body = big_bulletin()
    assert 4.5 * 2**20 < len(body) < 5 * 2**20
    database = Path(str(api.ctx.alerting.engine.url.database))  # type: ignore[union-attr]
    list_before = len(coordinator.get("/api/storms").content)
    size_before = _size(database)
    watch = Watch(api.url)
    rss_before = rss_bytes()
    watch.start()
    time.sleep(0.2)
    t0 = time.perf_counter()
    answer = upload(coordinator, body, "big.geojson")
    took = time.perf_counter() - t0
    watch.stop.set()
    watch.join(10)
    assert answer.status_code == 201, answer.text[:300]
    storm = answer.json()
    assert "overlay" not in storm
    grown = _size(database) - size_before
    overlay = coordinator.get(f"/api/storms/{storm['id']}/overlay")
    assert overlay.status_code == 200
    doc = overlay.json()
    points = sum(_positions(f["geometry"]["coordinates"]) for f in doc["features"])
    listing = coordinator.get("/api/storms")
    print(f"\nbig bulletin: {len(body) / 2**20:.2f} MiB, import {took:.2f} s, "
          f"healthz worst {max(watch.latencies) * 1000:.0f} ms over {len(watch.latencies)} polls, "
          f"RSS +{(watch.peak - rss_before) / 2**20:.0f} MiB, database +{grown / 2**20:.2f} MiB, "
          f"overlay {len(overlay.content) / 1024:.1f} KiB / {points} points, "
          f"list {list_before} B → {len(listing.content)} B")
    assert took < 20
    # a blocked loop would hold /healthz for the whole import (seconds); a busy 2-core machine adds
    # scheduling delays of a few hundred ms to single polls, so the bound is on the typical one and the worst
    ordered = sorted(watch.latencies)
    assert len(ordered) >= 3 and ordered[len(ordered) // 2] < 0.25 and ordered[-1] < 1.5, watch.latencies
    assert watch.peak - rss_before < 400 * 2**20
    assert grown < 2 * 2**20
    assert len(overlay.content) <= 200_000 and points <= 2_000
    assert {f["properties"]["kind"] for f in doc["features"]} == {"track", "fix", "radius"}
    assert listing.status_code == 200 and len(listing.content) < 10_000
    summary = next(s for s in listing.json() if s["id"] == storm["id"])
    assert set(summary) == {"id", "name", "source", "status", "imported_utc", "imported_by", "decided_utc",
                            "exposed_communes", "first_eta_utc", "last_eta_utc"}
    assert summary["name"] == "Bão lớn thử tải"


def _size(database: Path) -> int:
    """The database with its write-ahead log and journal."""
    return sum(p.stat().st_size for p in (database, Path(f"{database}-wal"), Path(f"{database}-journal"))
               if p.exists())


def _positions(coords: object) -> int:
    if isinstance(coords, list) and coords and isinstance(coords[0], int | float):
        return 1
    return sum(_positions(c) for c in coords) if isinstance(coords, list) else 0


def test_list_answers_summaries_and_the_overlay_has_its_own_route(api: LightServer,
                                                                   coordinator: httpx.Client) -> None:
    answer = upload(coordinator, RADIUS)
    assert answer.status_code == 201, answer.text
    storm_id = answer.json()["id"]
    listing = coordinator.get("/api/storms").json()
    assert listing[0]["id"] == storm_id and "overlay" not in listing[0] and "readiness" not in listing[0]
    assert "overlay" not in coordinator.get(f"/api/storms/{storm_id}").json()
    overlay = coordinator.get(f"/api/storms/{storm_id}/overlay").json()
    assert overlay["type"] == "FeatureCollection"
    assert [f["properties"]["kind"] for f in overlay["features"]].count("radius") == 1
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {api.token(['read'])}"}) as viewer:
        assert viewer.get(f"/api/storms/{storm_id}/overlay").status_code == 200
    assert coordinator.get("/api/storms/999999/overlay").status_code == 404


def test_storm_can_be_deleted_by_a_coordinator_and_it_is_audited(api: LightServer,
                                                                 coordinator: httpx.Client) -> None:
    answer = upload(coordinator, GOOD, "xoa.geojson")
    assert answer.status_code == 201, answer.text
    storm_id = answer.json()["id"]
    reader_token = api.token(["read"])
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {reader_token}"}) as viewer:
        refused = viewer.delete(f"/api/storms/{storm_id}")
        assert refused.status_code == 403 and refused.headers["content-type"].startswith(PROBLEM)
    gone = coordinator.delete(f"/api/storms/{storm_id}")
    assert gone.status_code == 204, gone.text
    assert coordinator.get(f"/api/storms/{storm_id}").status_code == 404
    assert coordinator.get(f"/api/storms/{storm_id}/overlay").status_code == 404
    assert storm_id not in [s["id"] for s in coordinator.get("/api/storms").json()]
    again = coordinator.delete(f"/api/storms/{storm_id}")
    assert again.status_code == 404 and again.headers["content-type"].startswith(PROBLEM)
    entries, _ = api.security.audit.list(action="storm.delete")
    assert [(e.target, e.details, e.ip) for e in entries] == [(f"storm:{storm_id}", {"name": "Bão thử"},
                                                               "127.0.0.1")]
    imported, _ = api.security.audit.list(action="storm.import")
    assert f"storm:{storm_id}" in [e.target for e in imported]


def test_stored_overlays_are_bounded(api: LightServer) -> None:
    database = str(api.ctx.alerting.engine.url.database)  # type: ignore[union-attr]
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT max(length(overlay)) FROM storm_tracks").fetchone()
    assert rows[0] is None or rows[0] <= 200_000
