"""Login hardening: one normal form of a name, locks per (name, source), X-Forwarded-For only from proxies."""

from __future__ import annotations

import unicodedata
from ipaddress import ip_network

import pytest
from sqlalchemy import create_engine

from alerting.db import metadata
from api.auth import tables  # noqa: F401 - registers the account tables on the metadata
from api.auth.accounts import AccountError, AccountStore
from api.auth.ratelimit import LoginLimiter, normal_name
from api.auth.roles import Role
from api.gate import BodyLimits
from api.guard import forwarded_client
from trucban.web import proxy_networks

GOOD = "Trực-ban-2026-an-toàn"


@pytest.fixture()
def store() -> AccountStore:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    return AccountStore(engine, b"k" * 32)


def test_one_normal_form_of_a_user_name() -> None:
    assert normal_name(" Admin ") == normal_name("admin") == normal_name("ADMIN\t") == "admin"
    composed, decomposed = "Đức", unicodedata.normalize("NFD", "Đức")
    assert composed != decomposed and normal_name(composed) == normal_name(decomposed)
    assert normal_name("Straße") == normal_name("STRASSE")


def test_spaces_and_case_share_the_lock_of_the_name() -> None:
    limiter = LoginLimiter(per_name=5, per_ip=100, window_s=300)
    for variant in ("admin", " admin", "Admin ", "ADMIN", "admin"):
        assert limiter.retry_after(variant, "10.0.0.9", now=100) == 0
        limiter.failed(variant, "10.0.0.9", now=100)
    for variant in ("admin", " admin", "\tAdMiN "):
        assert limiter.retry_after(variant, "10.0.0.9", now=101) > 0


def test_a_stranger_cannot_lock_out_the_duty_officer() -> None:
    limiter = LoginLimiter(per_name=5, per_ip=20, window_s=300)
    for _ in range(5):
        limiter.failed("trucban", "203.0.113.9", now=100)
    assert limiter.retry_after("trucban", "203.0.113.9", now=101) > 0  # the stranger is locked …
    assert limiter.retry_after("trucban", "10.0.0.7", now=101) == 0  # … the officer's desk is not
    limiter.failed("trucban", "10.0.0.7", now=102)
    limiter.succeeded(" TrucBan", "10.0.0.7")
    assert limiter.retry_after("trucban", "203.0.113.9", now=103) > 0  # a good login elsewhere clears nothing
    for name in ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o"):
        limiter.failed(name, "203.0.113.9", now=104)
    assert limiter.retry_after("new-name", "203.0.113.9", now=105) > 0  # the source's own limit holds


def test_authentication_uses_the_same_normal_form(store: AccountStore) -> None:
    store.create_user("TrucBan", GOOD, Role.OPERATOR)
    for variant in ("TrucBan", " trucban", "TRUCBAN ", "trucban"):
        user = store.authenticate(variant, GOOD)
        assert user is not None and user.username == "TrucBan", variant
    assert store.authenticate("trucban", GOOD + "x") is None
    with pytest.raises(AccountError, match="đã tồn tại"):
        store.create_user(" trucban", GOOD, Role.VIEWER, communes=["11311"])


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    proxies = proxy_networks("10.0.0.5, 192.168.1.0/24, fd00::/8")
    assert proxies == (ip_network("10.0.0.5/32"), ip_network("192.168.1.0/24"), ip_network("fd00::/8"))
    # Not from a proxy: the header is the client's own claim, ignored.
    assert forwarded_client("127.0.0.1", ["1.2.3.4"], proxies) == "127.0.0.1"
    assert forwarded_client("203.0.113.9", ["1.2.3.4"], ()) == "203.0.113.9"
    # From a proxy: the rightmost address that is not one of ours.
    assert forwarded_client("10.0.0.5", ["6.6.6.6, 198.51.100.7"], proxies) == "198.51.100.7"
    assert forwarded_client("10.0.0.5", ["6.6.6.6", "198.51.100.7, 192.168.1.20"], proxies) == "198.51.100.7"
    assert forwarded_client("fd00::1", ["2001:db8::7"], proxies) == "2001:db8::7"
    # A malformed hop stops the walk at the last trusted hop; no header: the proxy itself.
    assert forwarded_client("10.0.0.5", ["198.51.100.7, junk"], proxies) == "10.0.0.5"
    assert forwarded_client("10.0.0.5", [], proxies) == "10.0.0.5"


def test_body_limits_per_route() -> None:
    limits = BodyLimits(1000, {"/api/storms": 6000, "/login": 100})
    assert limits.of("/api/storms") == 6000 and limits.of("/api/storms/") == 6000
    assert limits.of("/login") == 100 and limits.of("/api/maintenance") == 1000
