"""Bounded storm work: the vectorised exposure matches the per-sample rule, the overlay stays small."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import shapely
from shapely.geometry import shape

from storm.exposure import exposure
from storm.geo import distance_km, quadrant, sample_arrays, steps
from storm.limits import MAX_SPAN_S
from storm.model import QUADRANTS, WIND_THRESHOLDS_KT, Track, TrackError, TrackPoint
from storm.overlay import MAX_BYTES, MAX_VERTICES, overlay
from storm.parse_geojson import parse_geojson


def random_track(rng: random.Random, n: int) -> Track:
    points, ts = [], 1_788_660_000
    for _ in range(n):
        ts += rng.choice([0, 600, 1800, 3600, 10_800])
        radii = {t: {q: rng.choice([0.0, rng.uniform(5, 120)]) for q in QUADRANTS}
                 for t in WIND_THRESHOLDS_KT if rng.random() < 0.7}
        lat, lon = rng.uniform(19.5, 22), rng.uniform(105.5, 108)
        points.append(TrackPoint(ts, lat, lon, rng.uniform(30, 120), radii))
    return Track("t", "geojson", tuple(points))


def reference(track: Track, spots: list[tuple[float, float]]) -> tuple[int, int, float] | None:
    """The rule as first written: every sample, every spot, strongest radius reached."""
    eta, strongest, closest = None, 0, None
    for p in steps(track.points):
        for lat, lon in spots:
            d = distance_km(p.lat, p.lon, lat, lon)
            closest = d if closest is None else min(closest, d)
            q = quadrant(p.lat, p.lon, lat, lon)
            for threshold in reversed(WIND_THRESHOLDS_KT):
                r = p.radius_km(threshold, q)
                if r > 0 and d <= r:
                    eta = p.ts if eta is None else min(eta, p.ts)
                    strongest = max(strongest, threshold)
                    break
    return None if eta is None else (eta, strongest, closest)  # type: ignore[return-value]


@pytest.mark.parametrize("seed", range(8))
def test_vectorised_exposure_matches_the_per_sample_rule(seed: int) -> None:
    rng = random.Random(seed)
    track = random_track(rng, rng.randint(1, 40))
    places = {f"c{i}": [(rng.uniform(19.5, 22), rng.uniform(105.5, 108)) for _ in range(rng.randint(1, 3))]
              for i in range(30)}
    got = {e.code: e for e in exposure(track, places, {})}
    for code, spots in places.items():
        want = reference(track, spots)
        if want is None:
            assert code not in got
        else:
            e = got[code]
            assert (e.eta, e.wind_kt) == want[:2]
            assert e.closest_km == pytest.approx(want[2], rel=1e-9)


def test_sample_arrays_are_the_steps() -> None:
    track = random_track(random.Random(42), 30)
    arrays = sample_arrays(track.points)
    samples = steps(track.points)
    assert list(arrays.ts) == [p.ts for p in samples]
    assert list(arrays.lat) == pytest.approx([p.lat for p in samples])
    for t, threshold in enumerate(WIND_THRESHOLDS_KT):
        for q, quad in enumerate(QUADRANTS):
            assert list(arrays.radii[t, q]) == pytest.approx([p.radius_km(threshold, quad) for p in samples])


@pytest.mark.parametrize("n", [2, 59, 61, 5_000])
def test_overlay_is_bounded_whatever_the_track(n: int) -> None:
    rng = random.Random(n)
    radii = {t: dict.fromkeys(QUADRANTS, 200.0 / (k + 1)) for k, t in enumerate(WIND_THRESHOLDS_KT)}
    points = tuple(TrackPoint(1_788_660_000 + i * 120, 15 + 7 * i / n + rng.uniform(-0.05, 0.05),
                              110 - 6 * i / n + rng.uniform(-0.05, 0.05), 90.0, radii)
                   for i in range(n))
    doc = overlay(Track("big", "geojson", points))
    geometries = [shape(f["geometry"]) for f in doc["features"]]
    assert int(shapely.get_num_coordinates(geometries).sum()) <= MAX_VERTICES
    assert len(json.dumps(doc)) <= MAX_BYTES
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert kinds.count("track") == 1 and kinds.count("fix") == min(n, 60)
    assert kinds.count("radius") == (3 * n if n <= 60 else 3)
    assert all(g.is_valid and not g.is_empty for g in geometries)


def test_a_track_longer_than_the_span_limit_is_refused(tmp_path: Path) -> None:
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106, 20]},
         "properties": {"time": t}} for t in ("2026-01-01T00:00:00Z", "2026-06-01T00:00:00+07:00")]}
    path = tmp_path / "long.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert MAX_SPAN_S < 150 * 86_400
    with pytest.raises(TrackError, match="quỹ đạo kéo dài 151 ngày"):
        parse_geojson(path)
