"""CAP 1.2 alerts (OASIS Common Alerting Protocol): warned polygons and circles.

Each ``info/area`` becomes an :class:`Area` with the info's onset/expires.
``polygon`` is "lat,lon lat,lon …" (closed), ``circle`` is "lat,lon radius_km".
"""

from __future__ import annotations

import math
from pathlib import Path

from lxml import etree
from shapely import affinity
from shapely.geometry import Point, Polygon

from storm.geo import EARTH_KM
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
    for info in root.findall("cap:info", NS):
        event = info.findtext("cap:event", default="", namespaces=NS)
        name = name or event
        onset = _time(path, info, "onset")
        expires = _time(path, info, "expires")
        for area in info.findall("cap:area", NS):
            label = area.findtext("cap:areaDesc", default="", namespaces=NS)
            for poly in area.findall("cap:polygon", NS):
                areas.append(Area(_polygon(path, poly), "warning", onset, expires, label=label))
            for circle in area.findall("cap:circle", NS):
                areas.append(Area(_circle(path, circle), "warning", onset, expires, label=label))
    if not areas:
        raise TrackError(f"{path}: info/area: no polygon or circle in the alert")
    return Track(name or path.stem, "cap", (), tuple(areas), issued)


def _time(path: Path, info: etree._Element, tag: str) -> int | None:
    el = info.find(f"cap:{tag}", NS)
    return None if el is None or not el.text else parse_time(f"{path}:{el.sourceline}: {tag}", el.text)


def _pairs(path: Path, el: etree._Element, text: str) -> list[tuple[float, float]]:
    out = []
    for pair in text.split():
        try:
            lat, lon = (float(x) for x in pair.split(","))
        except ValueError:
            raise TrackError(f"{path}:{el.sourceline}: polygon: bad 'lat,lon' pair {pair!r}") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise TrackError(f"{path}:{el.sourceline}: polygon: coordinates out of range {pair!r}")
        out.append((lon, lat))
    return out


def _polygon(path: Path, el: etree._Element) -> Polygon:
    coords = _pairs(path, el, el.text or "")
    if len(coords) < 4 or coords[0] != coords[-1]:
        raise TrackError(f"{path}:{el.sourceline}: polygon: needs ≥ 4 pairs, first = last")
    return Polygon(coords)


def _circle(path: Path, el: etree._Element) -> Polygon:
    try:
        centre, radius = (el.text or "").split()
        lat, lon = (float(x) for x in centre.split(","))
        km = float(radius)
    except ValueError:
        raise TrackError(f"{path}:{el.sourceline}: circle: expected 'lat,lon radius_km', "
                         f"got {el.text!r}") from None
    # Degrees are not km: an ellipse scaled by latitude is round on the ground.
    deg_lat = km / (math.pi * EARTH_KM / 180)
    circle = Point(0, 0).buffer(1.0, 64)
    scaled = affinity.scale(circle, deg_lat / math.cos(math.radians(lat)), deg_lat, origin=(0, 0))
    return affinity.translate(scaled, lon, lat)
