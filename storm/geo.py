"""Distances and bearings on the Earth (haversine), and interpolation along a track."""

from __future__ import annotations

import math

from storm.model import QUADRANTS, TrackPoint

EARTH_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(a))


def quadrant(lat_c: float, lon_c: float, lat: float, lon: float) -> str:
    """Which quadrant (NE, SE, SW, NW) of the centre a place lies in."""
    north = lat >= lat_c
    east = lon >= lon_c
    return {(True, True): "NE", (False, True): "SE", (False, False): "SW", (True, False): "NW"}[(north, east)]


def interpolate(a: TrackPoint, b: TrackPoint, ts: int) -> TrackPoint:
    """Linear interpolation of position, wind and radii between two fixes."""
    if b.ts == a.ts:
        return a
    f = (ts - a.ts) / (b.ts - a.ts)

    def mix(x: float | None, y: float | None) -> float | None:
        if x is None or y is None:
            return x if y is None else y
        return x + (y - x) * f

    radii = {}
    for threshold in set(a.radii_km) | set(b.radii_km):
        radii[threshold] = {q: float(mix(a.radius_km(threshold, q), b.radius_km(threshold, q)) or 0.0)
                            for q in QUADRANTS}
    return TrackPoint(ts, float(mix(a.lat, b.lat) or 0.0), float(mix(a.lon, b.lon) or 0.0),
                      mix(a.max_wind_kt, b.max_wind_kt), radii)


def steps(points: tuple[TrackPoint, ...], step_s: int = 1800) -> list[TrackPoint]:
    """The track sampled every ``step_s`` seconds (fixes included)."""
    if len(points) < 2:
        return list(points)
    out: list[TrackPoint] = []
    for a, b in zip(points, points[1:], strict=False):
        t = a.ts
        while t < b.ts:
            out.append(interpolate(a, b, t))
            t += step_s
    out.append(points[-1])
    return out
