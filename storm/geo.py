"""Distances and bearings on the Earth (haversine), and interpolation along a track."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from shapely import affinity
from shapely.geometry import Point, Polygon

from storm.model import QUADRANTS, WIND_THRESHOLDS_KT, TrackPoint

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


@dataclass(frozen=True, slots=True)
class Samples:
    """The track sampled every ``step_s`` seconds as arrays (what :func:`steps` gives, vectorised).

    ``radii[t, q, i]``: radius in km of threshold ``WIND_THRESHOLDS_KT[t]`` in
    quadrant ``QUADRANTS[q]`` at sample ``i`` (0 when not given).
    """

    ts: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    radii: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)


def sample_arrays(points: tuple[TrackPoint, ...], step_s: int = 1800) -> Samples:
    """The same samples as :func:`steps` (fixes included, linear in between), as numpy arrays."""
    n = len(points)
    ts = np.array([p.ts for p in points], dtype=np.int64)
    lat = np.array([p.lat for p in points], dtype=float)
    lon = np.array([p.lon for p in points], dtype=float)
    radii = np.array([[[p.radius_km(t, q) for p in points] for q in QUADRANTS] for t in WIND_THRESHOLDS_KT],
                     dtype=float).reshape(len(WIND_THRESHOLDS_KT), len(QUADRANTS), n)
    if n < 2:
        return Samples(ts, lat, lon, radii)
    gap = ts[1:] - ts[:-1]
    count = np.where(gap > 0, -(-gap // step_s), 0)  # samples each segment contributes: ceil(gap / step)
    seg = np.repeat(np.arange(n - 1), count)
    first = np.repeat(np.cumsum(count) - count, count)
    t = ts[seg] + (np.arange(len(seg)) - first) * step_s
    f = (t - ts[seg]) / np.where(gap[seg] > 0, gap[seg], 1)

    def mix(v: np.ndarray) -> np.ndarray:
        return np.concatenate([v[..., seg] + (v[..., seg + 1] - v[..., seg]) * f, v[..., -1:]], axis=-1)

    return Samples(np.concatenate([t, ts[-1:]]), mix(lat), mix(lon), mix(radii))


def distances_km(lat: np.ndarray, lon: np.ndarray, lat2: float, lon2: float) -> np.ndarray:
    """Great-circle distance in km from every (lat, lon) to one place (haversine, as :func:`distance_km`)."""
    p1, p2 = np.radians(lat), math.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def km_circle(lat: float, lon: float, km: float, quad_segs: int = 16) -> Polygon:
    """A circle of ``km`` around (lat, lon) as a lon/lat polygon: an ellipse in degrees, round on the ground.

    One place for the wind circles of a forecast overlay and the circles of a CAP warning area.
    """
    deg_lat = km / (math.pi * EARTH_KM / 180)
    unit = Point(0, 0).buffer(1.0, quad_segs)
    scaled = affinity.scale(unit, deg_lat / max(math.cos(math.radians(lat)), 0.01), deg_lat, origin=(0, 0))
    return affinity.translate(scaled, lon, lat)
