"""JSON API of the dashboard map: the communes in the caller's scope with their approximate areas.

The outline the map draws under them (provinces, coast, neighbouring land) is
the static file ``/static/map-vn.json`` (Natural Earth, public domain; see
:mod:`api.geo.build`); this route adds what depends on who asks: which
communes, where, and the territory around each (:mod:`api.geo.areas`).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from api.deps import Ctx, Reader
from api.errors import responses
from api.geo.areas import official_areas, outline_meta, province_areas

OUTLINE_URL = "/static/map-vn.json"
CACHED = 64  # answers kept (one per scope and province asked for)
ProvinceQ = Annotated[str | None, Query(pattern=r"^[0-9]{2}$", description="mã tỉnh (2 chữ số)")]


class MapCommuneOut(BaseModel):
    """One commune on the map: its official point and an approximate area around it."""

    code: str
    name: str
    kind: str
    province_code: str
    province: str
    lat: float
    lon: float
    area_km2: float | None  # official area
    method: Literal["voronoi", "disc"]  # cell around the point cut by the land, or a disc of official area
    area: dict[str, Any]  # GeoJSON geometry, approximate


class MapOut(BaseModel):
    """What the map shows of the caller's communes, and where its outline comes from."""

    communes: list[MapCommuneOut]
    provinces: list[str]  # province codes of these communes
    outline: str  # URL of the province outline (GeoJSON)
    source: str
    licence: str
    approximate: str  # how the areas were drawn, for the map's caption


APPROXIMATE = (
    "Vùng xã là ước lượng: mỗi điểm đất thuộc về xã có điểm trung tâm chính thức gần nhất "
    "(ô Voronoi cắt theo ranh giới tỉnh); đảo không có trong dữ liệu nền vẽ bằng hình tròn "
    "theo diện tích chính thức."
)
router = APIRouter(prefix="/api/map", tags=["map"], responses=responses(401, 403, 422))
_answers: OrderedDict[tuple[int, str | None, frozenset[str] | None], bytes] = OrderedDict()


@router.get("/communes", response_model=MapOut)
def map_communes(who: Reader, ctx: Ctx, province: ProvinceQ = None) -> Response:
    """Communes the caller may see (one province with ``?province=31``), with approximate areas."""
    key = (id(ctx.inventory), province, who.communes)
    body = _answers.get(key)
    if body is None:
        body = _map_json(ctx, who.communes, province)
        _answers[key] = body
        while len(_answers) > CACHED:
            _answers.popitem(last=False)
    return Response(body, media_type="application/json", headers={"Cache-Control": "private, max-age=300"})


def _map_json(ctx: Any, scope: frozenset[str] | None, province: str | None) -> bytes:
    inventory = ctx.inventory
    official = official_areas()
    out: list[MapCommuneOut] = []
    for code in inventory.watched_communes:
        if scope is not None and code not in scope:
            continue
        ref = inventory.reference.communes.get(code)
        if ref is None or (province and ref.province_code != province):
            continue
        area = province_areas(ref.province_code).get(code)
        if area is None:
            continue
        out.append(MapCommuneOut(
            code=code, name=ref.name, kind=str(ref.kind.value), province_code=ref.province_code,
            province=ref.province_name, lat=ref.lat, lon=ref.lon, area_km2=official.get(code) or None,
            method=area.method, area=area.geojson(),
        ))
    meta = outline_meta()
    doc = MapOut(
        communes=out, provinces=sorted({c.province_code for c in out}), outline=OUTLINE_URL,
        source=meta["source"], licence=meta["licence"], approximate=APPROXIMATE,
    )
    return json.dumps(doc.model_dump(), ensure_ascii=False, separators=(",", ":")).encode()
