"""Login throttling over real HTTP: one normal form of the name, locks per (name, source), proxies configured.

Without ``trusted_proxies`` a client's ``X-Forwarded-For`` is ignored (limits and
the audit log see the real peer); with the loopback configured as the proxy,
a stranger's failures lock only the stranger, never the duty officer's desk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from ipaddress import ip_network

import httpx
import pytest

from api.auth.roles import Role
from api.context import WebOptions
from inventory.inventory import Inventory
from tests.functional.api_peers import PASSWORD, LightServer, light_inventory, light_server

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    """A two-commune inventory."""
    return light_inventory(tmp_path_factory.mktemp("login-lab"))


@pytest.fixture()
def direct(inventory: Inventory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LightServer]:
    """Trucban reached directly: no proxy trusted."""
    with light_server(tmp_path_factory.mktemp("direct"), inventory) as srv:
        yield srv


@pytest.fixture()
def proxied(inventory: Inventory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LightServer]:
    """Trucban behind a reverse proxy on the loopback (``trusted_proxies=127.0.0.1``)."""
    web = WebOptions(trusted_proxies=(ip_network("127.0.0.1/32"),))
    with light_server(tmp_path_factory.mktemp("proxied"), inventory, web) as srv:
        yield srv


def try_login(srv: LightServer, username: str, password: str, forwarded_for: str | None = None) -> int:
    """One login through the form (fresh browser, CSRF included); the status code."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with httpx.Client(base_url=srv.url, headers=headers, timeout=10) as browser:
        form = browser.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf, "login page has no CSRF field"
        answer = browser.post("/login", data={"username": username, "password": password,
                                              "csrf": csrf.group(1), "next": "/"})
        return answer.status_code


def audit_ips(srv: LightServer, action: str) -> list[str]:
    """Source addresses the audit log recorded for ``action``."""
    entries, _ = srv.security.audit.list(action=action, limit=1000)
    return [e.ip for e in entries]


def test_spaces_and_case_do_not_buy_more_guesses(direct: LightServer) -> None:
    direct.security.accounts.create_user("admin", PASSWORD, Role.ADMIN)
    for _ in range(5):
        assert try_login(direct, "admin", "sai-mat-khau-1234") == 401
    for variant in (" admin", "Admin", "ADMIN "):
        assert try_login(direct, variant, PASSWORD) == 429, variant  # locked: same name, same source


def test_names_log_in_in_any_case_and_spacing(direct: LightServer) -> None:
    direct.security.accounts.create_user("TrucBan", PASSWORD, Role.OPERATOR)
    assert try_login(direct, " trucban ", PASSWORD) == 303


def test_forwarded_for_from_a_client_is_ignored(direct: LightServer) -> None:
    for n in range(3):
        assert try_login(direct, "khongco", "sai-mat-khau-1234", forwarded_for=f"198.51.100.{n}") == 401
    assert set(audit_ips(direct, "login.failed")) == {"127.0.0.1"}  # the forged address is nowhere


def test_a_stranger_cannot_lock_out_the_duty_officer(proxied: LightServer) -> None:
    proxied.security.accounts.create_user("trucban", PASSWORD, Role.OPERATOR)
    stranger, officer = "203.0.113.9", "10.20.30.40"
    for _ in range(5):
        assert try_login(proxied, "trucban", "sai-mat-khau-1234", forwarded_for=stranger) == 401
    assert try_login(proxied, "trucban", PASSWORD, forwarded_for=stranger) == 429
    assert try_login(proxied, "trucban", PASSWORD, forwarded_for=officer) == 303
    assert audit_ips(proxied, "login") == [officer]
    assert set(audit_ips(proxied, "login.failed")) == {stranger}
