"""Helpers and fixtures for the web tests: accounts on a running service, logged-in clients, tokens."""

from __future__ import annotations

import re

import httpx

from api.auth.accounts import AccountStore
from api.auth.roles import Role
from trucban.service import Service
from trucban.web import server_key

PASSWORD = "Trực-ban-2026-an-toàn"


def accounts_of(service: Service) -> AccountStore:
    """An account store on the service's database with the service's key."""
    return AccountStore(service.alerting.engine, server_key(service.settings))


def ensure_user(
    service: Service, username: str, role: Role, communes: list[str] | None = None, password: str = PASSWORD
) -> None:
    """Create the account unless it exists."""
    store = accounts_of(service)
    if all(u.username != username for u in store.list_users()):
        store.create_user(username, password, role, communes=communes)


def login(url: str, username: str, password: str = PASSWORD) -> httpx.Client:
    """An HTTP client holding a logged-in session (and the CSRF cookie)."""
    client = httpx.Client(base_url=url, timeout=10)
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, "login page has no CSRF field"
    answer = client.post(
        "/login", data={"username": username, "password": password, "csrf": csrf.group(1), "next": "/"}
    )
    assert answer.status_code == 303, f"login of {username} failed: {answer.status_code}"
    return client


def csrf_headers(client: httpx.Client) -> dict[str, str]:
    """The header a logged-in browser sends with writes."""
    return {"X-CSRF-Token": client.cookies.get("tb_csrf") or ""}
