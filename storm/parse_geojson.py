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

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.validation import make_valid

from storm.limits import (
    MAX_AREAS,
    MAX_FEATURES,
    MAX_WIND_KT,
    Budget,
    check_json_text,
    check_span,
    checked_time,
    finite_float,
    lat_lon,
    number,
    radius,
    reject_constant,
    text,
)
from storm.model import NM_TO_KM, QUADRANTS, WIND_THRESHOLDS_KT, Area, Track, TrackError, TrackPoint


def parse_geojson(path: Path, text_: str | None = None) -> Track:
    """Parse a GeoJSON FeatureCollection; TrackError names the file and field."""
    raw = path.read_text(encoding="utf-8") if text_ is None else text_
    check_json_text(str(path), raw)
    try:
        doc = json.loads(raw, parse_constant=reject_constant, parse_float=finite_float)
    except json.JSONDecodeError as exc:
        raise TrackError(f"{path}:{exc.lineno}: invalid JSON (JSON không hợp lệ): {exc.msg}") from None
    except TrackError as exc:
        raise TrackError(f"{path}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # int digit limit, nesting: already bounded above
        raise TrackError(f"{path}: JSON không dùng được (unusable JSON): {str(exc)[:100]}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise TrackError(f"{path}: type: cần một GeoJSON FeatureCollection (expected a FeatureCollection)")
    features = doc.get("features")
    if not isinstance(features, list):
        raise TrackError(f"{path}: features: phải là một danh sách (must be a list), "
                         f"got {type(features).__name__}")
    if len(features) > MAX_FEATURES:
        raise TrackError(f"{path}: features: quá nhiều đối tượng ({len(features)} > {MAX_FEATURES}) — "
                         "too many features")
    budget = Budget(str(path))
    points: list[TrackPoint] = []
    areas: list[Area] = []
    for i, feature in enumerate(features):
        where = f"{path}: features[{i}]"
        if not isinstance(feature, dict):
            raise TrackError(f"{where}: phải là một Feature (object), got {type(feature).__name__}")
        geometry = feature.get("geometry")
        props = feature.get("properties") or {}
        if not isinstance(geometry, dict):
            raise TrackError(f"{where}.geometry: phải là một object GeoJSON, got {type(geometry).__name__}")
        if not isinstance(props, dict):
            raise TrackError(f"{where}.properties: phải là một object, got {type(props).__name__}")
        kind = geometry.get("type")
        if kind == "Point":
            budget.take()
            points.append(_point(where, geometry, props))
        elif kind in ("Polygon", "MultiPolygon"):
            if len(areas) >= MAX_AREAS:
                raise TrackError(f"{where}: quá nhiều vùng (> {MAX_AREAS}) — too many areas")
            geom = _area(f"{where}.geometry", kind, geometry.get("coordinates"), budget)
            areas.append(Area(geom, text(props.get("kind")) or "cone", label=text(props.get("label"))))
        else:
            raise TrackError(f"{where}.geometry.type: không hỗ trợ {str(kind)[:40]!r} "
                             "(Point, Polygon, MultiPolygon)")
    if not points and not areas:
        raise TrackError(f"{path}: features: không có điểm quỹ đạo hay vùng nào (no track points or areas)")
    points.sort(key=lambda p: p.ts)
    check_span(str(path), [p.ts for p in points])
    issued = parse_time(f"{path}: issued", doc["issued"]) if doc.get("issued") else None
    return Track(text(doc.get("name")) or path.stem, "geojson", tuple(points), tuple(areas), issued)


def parse_time(where: str, value: Any) -> int:
    """ISO-8601 with a zone, in a sane year → epoch seconds; TrackError otherwise."""
    if not isinstance(value, str) or len(value) > 40:
        raise TrackError(f"{where}: cần thời gian ISO-8601 (not an ISO-8601 time): {str(value)[:60]!r}")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TrackError(f"{where}: not an ISO-8601 time: {value!r}") from None
    if dt.tzinfo is None:
        raise TrackError(f"{where}: time without a zone (write Z or +07:00): {value!r}")
    return checked_time(where, dt)


def _position(where: str, coords: Any) -> tuple[float, float]:
    if not (isinstance(coords, list) and 2 <= len(coords) <= 3):
        raise TrackError(f"{where}: cần [lon, lat] (expected [lon, lat]), got {str(coords)[:60]}")
    lat, lon = lat_lon(where, coords[1], coords[0])
    return lon, lat


def _ring(where: str, ring: Any, budget: Budget) -> list[tuple[float, float]]:
    if not isinstance(ring, list) or len(ring) < 4:
        raise TrackError(f"{where}: một vòng cần ≥ 4 vị trí (a ring needs ≥ 4 positions)")
    budget.take(len(ring))
    out = [_position(f"{where}[{j}]", c) for j, c in enumerate(ring)]
    if out[0] != out[-1]:
        raise TrackError(f"{where}: vòng phải khép kín (first position = last)")
    return out


def _polygon(where: str, rings: Any, budget: Budget) -> Polygon:
    if not isinstance(rings, list) or not rings:
        raise TrackError(f"{where}: cần danh sách các vòng (expected a list of rings)")
    shell, *holes = (_ring(f"{where}[{k}]", r, budget) for k, r in enumerate(rings))
    return Polygon(shell, holes)


def _area(where: str, kind: str, coords: Any, budget: Budget) -> BaseGeometry:
    if kind == "Polygon":
        geom: BaseGeometry = _polygon(f"{where}.coordinates", coords, budget)
    else:
        if not isinstance(coords, list) or not coords:
            raise TrackError(f"{where}.coordinates: cần danh sách các đa giác (expected a list of polygons)")
        geom = MultiPolygon([_polygon(f"{where}.coordinates[{k}]", p, budget) for k, p in enumerate(coords)])
    return geom if geom.is_valid else make_valid(geom)


def _point(where: str, geometry: dict, props: dict) -> TrackPoint:
    lon, lat = _position(f"{where}.geometry.coordinates", geometry.get("coordinates"))
    if "time" not in props:
        raise TrackError(f"{where}.properties.time: thiếu (missing)")
    ts = parse_time(f"{where}.properties.time", props["time"])
    wind = props.get("max_wind_kt", props.get("wind_kt"))
    if wind is not None:
        wind = number(f"{where}.properties.max_wind_kt", wind, 0, MAX_WIND_KT, "gió mạnh nhất (kt)")
    radii = {}
    for threshold in WIND_THRESHOLDS_KT:
        for unit, factor in (("km", 1.0), ("nm", NM_TO_KM)):
            key = f"radius_{threshold}kt_{unit}"
            if key in props:
                radii[threshold] = _radii(f"{where}.properties.{key}", props[key], factor)
    return TrackPoint(ts, lat, lon, wind, radii)


def _radii(where: str, value: Any, factor: float) -> dict[str, float]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        values = [value] * 4
    elif isinstance(value, list) and len(value) == 4:
        values = value
    elif isinstance(value, dict) and set(value) == set(QUADRANTS):
        values = [value[q] for q in QUADRANTS]
    else:
        raise TrackError(f"{where}: expected [NE, SE, SW, NW], {{'NE': …}} or one number, "
                         f"got {str(value)[:60]}")
    return {q: radius(where, float(number(where, v, 0, 1e6, "bán kính")) * factor)
            for q, v in zip(QUADRANTS, values, strict=True)}
