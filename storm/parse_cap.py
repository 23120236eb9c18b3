"""CAP 1.2 alerts (OASIS Common Alerting Protocol): warned polygons and circles.

Each ``info/area`` becomes an :class:`Area` with the info's onset/expires.
``polygon`` is "lat,lon lat,lon …" (closed), ``circle`` is "lat,lon radius_km".
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree
from shapely.geometry import Polygon
from shapely.validation import make_valid

from storm.geo import km_circle
from storm.limits import MAX_AREAS, Budget, lat_lon, radius
from storm.limits import text as short_text
from storm.model import Area, Track, TrackError
from storm.parse_geojson import parse_time

NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


def parse_cap(path: Path, text: bytes | None = None) -> Track:
    """Parse a CAP 1.2 alert; TrackError names the file, line and element."""
    raw = path.read_bytes() if text is None else text
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise TrackError(f"{path}:{exc.lineno}: invalid XML: {exc.msg}") from None
    if etree.QName(root).localname != "alert" or etree.QName(root).namespace != NS["cap"]:
        raise TrackError(f"{path}:{root.sourceline}: alert: not a CAP 1.2 <alert>")
    sent = root.find("cap:sent", NS)
    issued = parse_time(f"{path}:{sent.sourceline}: sent", sent.text) if sent is not None else None
    areas: list[Area] = []
    name = ""
    budget = Budget(str(path))
    for info in root.findall("cap:info", NS):
        event = info.findtext("cap:event", default="", namespaces=NS)
        name = name or event
        onset = _time(path, info, "onset")
        expires = _time(path, info, "expires")
        for area in info.findall("cap:area", NS):
            label = area.findtext("cap:areaDesc", default="", namespaces=NS)
            for shape_ in (*area.findall("cap:polygon", NS), *area.findall("cap:circle", NS)):
                if len(areas) >= MAX_AREAS:
                    raise TrackError(f"{path}:{shape_.sourceline}: quá nhiều vùng (> {MAX_AREAS}) — "
                                     "too many areas")
                make = _polygon if etree.QName(shape_).localname == "polygon" else _circle
                geom = make(path, shape_, budget)
                areas.append(Area(geom, "warning", onset, expires, label=short_text(label)))
    if not areas:
        raise TrackError(f"{path}: info/area: no polygon or circle in the alert")
    return Track(short_text(name) or path.stem, "cap", (), tuple(areas), issued)


def _time(path: Path, info: etree._Element, tag: str) -> int | None:
    el = info.find(f"cap:{tag}", NS)
    return None if el is None or not el.text else parse_time(f"{path}:{el.sourceline}: {tag}", el.text)


def _latlon(path: Path, el: etree._Element, pair: str) -> tuple[float, float]:
    where = f"{path}:{el.sourceline}: {etree.QName(el).localname}"
    try:
        lat, lon = (float(x) for x in pair.split(","))
    except ValueError:
        raise TrackError(f"{where}: cặp 'lat,lon' sai (bad pair) {pair[:60]!r}") from None
    return lat_lon(where, lat, lon)


def _polygon(path: Path, el: etree._Element, budget: Budget) -> Polygon:
    pairs = (el.text or "").split()
    budget.take(len(pairs))
    coords = [(lon, lat) for lat, lon in (_latlon(path, el, pair) for pair in pairs)]
    if len(coords) < 4 or coords[0] != coords[-1]:
        raise TrackError(f"{path}:{el.sourceline}: polygon: needs ≥ 4 pairs, first = last "
                         "(cần ≥ 4 cặp, đầu = cuối)")
    poly = Polygon(coords)
    return poly if poly.is_valid else make_valid(poly)


def _circle(path: Path, el: etree._Element, budget: Budget) -> Polygon:
    budget.take()
    parts = (el.text or "").split()
    if len(parts) != 2:
        raise TrackError(f"{path}:{el.sourceline}: circle: expected 'lat,lon radius_km', "
                         f"got {(el.text or '')[:60]!r}")
    lat, lon = _latlon(path, el, parts[0])
    try:
        km = radius(f"{path}:{el.sourceline}: circle", float(parts[1]))
    except ValueError:
        raise TrackError(f"{path}:{el.sourceline}: circle: bán kính không phải số (radius not a number) "
                         f"{parts[1][:40]!r}") from None
    return km_circle(lat, lon, km, 64)
