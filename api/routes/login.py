"""Login, logout and the language switch (pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api import i18n
from api.auth.accounts import SESSION_TTL_S
from api.auth.roles import Role
from api.deps import Ctx, RenderDep, SecurityDep, SessionPrincipal
from api.guard import SESSION_COOKIE, check_csrf, client_ip
from api.render import lang_of


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths may be a redirect target."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_form(request: Request, render: RenderDep, next: str = "/") -> Response:  # noqa: A002 - query name
    """The login page."""
    return render.page(request, "login.html", None, next=safe_next(next), error=None)


@router.post("/login")
def login(
    request: Request,
    ctx: Ctx,
    sec: SecurityDep,
    render: RenderDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",  # noqa: A002 - the form field's name
) -> Response:
    """Check the password (rate-limited, audited) and open a session."""
    check_csrf(request, csrf)
    ip, lang = client_ip(request), lang_of(request)
    wait = sec.limiter.retry_after(username, ip)
    if wait:
        sec.audit.record(username[:100], "login.blocked", "", {}, ip)
        return render.page(
            request,
            "login.html",
            None,
            status_code=429,
            next=safe_next(next),
            error=i18n.text("too_many", lang, s=wait),
        )
    user = sec.accounts.authenticate(username, password)
    if user is None:
        sec.limiter.failed(username, ip)
        sec.audit.record(username[:100], "login.failed", "", {}, ip)
        return render.page(
            request,
            "login.html",
            None,
            status_code=401,
            next=safe_next(next),
            error=i18n.text("bad_login", lang),
        )
    sec.limiter.succeeded(username, ip)
    sid = sec.accounts.open_session(user, ip)
    sec.audit.record(user.username, "login", f"user:{user.username}", {}, ip)
    home = "/coordinator" if user.role in (Role.COORDINATOR, Role.VIEWER) else "/"
    response = RedirectResponse(safe_next(next if next != "/" else home), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="lax",
        secure=ctx.web.secure_cookies,
        path="/",
    )
    return response


@router.post("/logout")
def logout(
    request: Request, sec: SecurityDep, who: SessionPrincipal, csrf: Annotated[str, Form()] = ""
) -> Response:
    """End the session (audited)."""
    check_csrf(request, csrf)
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        sec.accounts.close_session(sid)
    if who is not None:
        sec.audit.record(who.name, "logout", f"user:{who.name}", {}, client_ip(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def switch_language(code: str, next: str = "/") -> Response:  # noqa: A002
    """Switch the page language (vi or en) and go back."""
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        i18n.LANG_COOKIE,
        code if code in i18n.LANGS else "vi",
        max_age=365 * 86400,
        samesite="lax",
        path="/",
    )
    return response
