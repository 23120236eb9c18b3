"""Server-side rendering helpers: one Jinja environment with language, CSRF token and formatters."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api import i18n
from api.auth.roles import ROLE_VI, Permission, Principal
from api.auth.secrets import new_secret
from api.context import ApiContext
from api.guard import CSRF_COOKIE
from common.timefmt import duration_vi as duration_text


def package_dir(name: str) -> Path:
    """A folder shipped inside the ``api`` package."""
    return Path(str(resources.files("api").joinpath(name)))


def lang_of(request: Request) -> str:
    """The page language from the cookie (Vietnamese by default)."""
    lang = request.cookies.get(i18n.LANG_COOKIE, "vi")
    return lang if lang in i18n.LANGS else "vi"


def csrf_token(request: Request) -> str:
    """The browser's CSRF token (a new one is set as a cookie by :func:`Renderer.page`)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = new_secret(24)
    return token


class Renderer:
    """Renders templates with everything every page needs."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self.templates = Jinja2Templates(directory=str(package_dir("templates")))
        inv = ctx.inventory
        self.province = inv.reference.provinces.get(inv.province, inv.province)

    def page(
        self, request: Request, name: str, who: Principal | None, status_code: int = 200, **values: Any
    ) -> HTMLResponse:
        """Render ``name``; sets the CSRF cookie when the browser has none yet."""
        lang = lang_of(request)
        tz = self.ctx.timezone
        csrf = csrf_token(request)
        context = {
            "lang": lang,
            "csrf": csrf,
            "who": who,
            "province": self.province,
            "web": self.ctx.web,
            "t": lambda key, **kw: i18n.text(key, lang, **kw),
            "num": lambda v, digits=0: i18n.number(v, lang, digits),
            "when": lambda ts: i18n.local_time(ts, tz),
            "tz": tz,
            "duration": duration_text,
            "role_label": lambda r: ROLE_VI.get(r, str(r)) if lang == "vi" else str(r),
            "can": lambda p: who is not None and who.can(Permission(p)),
            **values,
        }
        response = self.templates.TemplateResponse(request, name, context, status_code=status_code)
        if not request.cookies.get(CSRF_COOKIE):
            response.set_cookie(
                CSRF_COOKIE,
                csrf,
                httponly=False,
                samesite="strict",
                secure=self.ctx.web.secure_cookies,
                path="/",
            )
        response.headers["Cache-Control"] = "no-store"
        return response

    def fragment(self, name: str, lang: str, **values: Any) -> str:
        """Render a partial template (no request; cacheable by the caller)."""
        helpers = {
            "t": lambda key, **kw: i18n.text(key, lang, **kw),
            "num": lambda v, digits=0: i18n.number(v, lang, digits),
        }
        return self.templates.get_template(name).render(**helpers, **values)
