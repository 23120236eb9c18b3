"""Which communes a forecast exposes, when (ETA) and to what wind.

A commune is exposed when its reference point or any of its sites falls
inside a wind radius (quadrant-aware, along the track sampled every 30
minutes), inside a forecast cone, or inside a CAP warning area. The ETA is the
first time that happens; the wind class is the strongest radius reached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shapely.geometry import Point

from inventory.inventory import Inventory
from storm.geo import distance_km, quadrant, steps
from storm.model import WIND_CLASS_VI, WIND_THRESHOLDS_KT, Track

Place = tuple[float, float]  # lat, lon


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
    samples = steps(track.points, step_s)
    for code, spots in places.items():
        radius_hit = _radius_exposure(samples, spots)
        area_hit = _area_exposure(track, samples, spots)
        best = _merge(radius_hit, area_hit)
        if best is not None:
            eta, wind, via, closest = best
            label = WIND_CLASS_VI.get(wind, "trong vùng cảnh báo") if wind else "trong vùng cảnh báo"
            found[code] = CommuneExposure(code, names.get(code, code), eta, wind, label, via, closest)
    return sorted(found.values(), key=lambda e: (e.eta, e.code))


def _radius_exposure(samples: list, spots: Sequence[Place]) -> tuple[int, int, str, float] | None:
    eta, strongest, closest = None, 0, None
    for point in samples:
        for lat, lon in spots:
            d = distance_km(point.lat, point.lon, lat, lon)
            closest = d if closest is None else min(closest, d)
            q = quadrant(point.lat, point.lon, lat, lon)
            for threshold in reversed(WIND_THRESHOLDS_KT):
                radius = point.radius_km(threshold, q)
                if radius > 0 and d <= radius:
                    eta = point.ts if eta is None else min(eta, point.ts)
                    strongest = max(strongest, threshold)
                    break
    if eta is None or closest is None:
        return None
    return eta, strongest, f"trong bán kính gió {strongest} kt", closest


def _area_exposure(track: Track, samples: list, spots: Sequence[Place]) -> tuple[int, int, str, float] | None:
    for area in track.areas:
        if not any(area.geometry.covers(Point(lon, lat)) for lat, lon in spots):
            continue
        eta = area.onset or _closest_time(samples, spots) or track.issued or 0
        via = "trong nón dự báo" if area.kind == "cone" else f"vùng cảnh báo: {area.label or 'CAP'}"
        return eta, area.wind_kt or 0, via, _closest_km(samples, spots)  # type: ignore[return-value]
    return None


def _closest_time(samples: list, spots: Sequence[Place]) -> int | None:
    if not samples:
        return None
    best = min(samples, key=lambda p: min(distance_km(p.lat, p.lon, la, lo) for la, lo in spots))
    return int(best.ts)


def _closest_km(samples: list, spots: Sequence[Place]) -> float | None:
    if not samples:
        return None
    return min(distance_km(p.lat, p.lon, la, lo) for p in samples for la, lo in spots)


def _merge(a: tuple | None, b: tuple | None) -> tuple | None:
    """Radius exposure wins for wind class; the earlier ETA wins."""
    if a is None or b is None:
        return a or b
    return (min(a[0], b[0]), max(a[1], b[1]), a[2], a[3])
