"""A storm forecast as Trucban understands it, whatever format it came in."""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely.geometry.base import BaseGeometry

QUADRANTS = ("NE", "SE", "SW", "NW")
WIND_THRESHOLDS_KT = (34, 50, 64)
# Beaufort force at the wind-radius thresholds, as Vietnamese bulletins say it.
WIND_CLASS_VI = {34: "gió mạnh cấp 8 trở lên", 50: "gió cấp 10 trở lên", 64: "gió cấp 12 trở lên"}
NM_TO_KM = 1.852


class TrackError(ValueError):
    """A forecast file cannot be used; names the file, line and field. Nothing is imported."""


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """Storm centre at one time, with wind radii per threshold (kt) and quadrant, in km."""

    ts: int
    lat: float
    lon: float
    max_wind_kt: float | None = None
    radii_km: dict[int, dict[str, float]] = field(default_factory=dict)

    def radius_km(self, threshold: int, quadrant: str) -> float:
        """Radius of ``threshold``-knot winds in ``quadrant`` (0 when not given)."""
        return self.radii_km.get(threshold, {}).get(quadrant, 0.0)


@dataclass(frozen=True, slots=True)
class Area:
    """A warned area (forecast cone, CAP polygon/circle) with its validity."""

    geometry: BaseGeometry  # lon/lat coordinates
    kind: str  # "cone" | "warning"
    onset: int | None = None
    expires: int | None = None
    wind_kt: int | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class Track:
    """One imported forecast: the storm's points and/or warned areas."""

    name: str
    source: str  # "geojson" | "cap" | "ibtracs"
    points: tuple[TrackPoint, ...] = ()
    areas: tuple[Area, ...] = ()
    issued: int | None = None
