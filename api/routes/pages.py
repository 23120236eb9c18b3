"""Server-rendered pages: NOC overview, incidents, maintenance, device, commune, coordinator, admin.

Each page takes its principal from the session cookie (:data:`api.deps.PageReader`
and siblings: without a session, a 401 that :mod:`api.errors` turns into the
login form) and reads the same services as the JSON API.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from alerting.incidents import Severity
from api import views
from api.auth.accounts import AccountError
from api.auth.roles import TOKEN_SCOPES, Principal, Role
from api.context import Security
from api.deps import (
    Ctx,
    IncidentsDep,
    PageAcker,
    PageAdmin,
    PagePlanner,
    PageReader,
    PictureDep,
    RenderDep,
    SecurityDep,
)
from api.guard import check_csrf, client_ip, commune_visible
from api.incident_text import incident_where
from api.noc import NocFilters, noc_rows
from api.paging import Offset, RowId
from api.picture import overview_for
from api.power import device_figure
from api.render import Renderer, lang_of
from api.schemas import IncidentFilter, MaintenanceIn, MaintenanceScope
from api.series import METRICS, RANGES
from inventory.model import DeviceRole

router = APIRouter(include_in_schema=False)
CsrfField = Annotated[str, Form()]


@router.get("/")
def overview(request: Request, who: PageReader, ctx: Ctx, picture: PictureDep, render: RenderDep) -> Response:
    """NOC overview: counts, communes, active incidents, poller health."""
    pic = picture.get()
    communes = [c for c in pic.communes if who.sees(c.code)]
    active = [i for i in pic.active if who.communes is None or who.sees(i.commune)]
    # a commune-scoped viewer sees counts over its communes, and no network-wide poller figures
    poller = views.poller(ctx) if who.communes is None else None
    active.sort(key=lambda i: (-int(i.severity), -i.opened_at))
    filters = NocFilters.of(request.query_params)
    inv = ctx.inventory
    return render.page(
        request,
        "noc.html",
        who,
        overview=overview_for(pic, who, ctx.inventory, ctx.tracker.states),
        communes=communes,
        rows=noc_rows(pic, ctx, None if who.communes is None else set(who.communes), filters,
                      lang_of(request)),
        filters=filters,
        provinces=sorted({(c.province_code, inv.reference.provinces.get(c.province_code, c.province_code))
                          for c in communes}),
        names={c.code: c.name for c in communes},
        incidents=[views.incident(i, ctx.timezone) for i in active[:30]],
        poller=poller,
        last=ctx.cycle.last if poller is not None else None,
        typhoon=views.current_typhoon(ctx, who),
    )


@router.get("/incidents")
def incidents(
    request: Request,
    who: PageReader,
    ctx: Ctx,
    ops: IncidentsDep,
    render: RenderDep,
    status: IncidentFilter | Literal[""] = IncidentFilter.ACTIVE,
    commune: Annotated[str, Query(max_length=8)] = "",
    severity: Annotated[int, Query(ge=0, le=int(max(Severity)), description="0: mọi mức")] = 0,
    offset: Offset = 0,
) -> Response:
    """Incident list with filters (``status=`` empty: every status; ``severity=0``: every level)."""
    if commune:
        commune_visible(who, commune)
    items, total = ops.core.incidents.list(
        status=str(status) or None,
        commune=commune or None,
        communes=who.communes,
        severity=severity or None,
        limit=100,
        offset=offset,
    )
    inv = ctx.inventory
    return render.page(
        request,
        "incidents.html",
        who,
        items=[views.incident(i, ctx.timezone) for i in items],
        total=total,
        status=str(status),
        commune=commune,
        severity=severity,
        offset=offset,
        names={c: inv.commune_ref(c).name for c in inv.devices_by_commune if who.sees(c)},
    )


@router.get("/incidents/{incident_id}")
def incident(
    request: Request, incident_id: RowId, who: PageReader, ctx: Ctx, ops: IncidentsDep, render: RenderDep
) -> Response:
    """One incident: what, where (communes and devices by name), why, runbook, timeline, acknowledge."""
    inc = ops.detail(who, incident_id)
    return render.page(request, "incident.html", who, inc=inc, where=incident_where(inc, ctx.inventory, who))


@router.post("/incidents/{incident_id}/ack")
def acknowledge(
    request: Request,
    incident_id: RowId,
    who: PageAcker,
    ops: IncidentsDep,
    csrf: CsrfField = "",
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Acknowledge from the page (CSRF-checked, audited)."""
    check_csrf(request, csrf)
    ops.acknowledge(who, incident_id, comment, client_ip(request))
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.get("/maintenance")
def maintenance(
    request: Request, who: PageReader, ops: IncidentsDep, render: RenderDep, error: str = ""
) -> Response:
    """Maintenance windows and the form to create one."""
    return render.page(request, "maintenance.html", who, windows=ops.windows(who), error=error[:300])


@router.post("/maintenance")
def create_maintenance(
    request: Request,
    who: PagePlanner,
    ops: IncidentsDep,
    render: RenderDep,
    scope: Annotated[MaintenanceScope, Form()],
    target: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=500)],
    csrf: CsrfField = "",
    hours: Annotated[float, Form(gt=0, le=24 * 30)] = 2,
) -> Response:
    """Create a one-off window starting now (CSRF-checked, audited)."""
    check_csrf(request, csrf)
    now = int(time.time())
    try:
        body = MaintenanceIn(
            scope=scope,
            target=target.strip(),
            starts_at=now,
            ends_at=now + int(hours * 3600),
            reason=reason,
        )
        ops.create_window(who, body, client_ip(request))
    except (HTTPException, ValueError) as exc:
        detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
        return render.page(
            request, "maintenance.html", who, status_code=422, windows=ops.windows(who), error=str(detail)
        )
    return RedirectResponse("/maintenance", status_code=303)


@router.post("/maintenance/{window_id}/end")
def end_maintenance(
    request: Request, window_id: RowId, who: PagePlanner, ops: IncidentsDep, csrf: CsrfField = ""
) -> Response:
    """End a window now (CSRF-checked, audited)."""
    check_csrf(request, csrf)
    ops.end_window(who, window_id, client_ip(request))
    return RedirectResponse("/maintenance", status_code=303)


@router.get("/devices/{device_id}")
def device(
    request: Request, device_id: str, who: PageReader, ctx: Ctx, ops: IncidentsDep, render: RenderDep
) -> Response:
    """A device: state, incidents and charts of its series."""
    inv = ctx.inventory
    if device_id not in inv.devices or not who.sees(inv.commune_of(device_id)):
        raise HTTPException(404, f"thiết bị {device_id!r} không tồn tại")
    items, _ = ops.core.incidents.list(device=device_id, limit=20)
    metrics = ["rtt", "utilisation", "errors"] + (
        ["battery"] if inv.devices[device_id].role is DeviceRole.POWER else []
    )
    return render.page(
        request,
        "device.html",
        who,
        dev=views.device(ctx, device_id),
        battery=device_figure(ctx, device_id),
        site=inv.sites[inv.devices[device_id].site],
        commune=inv.commune_ref(inv.commune_of(device_id)),
        incidents=[views.incident(i, ctx.timezone) for i in items],
        metrics=metrics,
        ranges=list(RANGES),
        units={k: m.unit for k, m in METRICS.items()},
    )


@router.get("/communes/{code}")
def commune(
    request: Request,
    code: str,
    who: PageReader,
    ctx: Ctx,
    picture: PictureDep,
    ops: IncidentsDep,
    render: RenderDep,
) -> Response:
    """A commune: sites, devices, links, contacts, incidents."""
    summary = next((c for c in picture.get().communes if c.code == code), None)
    if summary is None:
        raise HTTPException(404, f"xã {code!r} không được giám sát")
    commune_visible(who, code)
    inv = ctx.inventory
    post, contacts = views.contacts(ctx, code)
    items, _ = ops.core.incidents.list(commune=code, limit=50)
    sites = [views.site(ctx, s.id) for s in inv.sites.values() if s.commune == code]
    return render.page(
        request,
        "commune.html",
        who,
        c=summary,
        bts=next((r for r in picture.get().coordinator if r.code == code), None),
        command_post=post,
        contacts=contacts,
        sites=sites,
        site_names={s.id: s.name for s in sites},
        devices=views.devices(ctx, inv.devices_by_commune.get(code, [])),
        links=views.links(ctx, code),
        incidents=[views.incident(i, ctx.timezone) for i in items],
        connectivity=picture.get().connectivity.get(code, "unknown"),
    )


@router.get("/coordinator")
def coordinator(
    request: Request,
    who: PageReader,
    ctx: Ctx,
    picture: PictureDep,
    render: RenderDep,
    province: Annotated[str, Query(pattern=r"^([0-9]{2})?$")] = "",
) -> Response:
    """The coordinator's map and list of commune BTS (one province with ``?province=31``)."""
    lang = lang_of(request)

    def rows_html() -> str:
        rows = [
            r
            for r in picture.get().coordinator
            if who.sees(r.code) and (not province or r.province_code == province)
        ]
        return render.fragment("_coord_rows.html", lang, rows=rows)

    html = picture.remember(("coordinator-page", who.communes, province, lang), rows_html)
    return render.page(
        request, "coordinator.html", who, rows_html=html, typhoon=views.current_typhoon(ctx, who)
    )


@router.get("/admin")
def admin(request: Request, who: PageAdmin, sec: SecurityDep, render: RenderDep) -> Response:
    """Accounts, API tokens and the audit log."""
    return _admin_page(request, render, sec, who, "", status_code=200)


@router.post("/admin/users")
def admin_create_user(
    request: Request,
    who: PageAdmin,
    ctx: Ctx,
    sec: SecurityDep,
    render: RenderDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    role: Annotated[str, Form(max_length=20)],
    csrf: CsrfField = "",
    communes: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Create an account from the admin page (audited)."""
    check_csrf(request, csrf)
    codes = [c for c in communes.replace(",", " ").split() if c]
    try:
        unknown = [c for c in codes if c not in ctx.inventory.devices_by_commune]
        if unknown:
            raise AccountError(f"xã không được giám sát: {', '.join(unknown)}")
        user = sec.accounts.create_user(username, password, role, communes=codes)
    except (AccountError, ValueError) as exc:
        return _admin_page(request, render, sec, who, str(exc))
    sec.audit.record(
        who.name,
        "user.create",
        f"user:{user.username}",
        {"role": user.role.value, "communes": codes},
        client_ip(request),
    )
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/tokens")
def admin_create_token(
    request: Request,
    who: PageAdmin,
    sec: SecurityDep,
    render: RenderDep,
    name: Annotated[str, Form(max_length=100)],
    csrf: CsrfField = "",
    scopes: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies form defaults
    communes: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Create an API token; its secret is shown on the answer page only (audited)."""
    check_csrf(request, csrf)
    codes = [c for c in communes.replace(",", " ").split() if c] or None
    try:
        token, secret = sec.accounts.create_token(name, scopes, created_by=who.name, communes=codes)
    except AccountError as exc:
        return _admin_page(request, render, sec, who, str(exc))
    sec.audit.record(
        who.name,
        "token.create",
        f"token:{token.id}",
        {"name": token.name, "scopes": list(token.scopes)},
        client_ip(request),
    )
    return _admin_page(request, render, sec, who, "", new_token=secret, status_code=201)


@router.post("/admin/tokens/{token_id}/revoke")
def admin_revoke_token(
    request: Request, token_id: RowId, who: PageAdmin, sec: SecurityDep, csrf: CsrfField = ""
) -> Response:
    """Revoke a token (audited)."""
    check_csrf(request, csrf)
    try:
        token = sec.accounts.revoke_token(token_id)
    except LookupError:
        raise HTTPException(404, f"token #{token_id} không tồn tại") from None
    sec.audit.record(who.name, "token.revoke", f"token:{token_id}", {"name": token.name}, client_ip(request))
    return RedirectResponse("/admin", status_code=303)


def _admin_page(
    request: Request,
    render: Renderer,
    sec: Security,
    who: Principal,
    error: str,
    new_token: str | None = None,
    status_code: int = 422,
) -> Response:
    entries, _ = sec.audit.list(limit=50)
    return render.page(
        request,
        "admin.html",
        who,
        status_code=status_code,
        users=sec.accounts.list_users(),
        tokens=sec.accounts.list_tokens(),
        entries=entries,
        roles=[r.value for r in Role],
        scopes=TOKEN_SCOPES,
        new_token=new_token,
        error=error,
    )
