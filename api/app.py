"""FastAPI application: JSON API under /api, the dashboard pages, vendored static assets.

Everything a page shows is also in the JSON API (OpenAPI at /docs). People log
in with a session cookie; machines use scoped, revocable API tokens.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from api.auth.accounts import AccountStore
from api.auth.audit import AuditLog
from api.context import ApiContext, Security
from api.deps import Services
from api.docs import install_docs
from api.errors import install_error_handlers, problem_openapi
from api.gate import FORM_LIMIT, BodyLimits, RequestGate
from api.live import LiveFeed
from api.operations import Incidents
from api.picture import PictureCache
from api.render import Renderer, package_dir
from api.report_access import ReportCache
from api.routes import (
    admin,
    health,
    incidents,
    inventory,
    ioc,
    ipv6,
    live,
    login,
    maps,
    pages,
    reports,
    runbooks,
    series,
    storm,
)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]] | Callable[[FastAPI], AsyncIterator[None]]


def create_app(ctx: ApiContext, lifespan: Lifespan | None = None) -> FastAPI:
    """Build the app around ``ctx``; ``lifespan`` lets the caller run the poller."""
    if ctx.security is None:
        if ctx.alerting is None:
            raise ValueError("the API needs ctx.security or ctx.alerting (for the accounts database)")
        ctx.security = Security(
            AccountStore(ctx.alerting.engine, secrets.token_bytes(32)), AuditLog(ctx.alerting.engine)
        )
    app = FastAPI(
        title="Trucban",
        version="0.2.0",
        lifespan=lifespan,  # type: ignore[arg-type]
        docs_url=None,  # served offline by api.docs.install_docs
        redoc_url=None,
        description="Giám sát mạng truyền số liệu chuyên dùng và trạm BTS cấp xã. "
        "Errors are application/problem+json; lists page with limit/offset "
        "(total in X-Total-Count, next page in Link).",
    )
    picture = PictureCache(ctx, ctx.web.snapshot_ttl_s)
    app.state.services = Services(
        ctx=ctx,
        security=ctx.security,
        picture=picture,
        render=Renderer(ctx),
        incidents=Incidents(ctx, picture),
        reports=ReportCache(ctx),
        live=LiveFeed(ctx, picture),
    )
    app.state.trusted_proxies = ctx.web.trusted_proxies  # read by api.guard.client_ip
    install_error_handlers(app)
    app.add_middleware(GZipMiddleware, minimum_size=800, compresslevel=5)
    # Size and authentication before any body is read (inside the security headers, so its answers get them).
    limits = BodyLimits(
        ctx.web.body_limit,
        {"/api/storms": ctx.web.upload_limit, "/login": FORM_LIMIT, "/logout": FORM_LIMIT},
    )
    app.add_middleware(RequestGate, security=ctx.security, limits=limits)
    _security_headers(app, ctx)
    app.mount("/static", StaticFiles(directory=str(package_dir("static"))), name="static")
    routers = (
        inventory, incidents, series, admin, storm, maps, ipv6, live, runbooks, login, pages, reports, ioc
    )
    for module in routers:
        app.include_router(module.router)
    ioc.document_webhooks(app)
    install_docs(app)  # /docs and /redoc from local assets (no CDN)
    health.install_health(app, ctx)  # latency middleware, metrics registry, the pages' delivery banner
    app.include_router(health.router)  # /healthz, /readyz, /metrics

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes,
                webhooks=app.webhooks.routes,
            )
            app.openapi_schema = problem_openapi(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _security_headers(app: FastAPI, ctx: ApiContext) -> None:
    tiles = ""
    if ctx.web.tile_url:
        parts = urlsplit(ctx.web.tile_url.replace("{s}", "a"))
        tiles = f" {parts.scheme}://{parts.netloc}" if parts.netloc else ""
    policy = (
        f"default-src 'self'; img-src 'self' data:{tiles}; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )

    app.add_middleware(SecurityHeaders, policy=policy, hsts=ctx.web.hsts)


HSTS_MAX_AGE_S = 365 * 86400


class SecurityHeaders:
    """Pure ASGI middleware adding CSP and friends (cheaper than ``BaseHTTPMiddleware``).

    With an https public address, browsers are also told to keep to https (HSTS).
    """

    def __init__(self, app: Any, policy: str, hsts: bool = False) -> None:
        self.app = app
        self.headers = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]
        if hsts:
            self.headers.append((b"strict-transport-security", f"max-age={HSTS_MAX_AGE_S}".encode()))
        self.csp = (b"content-security-policy", policy.encode())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(self.headers)
        if not scope["path"].startswith(("/docs", "/redoc")):
            extra.append(self.csp)

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, sending)
