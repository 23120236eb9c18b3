"""A forecast as a GeoJSON overlay for the coordinator map: track line, fixes, wind circles, areas.

The overlay is stored and sent to browsers, so it is bounded whatever the
bulletin holds: at most :data:`MAX_VERTICES` positions and :data:`MAX_BYTES`
of JSON. A short track keeps one circle per fix and threshold; a long one keeps
at most :data:`MAX_FIXES` fixes and draws each threshold as one swath (the
union of the hulls of consecutive circles). Lines and polygons are then
simplified with a tolerance that grows until the bound holds. Exposure is
computed from the full track, never from this drawing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import shapely
from shapely.geometry import LineString, MultiPoint, Point, mapping
from shapely.geometry.base import BaseGeometry

from storm.geo import km_circle
from storm.model import QUADRANTS, WIND_THRESHOLDS_KT, Track, TrackPoint

MAX_VERTICES = 2_000
MAX_BYTES = 200_000
MAX_FIXES = 60  # fixes drawn one by one (with their own circles); a longer track is thinned
START_TOLERANCE = 0.002  # degrees (~200 m), doubled until the overlay fits
DECIMALS = 4  # ~11 m


def overlay(track: Track) -> dict[str, Any]:
    """GeoJSON FeatureCollection (lon/lat) of everything the map draws, within the bounds."""
    shapes = _shapes(track)
    tolerance = 0.0
    while True:
        geometries = [_simplified(g, tolerance) for g, _ in shapes]
        if tolerance > 5.0:  # degrees: nothing more to gain; hulls are the coarsest honest drawing
            geometries = [g if g.geom_type in ("Point", "LineString") else g.convex_hull for g in geometries]
        if int(shapely.get_num_coordinates(geometries).sum()) <= MAX_VERTICES or tolerance > 5.0:
            doc = {"type": "FeatureCollection",
                   "features": [_feature(g, props) for g, (_, props) in zip(geometries, shapes, strict=True)]}
            if len(json.dumps(doc)) <= MAX_BYTES or tolerance > 5.0:
                return doc
        tolerance = START_TOLERANCE if tolerance == 0 else tolerance * 2


def _shapes(track: Track) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    out: list[tuple[BaseGeometry, dict[str, Any]]] = []
    points = track.points
    if len(points) >= 2:
        out.append((LineString([(p.lon, p.lat) for p in points]), {"kind": "track", "name": track.name}))
    few = len(points) <= MAX_FIXES
    for p in points if few else _thinned(points, MAX_FIXES):
        when = _iso(p.ts)
        out.append((Point(p.lon, p.lat), {"kind": "fix", "time": when, "max_wind_kt": p.max_wind_kt}))
        for threshold in WIND_THRESHOLDS_KT if few else ():
            radius = _radius(p, threshold)
            if radius > 0:
                out.append((_circle(p, radius, 32), {"kind": "radius", "wind_kt": threshold, "time": when}))
    for threshold in () if few else WIND_THRESHOLDS_KT:
        swath = _swath(points, threshold)
        if swath is not None:
            out.append((swath, {"kind": "radius", "wind_kt": threshold, "time": _iso(points[0].ts),
                                "until": _iso(points[-1].ts)}))
    for area in track.areas:
        out.append((area.geometry, {"kind": area.kind, "label": area.label}))
    return out


def _swath(points: tuple[TrackPoint, ...], threshold: int, pieces: int = 400) -> BaseGeometry | None:
    """Where ``threshold``-knot winds reach along the track: union of hulls of consecutive circles."""
    with_radius = [p for p in points if _radius(p, threshold) > 0]
    if not with_radius:
        return None
    kept = _thinned(tuple(with_radius), pieces)
    circles = [_circle(p, _radius(p, threshold), 4) for p in kept]
    hulls = [MultiPoint([*a.exterior.coords, *b.exterior.coords]).convex_hull
             for a, b in zip(circles, circles[1:], strict=False)] or circles
    return shapely.union_all(hulls)


def _thinned(points: tuple[TrackPoint, ...], limit: int) -> list[TrackPoint]:
    """At most ``limit`` points evenly spread along the sequence, first and last kept."""
    if len(points) <= limit:
        return list(points)
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def _radius(p: TrackPoint, threshold: int) -> float:
    return max((p.radius_km(threshold, q) for q in QUADRANTS), default=0.0)


def _circle(p: TrackPoint, km: float, quad_segs: int) -> Any:
    return km_circle(p.lat, p.lon, km, quad_segs)


def _simplified(geometry: BaseGeometry, tolerance: float) -> BaseGeometry:
    if tolerance <= 0 or geometry.geom_type == "Point":
        return geometry
    simple = geometry.simplify(tolerance, preserve_topology=True)
    return geometry if simple.is_empty else simple


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _feature(geometry: BaseGeometry, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": _round(mapping(geometry)), "properties": props}


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, DECIMALS)
    if isinstance(value, list | tuple):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value
