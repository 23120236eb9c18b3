"""Approximate commune areas: each province cut around its official commune points.

Vietnam publishes a reference point and an area for every commune, not its
boundary. So that a coordinator sees territory rather than dots, each
province's land (from the shipped outline, :mod:`api.geo.build`) is split into
Voronoi cells around its official commune points — every point of the province
goes to the nearest commune centre. The cells are approximations and are
labelled so on the map. A commune whose point lies off the outline's land (an
island too small for Natural Earth at 1:10m, such as Bạch Long Vĩ) gets a disc
of its official area instead.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import shapely
from shapely.geometry import MultiPoint, Point, mapping, shape
from shapely.geometry.base import BaseGeometry

from inventory.reference import load_reference

OUTLINE = "static/map-vn.json"
OFF_LAND_KM = 5.0  # a commune point farther than this from Vietnam's land is an island the outline lacks
KM_PER_DEGREE = 111.32
Method = Literal["voronoi", "disc"]


@dataclass(frozen=True)
class Province:
    """One province of the shipped outline (or a neighbouring country's land)."""

    code: str
    name: str
    kind: str  # "province" or "foreign"
    land: BaseGeometry


@dataclass(frozen=True)
class CommuneArea:
    """The approximate area of one commune and how it was drawn."""

    code: str
    geometry: BaseGeometry
    method: Method

    def geojson(self) -> dict[str, Any]:
        """GeoJSON geometry, coordinates to 1e-4° (about 11 m)."""
        return _rounded(mapping(self.geometry))


@cache
def outline_text() -> str:
    """The shipped outline file, as served to browsers."""
    return resources.files("api").joinpath(OUTLINE).read_text("utf-8")


@cache
def outline_meta() -> dict[str, str]:
    """Where the outline comes from and under which terms."""
    doc = json.loads(outline_text())
    return {"source": doc["source"], "licence": doc["licence"]}


@cache
def provinces() -> dict[str, Province]:
    """Provinces (by code) and neighbouring lands (by ISO alpha-3), geometry made valid."""
    doc = json.loads(outline_text())
    out: dict[str, Province] = {}
    for f in doc["features"]:
        p = f["properties"]
        out[p["code"]] = Province(p["code"], p["name"], p["kind"], shapely.make_valid(shape(f["geometry"])))
    return out


@cache
def official_areas() -> dict[str, float]:
    """Official area in km² by commune code (``inventory/data/communes.csv``)."""
    text = resources.files("inventory").joinpath("data/communes.csv").read_text("utf-8")
    return {row["code"]: float(row["area_km2"] or 0) for row in csv.DictReader(text.splitlines())}


def _disc(lon: float, lat: float, area_km2: float) -> BaseGeometry:
    """A disc of ``area_km2`` around a point (an ellipse in degrees, round on the ground)."""
    radius_km = max(math.sqrt(max(area_km2, 0.5) / math.pi), 0.4)
    circle = Point(0, 0).buffer(radius_km / KM_PER_DEGREE, quad_segs=8)
    stretch = 1 / max(math.cos(math.radians(lat)), 0.1)
    return shapely.affinity.affine_transform(circle, [stretch, 0, 0, 1, lon, lat])


@cache
def vietnam_land() -> BaseGeometry:
    """Vietnam's land: the union of the outline's provinces."""
    return shapely.union_all([p.land for p in provinces().values() if p.kind == "province"])


@cache
def _national_cells() -> dict[str, BaseGeometry]:
    """Voronoi cells around every official commune point of the country, by commune code."""
    communes = list(load_reference().communes.values())
    return dict(zip([c.code for c in communes], _voronoi([(c.lon, c.lat) for c in communes]), strict=True))


def _voronoi(points: list[tuple[float, float]]) -> list[BaseGeometry]:
    """One cell per point, in order, reaching well past the country."""
    frame = shapely.box(*(v + d for v, d in zip(vietnam_land().union(MultiPoint(points)).bounds,
                                                (-1, -1, 1, 1), strict=True)))
    if len(points) == 1:
        return [frame]
    return list(shapely.voronoi_polygons(MultiPoint(points), extend_to=frame, ordered=True).geoms)


@cache
def province_areas(province_code: str) -> dict[str, CommuneArea]:
    """Approximate areas of the communes of one province, by commune code (empty when unknown).

    The province's land is shared out among its communes (a Voronoi diagram over
    their points alone), so the areas tile the province's outline. Natural
    Earth's provincial lines are older and coarser than the reference data: a
    point just outside them still takes the nearest part of its province (Cát
    Hải's point lies on an island Natural Earth gives Quảng Ninh; its area is
    Cát Bà). A point off any land (``OFF_LAND_KM``) takes a disc of its
    official area.
    """
    communes = load_reference().in_province(province_code)
    province = provinces().get(province_code)
    if not communes or province is None:
        return {}
    country, home = vietnam_land(), province.land
    official = official_areas()
    on_land = [c for c in communes if country.distance(Point(c.lon, c.lat)) * KM_PER_DEGREE <= OFF_LAND_KM]
    at_sea = [c for c in communes if c not in on_land]
    out: dict[str, CommuneArea] = {}
    cells = _voronoi([(c.lon, c.lat) for c in on_land]) if on_land else []
    national = _national_cells()
    for c, cell in zip(on_land, cells, strict=True):
        geom = _polygonal(shapely.make_valid(cell.intersection(home)))
        if geom.is_empty:  # the point is far outside the province's outline: the land around it
            geom = _polygonal(shapely.make_valid(national[c.code].intersection(country)))
        out[c.code] = CommuneArea(c.code, geom, "voronoi")
    for c in at_sea:
        disc = _disc(c.lon, c.lat, official.get(c.code, 0.0))
        out[c.code] = CommuneArea(c.code, _polygonal(disc.intersection(national[c.code])), "disc")
    for c in communes:  # a sliver lost to rounding: the disc says where it is
        if out[c.code].geometry.is_empty:
            out[c.code] = CommuneArea(c.code, _disc(c.lon, c.lat, official.get(c.code, 0.0)), "disc")
    return {c.code: out[c.code] for c in communes}


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the polygon parts (an intersection may add stray lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value
