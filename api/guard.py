"""Credentials, CSRF, the client's address and commune scope (the dependencies are in :mod:`api.deps`).

Machines send ``Authorization: Bearer tbk_…``; browsers carry the HttpOnly
``tb_session`` cookie, and every state-changing request from a browser must
repeat the ``tb_csrf`` cookie in the ``X-CSRF-Token`` header or a ``csrf`` form field.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from fastapi import HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPBearer

from api.auth.roles import Principal
from api.auth.secrets import same

SESSION_COOKIE = "tb_session"
CSRF_COOKIE = "tb_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

bearer_scheme = HTTPBearer(auto_error=False, description="API token (``tbk_…``), created by an admin")
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="browser session")


def check_csrf(request: Request, sent: str | None) -> None:
    """403 unless ``sent`` equals the browser's CSRF cookie."""
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not sent or not same(expected, sent):
        raise HTTPException(403, "phiên biểu mẫu không hợp lệ, hãy tải lại trang (CSRF check failed)")


def client_ip(request: Request) -> str:
    """The client's address: the peer, or what a trusted proxy says in ``X-Forwarded-For``.

    Proxies are trusted only when configured (``trusted_proxies``, kept in
    ``app.state.trusted_proxies``); by default no forwarded header is believed.
    """
    peer = request.client.host if request.client else ""
    app = request.scope.get("app")
    trusted = getattr(getattr(app, "state", None), "trusted_proxies", ())
    if not trusted:
        return peer
    return forwarded_client(peer, request.headers.getlist("x-forwarded-for"), trusted)


def forwarded_client(peer: str, forwarded: list[str], trusted: Sequence[IPv4Network | IPv6Network]) -> str:
    """The first address, walking ``X-Forwarded-For`` from the right, that is not a trusted proxy.

    Only a trusted peer's header is read; a malformed entry stops the walk at the
    last trusted hop (a client cannot write past what its proxy appended).
    """

    def is_trusted(address: str) -> bool | None:
        try:
            ip = ip_address(address)
        except ValueError:
            return None
        return any(ip in net for net in trusted)

    if not is_trusted(peer):
        return peer
    hops = [h.strip() for value in forwarded for h in value.split(",") if h.strip()]
    last = peer
    for hop in reversed(hops):
        verdict = is_trusted(hop)
        if verdict is None:
            return last
        if not verdict:
            return str(ip_address(hop))
        last = hop
    return last


def commune_visible(who: Principal, commune: str | None) -> None:
    """403 when a commune is outside the principal's scope."""
    if not who.sees(commune):
        raise HTTPException(403, f"xã {commune} nằm ngoài phạm vi của tài khoản này (outside your communes)")
