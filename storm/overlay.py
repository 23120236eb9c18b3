"""A forecast as a GeoJSON overlay for the coordinator map: track line, fixes, wind circles, areas."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from shapely import affinity
from shapely.geometry import LineString, Point, mapping

from storm.geo import EARTH_KM
from storm.model import QUADRANTS, WIND_THRESHOLDS_KT, Track, TrackPoint


def overlay(track: Track) -> dict[str, Any]:
    """GeoJSON FeatureCollection (lon/lat) of everything the map draws."""
    features: list[dict[str, Any]] = []
    if len(track.points) >= 2:
        line = LineString([(p.lon, p.lat) for p in track.points])
        features.append(_feature(line, {"kind": "track", "name": track.name}))
    for p in track.points:
        when = datetime.fromtimestamp(p.ts, UTC).isoformat().replace("+00:00", "Z")
        features.append(_feature(Point(p.lon, p.lat), {"kind": "fix", "time": when,
                                                       "max_wind_kt": p.max_wind_kt}))
        for threshold in WIND_THRESHOLDS_KT:
            radius = max((p.radius_km(threshold, q) for q in QUADRANTS), default=0.0)
            if radius > 0:
                features.append(_feature(_circle(p, radius), {"kind": "radius", "wind_kt": threshold,
                                                              "time": when}))
    for area in track.areas:
        features.append(_feature(area.geometry, {"kind": area.kind, "label": area.label}))
    return {"type": "FeatureCollection", "features": features}


def _circle(p: TrackPoint, km: float) -> Any:
    deg_lat = km / (math.pi * EARTH_KM / 180)
    unit = Point(0, 0).buffer(1.0, 32)
    scaled = affinity.scale(unit, deg_lat / math.cos(math.radians(p.lat)), deg_lat, origin=(0, 0))
    return affinity.translate(scaled, p.lon, p.lat)


def _feature(geometry: Any, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": mapping(geometry), "properties": props}
