"""JSON API: communes, sites, devices, states, the coordinator list, poller health, typhoon."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import TypeAdapter

from alerting.incidents import Incident
from api import views
from api.auth.roles import Permission, Principal
from api.context import ApiContext
from api.errors import responses
from api.guard import Guard, commune_visible
from api.paging import Limit, Offset, page, set_headers
from api.picture import PictureCache, overview_for
from api.schemas import (
    CommuneDetailOut,
    CommuneOut,
    CoordinatorRow,
    DeviceOut,
    MeOut,
    OverviewOut,
    PollerOut,
    SiteOut,
    TyphoonOut,
)

CommuneStatusQ = Literal["unknown", "ok", "degraded", "down", "isolated"]
DeviceStatusQ = Literal["unknown", "up", "degraded", "down", "unreachable", "maintenance"]
RoleQ = Literal["router", "switch", "dns", "bts", "power", "leo"]
BtsQ = Literal["up", "battery", "down", "isolated", "unknown", "none"]
SortQ = Literal["code", "name", "bts", "minutes_left"]
ROWS = TypeAdapter(list[CoordinatorRow])
BTS_ORDER = {"isolated": 0, "down": 1, "battery": 2, "unknown": 3, "up": 4, "none": 5}


def router(ctx: ApiContext, guard: Guard, picture: PictureCache) -> APIRouter:
    """Read-only endpoints about the watched world."""
    api = APIRouter(prefix="/api", responses=responses(401, 403, 422))
    reader = Depends(guard.need(Permission.READ))
    inv = ctx.inventory

    @api.get("/me", response_model=MeOut, tags=["accounts"])
    def me(who: Principal = Depends(guard.principal)) -> MeOut:
        """Who the caller is and what it may do."""
        return MeOut(
            name=who.name,
            kind=who.kind,
            role=who.role.value if who.role else None,
            permissions=sorted(p.value for p in who.permissions),
            communes=None if who.communes is None else sorted(who.communes),
        )

    @api.get("/communes", response_model=list[CommuneOut], tags=["communes"])
    def list_communes(
        request: Request,
        response: Response,
        who: Principal = reader,
        status: CommuneStatusQ | None = Query(default=None, description="lọc theo trạng thái"),
        q: str | None = Query(default=None, max_length=100, description="tìm theo tên/mã"),
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

    @api.get("/communes/{code}", response_model=CommuneDetailOut, tags=["communes"], responses=responses(404))
    def get_commune(code: str, who: Principal = reader) -> CommuneDetailOut:
        """One commune: status, command post and contacts, sites, devices, links, active incidents."""
        summary = next((c for c in picture.get().communes if c.code == code), None)
        if summary is None:
            raise HTTPException(404, f"xã {code!r} không được giám sát (commune is not watched)")
        commune_visible(who, code)
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

    @api.get("/sites", response_model=list[SiteOut], tags=["sites"], responses=responses(404))
    def list_sites(
        request: Request,
        response: Response,
        who: Principal = reader,
        commune: str | None = Query(default=None, max_length=8),
        kind: Literal["commune_hq", "bts_site", "data_centre", "dns_site", "noc"] | None = None,
        limit: Limit = 1000,
        offset: Offset = 0,
    ) -> list[SiteOut]:
        """Sites, filtered by commune and kind."""
        if commune is not None:
            _known_commune(commune)
            commune_visible(who, commune)
        ids = [
            s.id
            for s in inv.sites.values()
            if who.sees(s.commune)
            and (commune is None or s.commune == commune)
            and (kind is None or s.kind.value == kind)
        ]
        return [views.site(ctx, s) for s in page(request, response, ids, limit, offset)]

    @api.get("/sites/{site_id}", response_model=SiteOut, tags=["sites"], responses=responses(404))
    def get_site(site_id: str, who: Principal = reader) -> SiteOut:
        """One site."""
        s = inv.sites.get(site_id)
        if s is None or not who.sees(s.commune):
            raise HTTPException(404, f"địa điểm {site_id!r} không tồn tại (no such site)")
        return views.site(ctx, site_id)

    @api.get("/devices", response_model=list[DeviceOut], tags=["devices"], responses=responses(404))
    def list_devices(
        request: Request,
        response: Response,
        who: Principal = reader,
        commune: str | None = Query(default=None, max_length=8),
        status: DeviceStatusQ | None = None,
        role: RoleQ | None = None,
        site: str | None = Query(default=None, max_length=64),
        limit: Limit = 1000,
        offset: Offset = 0,
    ) -> list[DeviceOut]:
        """Devices with current state; filter by commune, status, role and site."""
        if commune is not None:
            _known_commune(commune)
            commune_visible(who, commune)
            ids = inv.devices_by_commune.get(commune, [])
        else:
            ids = [d for d in inv.devices if who.sees(inv.commune_of(d))]
        items = views.devices(ctx, ids, status, role, site)
        return page(request, response, items, limit, offset)

    @api.get("/devices/{device_id}", response_model=DeviceOut, tags=["devices"], responses=responses(404))
    def get_device(device_id: str, who: Principal = reader) -> DeviceOut:
        """One device with its current state."""
        if device_id not in inv.devices or not who.sees(inv.commune_of(device_id)):
            raise HTTPException(404, f"thiết bị {device_id!r} không tồn tại (no such device)")
        return views.device(ctx, device_id)

    @api.get("/states", response_model=OverviewOut, tags=["states"])
    def overview(who: Principal = reader) -> OverviewOut:
        """Overview: device states, incidents by severity, communes on backup/isolated, BTS on battery."""
        return overview_for(picture.get(), who, inv, ctx.tracker.states)

    @api.get("/coordinator", response_model=list[CoordinatorRow], tags=["coordinator"])
    def coordinator(
        request: Request,
        response: Response,
        who: Principal = reader,
        province: str | None = Query(default=None, pattern=r"^[0-9]{2}$"),
        bts: BtsQ | None = None,
        q: str | None = Query(default=None, max_length=100),
        sort: SortQ = "code",
        limit: Limit = 5000,
        offset: Offset = 0,
    ) -> list[CoordinatorRow]:
        """Which commune BTS are up, on battery (minutes left), down, or the commune is isolated."""
        key = ("coordinator", who.communes, province, bts, q, sort, limit, offset)
        content, total = picture.remember(
            key, lambda: _coordinator_json(who, province, bts, q, sort, limit, offset)
        )
        set_headers(request, response, total, limit, offset)
        return Response(content, media_type="application/json", headers=dict(response.headers))  # type: ignore[return-value]

    def _coordinator_json(
        who: Principal,
        province: str | None,
        bts: str | None,
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

    @api.get("/poller", response_model=PollerOut, tags=["health"])
    def poller_health(who: Principal = reader) -> PollerOut:
        """Self-metrics of the last poll cycle (duration, late polls, errors, spool); city-wide accounts only
        (the figures count every commune's devices)."""
        if who.communes is not None:
            raise HTTPException(
                403,
                "sức khỏe bộ thu thập toàn mạng chỉ dành cho tài khoản toàn thành phố (city-wide only)",
            )
        return views.poller(ctx)

    @api.get("/typhoon", response_model=TyphoonOut | None, tags=["coordinator"])
    def typhoon(who: Principal = reader) -> TyphoonOut | None:
        """The declared typhoon (storm name, communes, latest digest), or null in normal times."""
        return current_typhoon(ctx, who)

    def _known_commune(code: str) -> None:
        if code not in inv.devices_by_commune:
            raise HTTPException(404, f"xã {code!r} không được giám sát (commune is not watched)")

    return api


def current_typhoon(ctx: ApiContext, who: Principal | None = None) -> TyphoonOut | None:
    """HOOK: read typhoon mode from whatever ``alerting/notify`` exposes through ``ctx.typhoon``.

    A commune-scoped ``who`` sees the declared communes within its scope only.
    """
    data = ctx.typhoon.current() if ctx.typhoon is not None else None
    if not data:
        return None
    declared = data.get("declared_at")
    return TyphoonOut(
        name=str(data.get("name", "")),
        communes=[str(c) for c in data.get("communes", ()) if who is None or who.sees(str(c))],
        declared_local=views.local_text(int(declared), ctx.timezone) if declared else None,
        digest=data.get("digest") if who is None or who.communes is None else None,  # network-wide text
    )


def _matches(q: str | None, code: str, name: str) -> bool:
    if not q:
        return True
    q = q.strip().lower()
    return q in code or q in name.lower() or q in _ascii(name.lower())


def _ascii(text: str) -> str:
    """Vietnamese without diacritics, so 'hong bang' finds 'Hồng Bàng'."""
    import unicodedata

    return "".join(
        ch for ch in unicodedata.normalize("NFD", text.replace("đ", "d")) if unicodedata.category(ch) != "Mn"
    )
