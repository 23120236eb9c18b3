"""Which communes a forecast exposes, when (ETA) and to what wind.

A commune is exposed when its reference point or any of its sites falls
inside a wind radius (quadrant-aware, along the track sampled every 30
minutes), inside a forecast cone, or inside a CAP warning area. The ETA is the
first time that happens; the wind class is the strongest radius reached.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Point

from inventory.inventory import Inventory
from storm.geo import EARTH_KM, Samples, distances_km, sample_arrays
from storm.model import WIND_CLASS_VI, WIND_THRESHOLDS_KT, Track

Place = tuple[float, float]  # lat, lon
KM_PER_DEG = math.pi * EARTH_KM / 180
Hit = tuple[int, int, str, float]  # eta, wind threshold (0: none), why, closest km


@dataclass(frozen=True, slots=True)
class CommuneExposure:
    """One exposed commune."""

    code: str
    name: str
    eta: int  # epoch seconds, UTC
    wind_kt: int | None  # strongest radius threshold reached (34/50/64); None: area only
    wind_class: str  # Vietnamese, for people
    via: str  # why it is exposed
    closest_km: float | None  # closest approach of the storm centre


def commune_places(inventory: Inventory) -> dict[str, list[Place]]:
    """Reference point plus every site position of each watched commune."""
    out: dict[str, list[Place]] = {}
    for code in inventory.watched_communes:
        ref = inventory.commune_ref(code)
        out[code] = [(ref.lat, ref.lon)]
    for site in inventory.sites.values():
        if site.lat is not None and site.lon is not None and site.commune in out:
            out[site.commune].append((site.lat, site.lon))
    return out


def exposure(track: Track, places: Mapping[str, Sequence[Place]], names: Mapping[str, str],
             step_s: int = 1800) -> list[CommuneExposure]:
    """Every exposed commune, earliest ETA first."""
    found: dict[str, CommuneExposure] = {}
    samples = sample_arrays(track.points, step_s)
    reach = _Reach(samples)
    for code, spots in places.items():
        radius_hit = _radius_exposure(samples, reach, spots)
        area_hit = _area_exposure(track, samples, spots)
        best = _merge(radius_hit, area_hit)
        if best is not None:
            eta, wind, via, closest = best
            label = WIND_CLASS_VI.get(wind, "trong vùng cảnh báo") if wind else "trong vùng cảnh báo"
            found[code] = CommuneExposure(code, names.get(code, code), eta, wind, label, via, closest)
    return sorted(found.values(), key=lambda e: (e.eta, e.code))


class _Reach:
    """A box around everything the wind radii reach: places outside it cannot be radius-exposed."""

    def __init__(self, samples: Samples) -> None:
        self.empty = len(samples) == 0 or not bool((samples.radii > 0).any())
        if self.empty:
            return
        pad = float(samples.radii.max()) / KM_PER_DEG + 0.01
        self.lat = (float(samples.lat.min()) - pad, float(samples.lat.max()) + pad)
        top = min(89.9, max(abs(self.lat[0]), abs(self.lat[1])))
        lon_pad = pad / max(math.cos(math.radians(top)), 0.01)
        self.lon = (float(samples.lon.min()) - lon_pad, float(samples.lon.max()) + lon_pad)

    def near(self, lat: float, lon: float) -> bool:
        return (not self.empty and self.lat[0] <= lat <= self.lat[1]
                and (self.lon[0] <= lon <= self.lon[1] or self.lon[1] - self.lon[0] >= 360))


def _radius_exposure(samples: Samples, reach: _Reach, spots: Sequence[Place]) -> Hit | None:
    eta, strongest, closest = None, 0, None
    index = np.arange(len(samples))
    for lat, lon in spots:
        if not reach.near(lat, lon):
            continue
        d = distances_km(samples.lat, samples.lon, lat, lon)
        closest = float(d.min()) if closest is None else min(closest, float(d.min()))
        north, east = lat >= samples.lat, lon >= samples.lon
        q = np.where(north, np.where(east, 0, 3), np.where(east, 1, 2))  # NE, SE, SW, NW
        for t, threshold in enumerate(WIND_THRESHOLDS_KT):
            radius = samples.radii[t, q, index]
            hit = (radius > 0) & (d <= radius)
            if hit.any():
                first = int(samples.ts[hit].min())
                eta = first if eta is None else min(eta, first)
                strongest = max(strongest, threshold)
    if eta is None or closest is None:
        return None
    return eta, strongest, f"trong bán kính gió {strongest} kt", closest


def _area_exposure(track: Track, samples: Samples, spots: Sequence[Place]) -> Hit | None:
    for area in track.areas:
        if not any(area.geometry.covers(Point(lon, lat)) for lat, lon in spots):
            continue
        eta = area.onset or _closest_time(samples, spots) or track.issued or 0
        via = "trong nón dự báo" if area.kind == "cone" else f"vùng cảnh báo: {area.label or 'CAP'}"
        return eta, area.wind_kt or 0, via, _closest_km(samples, spots)  # type: ignore[return-value]
    return None


def _nearest(samples: Samples, spots: Sequence[Place]) -> np.ndarray:
    """Per sample, the distance to the nearest spot."""
    return np.min([distances_km(samples.lat, samples.lon, la, lo) for la, lo in spots], axis=0)


def _closest_time(samples: Samples, spots: Sequence[Place]) -> int | None:
    if len(samples) == 0:
        return None
    return int(samples.ts[int(np.argmin(_nearest(samples, spots)))])


def _closest_km(samples: Samples, spots: Sequence[Place]) -> float | None:
    if len(samples) == 0:
        return None
    return float(_nearest(samples, spots).min())


def _merge(a: tuple | None, b: tuple | None) -> tuple | None:
    """Radius exposure wins for wind class; the earlier ETA wins."""
    if a is None or b is None:
        return a or b
    return (min(a[0], b[0]), max(a[1], b[1]), a[2], a[3])
