"""Limits before work: request size and authentication are checked before any body is read.

A pure ASGI middleware (it never buffers a body):

* the route's size limit is checked against ``Content-Length`` up front, and a
  body without one (chunked) is counted as it streams; past the limit the
  request ends with 413 and the rest is never read;
* a write (POST/PUT/PATCH/DELETE) to anything but the public login/logout
  forms needs a valid bearer token or session cookie *before* its body is read:
  an anonymous caller gets 401 (pages: a redirect to the login form) and the
  server reads nothing more.

Permissions, CSRF and scope stay with the routes (:mod:`api.guard`); this only
makes sure nobody unauthenticated can make the server read, parse or spool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import quote

import anyio.to_thread
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp as App
from starlette.types import Message, Receive, Scope, Send

from api.auth.roles import Principal
from api.context import Security
from api.errors import problem_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_WRITES = frozenset({"/login", "/logout"})  # anonymous forms (CSRF-checked by their routes)
CLOSE = {"Connection": "close"}  # the unread body must not be taken for the next request
FORM_LIMIT = 8 * 1024  # login/logout: a name, a password, a CSRF token and a path


def too_large_detail(limit: int) -> str:
    """What a 413 says (Vietnamese first)."""
    return f"nội dung yêu cầu quá lớn (tối đa {limit} byte) (request body larger than {limit} bytes)"


@dataclass(frozen=True)
class BodyLimits:
    """Largest request body in bytes: ``default``, or per exact path in ``routes``."""

    default: int = 64 * 1024
    routes: Mapping[str, int] = field(default_factory=dict)

    def of(self, path: str) -> int:
        """The limit for ``path``."""
        return self.routes.get(path.rstrip("/") or "/", self.default)


class RequestGate:
    """Pure ASGI middleware enforcing :class:`BodyLimits` and authentication before the body."""

    def __init__(
        self, app: App, security: Security, limits: BodyLimits, public: frozenset[str] = PUBLIC_WRITES
    ) -> None:
        self.app, self.security, self.limits, self.public = app, security, limits, public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.limits.of(path)
        length = _content_length(scope)
        if length is not None and length < 0:
            await _refuse(scope, receive, send, 400, "Content-Length không hợp lệ (invalid Content-Length)")
            return
        if length is not None and length > limit:
            await _refuse(scope, receive, send, 413, too_large_detail(limit))
            return
        protected = scope["method"] in WRITE_METHODS and (path.rstrip("/") or "/") not in self.public
        if protected and await self._principal(scope) is None:
            await _refuse(scope, receive, send, 401, "cần đăng nhập (login required)")
            return
        await self.app(scope, _counted(receive, limit), send)

    async def _principal(self, scope: Scope) -> Principal | None:
        """Who the credentials belong to (bearer token first, else the session cookie); no body read."""
        token, sid = _credentials(scope)
        accounts = self.security.accounts
        if token is not None:
            return await anyio.to_thread.run_sync(accounts.token_principal, token)
        if sid:
            return await anyio.to_thread.run_sync(accounts.session_principal, sid)
        return None


def _content_length(scope: Scope) -> int | None:
    """The declared length, None when absent, -1 when malformed."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) <= 18 else -1
    return None


def _credentials(scope: Scope) -> tuple[str | None, str | None]:
    """(bearer token, session id) from the request headers."""
    from api.guard import SESSION_COOKIE

    token: str | None = None
    sid: str | None = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                token = credential.strip()
        elif name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header is just no session
                continue
            if SESSION_COOKIE in jar:
                sid = jar[SESSION_COOKIE].value
    return token, sid


def _counted(receive: Receive, limit: int) -> Receive:
    """``receive`` that ends the request with 413 once more than ``limit`` body bytes arrived."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        if seen > limit:
            raise StarletteHTTPException(413, too_large_detail(limit), headers=CLOSE)
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise StarletteHTTPException(413, too_large_detail(limit), headers=CLOSE)
        return message

    return counted


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    """Answer without reading the body: problem+json for the API; pages go to the login form on 401."""
    path: str = scope["path"]
    headers = dict(CLOSE)
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 401 and not (path == "/api" or path.startswith("/api/")):
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        await RedirectResponse(f"/login?next={quote(target)}", 303, headers=CLOSE)(scope, receive, send)
        return
    await problem_response(status, detail, headers=headers)(scope, receive, send)
