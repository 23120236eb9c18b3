"""GeoJSON forecast tracks: Point features (time, max wind, wind radii) and cone Polygons.

Point properties: ``time`` (ISO-8601 with zone), ``max_wind_kt`` (or ``wind_kt``),
``radius_34kt_km`` / ``radius_50kt_km`` / ``radius_64kt_km`` as [NE, SE, SW, NW]
or {"NE": …}; ``_nm`` instead of ``_km`` for nautical miles. Polygon and
MultiPolygon features are forecast cones (``properties.kind``, default "cone").
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from storm.model import NM_TO_KM, QUADRANTS, WIND_THRESHOLDS_KT, Area, Track, TrackError, TrackPoint


def parse_geojson(path: Path, text: str | None = None) -> Track:
    """Parse a GeoJSON FeatureCollection; TrackError names the file and field."""
    raw = path.read_text(encoding="utf-8") if text is None else text
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TrackError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise TrackError(f"{path}: type: expected a GeoJSON FeatureCollection")
    points, areas = [], []
    for i, feature in enumerate(doc.get("features") or []):
        where = f"{path}: features[{i}]"
        geometry = (feature or {}).get("geometry") or {}
        props = (feature or {}).get("properties") or {}
        kind = geometry.get("type")
        if kind == "Point":
            points.append(_point(where, geometry, props))
        elif kind in ("Polygon", "MultiPolygon"):
            try:
                geom = shape(geometry)
            except Exception as exc:
                raise TrackError(f"{where}.geometry: invalid {kind}: {exc}") from None
            areas.append(Area(geom, str(props.get("kind", "cone")), label=str(props.get("label", ""))))
        else:
            raise TrackError(f"{where}.geometry.type: unsupported {kind!r} (Point, Polygon, MultiPolygon)")
    if not points and not areas:
        raise TrackError(f"{path}: features: no track points or areas")
    points.sort(key=lambda p: p.ts)
    issued = parse_time(f"{path}: issued", doc["issued"]) if doc.get("issued") else None
    return Track(str(doc.get("name") or path.stem), "geojson", tuple(points), tuple(areas), issued)


def parse_time(where: str, value: Any) -> int:
    """ISO-8601 with a zone → epoch seconds; TrackError otherwise."""
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise TrackError(f"{where}: not an ISO-8601 time: {value!r}") from None
    if dt.tzinfo is None:
        raise TrackError(f"{where}: time without a zone (write Z or +07:00): {value!r}")
    return int(dt.timestamp())


def _point(where: str, geometry: dict, props: dict) -> TrackPoint:
    coords = geometry.get("coordinates")
    if not (isinstance(coords, list) and len(coords) >= 2
            and all(isinstance(c, int | float) for c in coords[:2])):
        raise TrackError(f"{where}.geometry.coordinates: expected [lon, lat], got {coords!r}")
    lon, lat = float(coords[0]), float(coords[1])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise TrackError(f"{where}.geometry.coordinates: out of range: {coords!r}")
    if "time" not in props:
        raise TrackError(f"{where}.properties.time: missing")
    ts = parse_time(f"{where}.properties.time", props["time"])
    wind = props.get("max_wind_kt", props.get("wind_kt"))
    if wind is not None and not isinstance(wind, int | float):
        raise TrackError(f"{where}.properties.max_wind_kt: not a number: {wind!r}")
    radii = {}
    for threshold in WIND_THRESHOLDS_KT:
        for unit, factor in (("km", 1.0), ("nm", NM_TO_KM)):
            key = f"radius_{threshold}kt_{unit}"
            if key in props:
                radii[threshold] = _radii(f"{where}.properties.{key}", props[key], factor)
    return TrackPoint(ts, lat, lon, None if wind is None else float(wind), radii)


def _radii(where: str, value: Any, factor: float) -> dict[str, float]:
    if isinstance(value, int | float):
        values = [float(value)] * 4
    elif isinstance(value, list) and len(value) == 4:
        values = value
    elif isinstance(value, dict) and set(value) == set(QUADRANTS):
        values = [value[q] for q in QUADRANTS]
    else:
        raise TrackError(f"{where}: expected [NE, SE, SW, NW], {{'NE': …}} or one number, got {value!r}")
    if not all(isinstance(v, int | float) and v >= 0 for v in values):
        raise TrackError(f"{where}: radii must be non-negative numbers: {value!r}")
    return {q: float(v) * factor for q, v in zip(QUADRANTS, values, strict=True)}
