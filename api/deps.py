"""The API's typed dependencies: the app's shared services, and who is asking with what right.

Every route module declares one module-level ``APIRouter``; its handlers take
what they need as ``Annotated[..., Depends(...)]`` parameters (the model of the
full-stack FastAPI template). The shared objects are built once by
:func:`api.app.create_app` and kept in ``app.state.services``; the dependencies
here read them from the request's app, so a handler never closes over them and
two apps in one process never share state.

Who is asking: machines send ``Authorization: Bearer tbk_…`` (JSON API), browsers
carry the session cookie. JSON routes take :data:`Reader`, :data:`Acker`, … (401
without credentials, 403 without the permission); pages take :data:`PageReader`,
… which read the session cookie only (a 401 on a page becomes a redirect to the
login form, see :mod:`api.errors`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials

from alerting.core import AlertingCore
from api.auth.roles import Permission, Principal
from api.context import ApiContext, Security
from api.guard import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, bearer_scheme, check_csrf, cookie_scheme
from api.live import LiveFeed
from api.operations import Incidents
from api.paging import Epoch
from api.picture import PictureCache
from api.render import Renderer
from api.report_access import ReportCache, period_of


@dataclass
class Services:
    """What the handlers share: built once per app by :func:`api.app.create_app`."""

    ctx: ApiContext
    security: Security
    picture: PictureCache
    render: Renderer
    incidents: Incidents
    reports: ReportCache
    live: LiveFeed


def services(request: Request) -> Services:
    """The app's shared services (``app.state.services``)."""
    return request.app.state.services  # type: ignore[no-any-return]


def get_ctx(request: Request) -> ApiContext:
    """The read handles: inventory, states, metrics, poller health."""
    return services(request).ctx


def get_security(request: Request) -> Security:
    """Accounts, audit log and login limiter."""
    return services(request).security


def get_picture(request: Request) -> PictureCache:
    """The shared current picture (commune summaries, coordinator rows, overview)."""
    return services(request).picture


def get_renderer(request: Request) -> Renderer:
    """The page renderer."""
    return services(request).render


def get_incidents(request: Request) -> Incidents:
    """Incident and maintenance operations (shared by the JSON API and the pages)."""
    return services(request).incidents


def get_reports(request: Request) -> ReportCache:
    """The availability report cache."""
    return services(request).reports


def get_live(request: Request) -> LiveFeed:
    """The live channel's feed (server-sent events to every open screen)."""
    return services(request).live


def get_core(request: Request) -> AlertingCore:
    """The alerting core; 503 when this app runs without one."""
    core = services(request).ctx.alerting
    if core is None:
        raise HTTPException(503, "alerting database not available")
    return core


Ctx = Annotated[ApiContext, Depends(get_ctx)]
SecurityDep = Annotated[Security, Depends(get_security)]
PictureDep = Annotated[PictureCache, Depends(get_picture)]
RenderDep = Annotated[Renderer, Depends(get_renderer)]
IncidentsDep = Annotated[Incidents, Depends(get_incidents)]
ReportsDep = Annotated[ReportCache, Depends(get_reports)]
CoreDep = Annotated[AlertingCore, Depends(get_core)]
LiveDep = Annotated[LiveFeed, Depends(get_live)]


def current_principal(
    request: Request,
    security: SecurityDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    sid: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal:
    """The authenticated principal (token or session; a browser write must carry CSRF); 401 otherwise."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    who: Principal | None = None
    if creds is not None:
        who = security.accounts.token_principal(creds.credentials)
        if who is None:
            raise HTTPException(
                401,
                "API token không hợp lệ hoặc đã bị thu hồi (invalid or revoked token)",
                headers={"WWW-Authenticate": "Bearer"},
            )
    elif sid:
        who = security.accounts.session_principal(sid)
        if who is not None and request.method not in SAFE_METHODS:
            check_csrf(request, request.headers.get(CSRF_HEADER))
    if who is None:
        raise HTTPException(401, "cần đăng nhập (login required)", headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = who
    return who


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _requiring(permission: Permission) -> Callable[[Principal], Principal]:
    """A dependency that requires ``permission`` of the authenticated principal (403 otherwise)."""

    def dependency(who: CurrentPrincipal) -> Principal:
        if not who.can(permission):
            raise HTTPException(
                403,
                f"không đủ quyền: cần quyền '{permission.value}' (permission '{permission.value}' required)",
            )
        return who

    dependency.__name__ = f"require_{permission.value}"
    return dependency


Reader = Annotated[Principal, Depends(_requiring(Permission.READ))]
Acker = Annotated[Principal, Depends(_requiring(Permission.ACK))]
Planner = Annotated[Principal, Depends(_requiring(Permission.MAINTENANCE))]
Coordinator = Annotated[Principal, Depends(_requiring(Permission.TYPHOON))]
Admin = Annotated[Principal, Depends(_requiring(Permission.ADMIN))]


def session_principal(request: Request, security: SecurityDep) -> Principal | None:
    """The principal of the browser session cookie, or None (pages: the login form, logout)."""
    sid = request.cookies.get(SESSION_COOKIE)
    return security.accounts.session_principal(sid) if sid else None


SessionPrincipal = Annotated[Principal | None, Depends(session_principal)]


def _page_requiring(permission: Permission) -> Callable[[Principal | None], Principal]:
    """A page dependency: 401 (→ the login form) without a session, 403 without ``permission``."""

    def dependency(who: SessionPrincipal) -> Principal:
        if who is None:
            raise HTTPException(401, "cần đăng nhập")
        if not who.can(permission):
            raise HTTPException(403, "không đủ quyền (permission required)")
        return who

    dependency.__name__ = f"page_require_{permission.value}"
    return dependency


PageReader = Annotated[Principal, Depends(_page_requiring(Permission.READ))]
PageAcker = Annotated[Principal, Depends(_page_requiring(Permission.ACK))]
PagePlanner = Annotated[Principal, Depends(_page_requiring(Permission.MAINTENANCE))]
PageAdmin = Annotated[Principal, Depends(_page_requiring(Permission.ADMIN))]


Period = Literal["day", "week", "month"]  # reports.report.PERIODS
GroupBy = Literal["commune", "site", "device", "operator", "role", "province"]  # AvailabilityReport.groups


@dataclass(frozen=True)
class ReportWindow:
    """The period a report request asks for, and its [start, end) in epoch seconds (end clipped to now)."""

    period: Period
    date: str | None
    start: int
    end: int


def report_window(
    ctx: Ctx,
    period: Period = "month",
    date: Annotated[str | None, Query(description="ngày trong kỳ, YYYY-MM-DD (giờ địa phương)")] = None,
    start: Epoch = None,
    end: Epoch = None,
) -> ReportWindow:
    """The shared report parameters: a local day/week/month (``date``), or a custom [start, end); 422 on
    bad input."""
    lo, hi = period_of(ctx, period, date, start, end)
    return ReportWindow(period, date, lo, hi)


Window = Annotated[ReportWindow, Depends(report_window)]
