"""JSON API: communes, sites, devices, states, the coordinator list, poller health, typhoon."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import TypeAdapter

from alerting.incidents import Incident
from alerting.states import Status
from alerting.summary import CommuneStatus
from api import views
from api.auth.roles import Principal
from api.auth.schemas import MeOut
from api.deps import Ctx, CurrentPrincipal, PictureDep, Reader
from api.errors import responses
from api.guard import commune_visible
from api.paging import Limit, Offset, page, set_headers
from api.picture import PictureCache, overview_for
from api.schemas import (
    BtsCode,
    CommuneDetailOut,
    CommuneOut,
    CoordinatorRow,
    DeviceOut,
    OverviewOut,
    PollerOut,
    SiteOut,
    TyphoonOut,
)
from inventory.inventory import Inventory
from inventory.model import DeviceRole, SiteKind

SortQ = Literal["code", "name", "bts", "minutes_left"]  # the list's own orders, not a domain vocabulary
ProvinceQ = Annotated[str | None, Query(pattern=r"^[0-9]{2}$", description="mã tỉnh (2 chữ số)")]
CommuneQ = Annotated[str | None, Query(max_length=8, description="mã xã")]
SearchQ = Annotated[str | None, Query(max_length=100, description="tìm theo tên/mã (không dấu cũng được)")]
ROWS = TypeAdapter(list[CoordinatorRow])
BTS_ORDER = {code: rank for rank, code in enumerate(
    (BtsCode.ISOLATED, BtsCode.DOWN, BtsCode.BATTERY, BtsCode.UNKNOWN, BtsCode.UP, BtsCode.NONE)
)}

router = APIRouter(prefix="/api", responses=responses(401, 403, 422))


@router.get("/me", response_model=MeOut, tags=["accounts"])
def me(who: CurrentPrincipal) -> MeOut:
    """Who the caller is and what it may do."""
    return MeOut(
        name=who.name,
        kind=who.kind,
        role=who.role.value if who.role else None,
        permissions=sorted(p.value for p in who.permissions),
        communes=None if who.communes is None else sorted(who.communes),
    )


@router.get("/communes", response_model=list[CommuneOut], tags=["communes"])
def list_communes(
    request: Request,
    response: Response,
    who: Reader,
    picture: PictureDep,
    status: Annotated[CommuneStatus | None, Query(description="lọc theo trạng thái")] = None,
    q: SearchQ = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[CommuneOut]:
    """Every watched commune (within the caller's scope) with its status summary."""
    items = [
        c
        for c in picture.get().communes
        if who.sees(c.code) and (status is None or c.status == status) and _matches(q, c.code, c.name)
    ]
    return page(request, response, items, limit, offset)


@router.get("/communes/{code}", response_model=CommuneDetailOut, tags=["communes"], responses=responses(404))
def get_commune(code: str, who: Reader, ctx: Ctx, picture: PictureDep) -> CommuneDetailOut:
    """One commune: status, command post and contacts, sites, devices, links, active incidents."""
    summary = next((c for c in picture.get().communes if c.code == code), None)
    if summary is None:
        raise HTTPException(404, f"xã {code!r} không được giám sát (commune is not watched)")
    commune_visible(who, code)
    inv = ctx.inventory
    post, contacts = views.contacts(ctx, code)
    site_ids = [s.id for s in inv.sites.values() if s.commune == code]
    active: list[Incident] = []
    if ctx.alerting is not None:
        active, _ = ctx.alerting.incidents.list(status="active", commune=code, limit=200)
    return CommuneDetailOut(
        **summary.model_dump(),
        command_post=post,
        contacts=contacts,
        connectivity=picture.get().connectivity.get(code, "unknown"),
        sites=[views.site(ctx, s) for s in site_ids],
        device_list=views.devices(ctx, inv.devices_by_commune.get(code, [])),
        links=views.links(ctx, code),
        incidents=[views.incident(i, ctx.timezone) for i in active],
    )


@router.get("/sites", response_model=list[SiteOut], tags=["sites"], responses=responses(404))
def list_sites(
    request: Request,
    response: Response,
    who: Reader,
    ctx: Ctx,
    commune: CommuneQ = None,
    kind: SiteKind | None = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[SiteOut]:
    """Sites, filtered by commune and kind."""
    inv = ctx.inventory
    if commune is not None:
        _known_commune(inv, commune)
        commune_visible(who, commune)
    ids = [
        s.id
        for s in inv.sites.values()
        if who.sees(s.commune)
        and (commune is None or s.commune == commune)
        and (kind is None or s.kind == kind)
    ]
    return [views.site(ctx, s) for s in page(request, response, ids, limit, offset)]


@router.get("/sites/{site_id}", response_model=SiteOut, tags=["sites"], responses=responses(404))
def get_site(site_id: str, who: Reader, ctx: Ctx) -> SiteOut:
    """One site."""
    s = ctx.inventory.sites.get(site_id)
    if s is None or not who.sees(s.commune):
        raise HTTPException(404, f"địa điểm {site_id!r} không tồn tại (no such site)")
    return views.site(ctx, site_id)


@router.get("/devices", response_model=list[DeviceOut], tags=["devices"], responses=responses(404))
def list_devices(
    request: Request,
    response: Response,
    who: Reader,
    ctx: Ctx,
    commune: CommuneQ = None,
    status: Status | None = None,
    role: DeviceRole | None = None,
    site: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[DeviceOut]:
    """Devices with current state; filter by commune, status, role and site."""
    inv = ctx.inventory
    if commune is not None:
        _known_commune(inv, commune)
        commune_visible(who, commune)
        ids = inv.devices_by_commune.get(commune, [])
    else:
        ids = [d for d in inv.devices if who.sees(inv.commune_of(d))]
    items = views.devices(
        ctx, ids, status.value if status is not None else None, role.value if role is not None else None, site
    )
    return page(request, response, items, limit, offset)


@router.get("/devices/{device_id}", response_model=DeviceOut, tags=["devices"], responses=responses(404))
def get_device(device_id: str, who: Reader, ctx: Ctx) -> DeviceOut:
    """One device with its current state."""
    inv = ctx.inventory
    if device_id not in inv.devices or not who.sees(inv.commune_of(device_id)):
        raise HTTPException(404, f"thiết bị {device_id!r} không tồn tại (no such device)")
    return views.device(ctx, device_id)


@router.get("/states", response_model=OverviewOut, tags=["states"])
def overview(who: Reader, ctx: Ctx, picture: PictureDep) -> OverviewOut:
    """Overview: device states, incidents by severity, communes on backup/isolated, BTS on battery."""
    return overview_for(picture.get(), who, ctx.inventory, ctx.tracker.states)


@router.get("/coordinator", response_model=list[CoordinatorRow], tags=["coordinator"])
def coordinator(
    request: Request,
    response: Response,
    who: Reader,
    picture: PictureDep,
    province: ProvinceQ = None,
    bts: BtsCode | None = None,
    q: SearchQ = None,
    sort: SortQ = "code",
    limit: Limit = 5000,
    offset: Offset = 0,
) -> Response:
    """Which commune BTS are up, on battery (minutes left), down, or the commune is isolated."""
    key = ("coordinator", who.communes, province, bts, q, sort, limit, offset)
    content, total = picture.remember(
        key, lambda: _coordinator_json(picture, who, province, bts, q, sort, limit, offset)
    )
    set_headers(request, response, total, limit, offset)
    return Response(content, media_type="application/json", headers=dict(response.headers))


def _coordinator_json(
    picture: PictureCache,
    who: Principal,
    province: str | None,
    bts: BtsCode | None,
    q: str | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[bytes, int]:
    rows = [
        r
        for r in picture.get().coordinator
        if who.sees(r.code)
        and (province is None or r.province_code == province)
        and (bts is None or r.bts == bts)
        and _matches(q, r.code, r.name)
    ]
    if sort == "name":
        rows.sort(key=lambda r: r.name)
    elif sort == "bts":
        rows.sort(key=lambda r: (BTS_ORDER[r.bts], r.minutes_left if r.minutes_left is not None else 1e9))
    elif sort == "minutes_left":
        rows.sort(key=lambda r: r.minutes_left if r.minutes_left is not None else 1e9)
    chosen = rows[offset : offset + limit]
    return ROWS.dump_json(chosen), len(rows)


@router.get("/poller", response_model=PollerOut, tags=["health"])
def poller_health(who: Reader, ctx: Ctx) -> PollerOut:
    """Self-metrics of the last poll cycle (duration, late polls, errors, spool); city-wide accounts only
    (the figures count every commune's devices)."""
    if who.communes is not None:
        raise HTTPException(
            403,
            "sức khỏe bộ thu thập toàn mạng chỉ dành cho tài khoản toàn thành phố (city-wide only)",
        )
    return views.poller(ctx)


@router.get("/typhoon", response_model=TyphoonOut | None, tags=["coordinator"])
def typhoon(who: Reader, ctx: Ctx) -> TyphoonOut | None:
    """The declared typhoon (storm name, communes, latest digest), or null in normal times."""
    return views.current_typhoon(ctx, who)


def _known_commune(inv: Inventory, code: str) -> None:
    if code not in inv.devices_by_commune:
        raise HTTPException(404, f"xã {code!r} không được giám sát (commune is not watched)")


def _matches(q: str | None, code: str, name: str) -> bool:
    if not q:
        return True
    q = q.strip().lower()
    return q in code or q in name.lower() or q in _ascii(name.lower())


def _ascii(text: str) -> str:
    """Vietnamese without diacritics, so 'hong bang' finds 'Hồng Bàng'."""
    return "".join(
        ch for ch in unicodedata.normalize("NFD", text.replace("đ", "d")) if unicodedata.category(ch) != "Mn"
    )
