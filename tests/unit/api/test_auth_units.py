"""Accounts, roles, passwords, tokens, rate limiting and the audit log on an in-memory database."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from alerting.db import metadata
from api.auth import tables  # noqa: F401 - registers the account tables on the metadata
from api.auth.accounts import AccountError, AccountStore
from api.auth.audit import AuditLog
from api.auth.passwords import WeakPassword, hash_password, verify_password
from api.auth.ratelimit import LoginLimiter
from api.auth.roles import Permission, Role, token_principal, user_principal

GOOD = "Trực-ban-2026-an-toàn"


@pytest.fixture()
def store() -> AccountStore:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    return AccountStore(engine, b"k" * 32)


def test_passwords_are_argon2_and_verified() -> None:
    stored = hash_password(GOOD)
    assert stored.startswith("$argon2id$") and GOOD not in stored
    assert verify_password(stored, GOOD)
    assert not verify_password(stored, GOOD + "x")
    assert not verify_password(None, GOOD)


def test_weak_passwords_and_bad_roles_are_refused(store: AccountStore) -> None:
    with pytest.raises(WeakPassword):
        store.create_user("a", "short", Role.ADMIN)
    with pytest.raises(WeakPassword):
        store.create_user("nguyenvana", "nguyenvana-123", Role.ADMIN)
    with pytest.raises(AccountError, match="vai trò"):
        store.create_user("a", GOOD, "god")
    with pytest.raises(AccountError, match="xã"):
        store.create_user("cp", GOOD, Role.VIEWER)


def test_login_session_and_disable(store: AccountStore) -> None:
    user = store.create_user("op", GOOD, Role.OPERATOR)
    with pytest.raises(AccountError, match="tồn tại"):
        store.create_user("op", GOOD, Role.OPERATOR)
    assert store.authenticate("op", "wrong-password") is None
    assert store.authenticate("nobody", GOOD) is None
    assert store.authenticate("op", GOOD) == user
    sid = store.open_session(user)
    who = store.session_principal(sid)
    assert who is not None and who.can(Permission.ACK) and not who.can(Permission.ADMIN)
    store.set_disabled(user.id, True)
    assert store.session_principal(sid) is None
    assert store.authenticate("op", GOOD) is None


def test_tokens_scoped_revocable_and_stored_as_digests(store: AccountStore) -> None:
    token, secret = store.create_token("ioc", ["read"], created_by="admin", communes=["11311"])
    who = store.token_principal(secret)
    assert (
        who is not None
        and who.permissions == {Permission.READ}
        and who.sees("11311")
        and not who.sees("11320")
    )
    with store.engine.connect() as conn:
        assert secret not in str(conn.execute(tables.api_tokens.select()).all())
    store.revoke_token(token.id)
    assert store.token_principal(secret) is None
    assert store.token_principal("tbk_unknown") is None
    with pytest.raises(AccountError):
        store.create_token("x", ["admin"], created_by="admin")


def test_roles_and_scopes() -> None:
    viewer = user_principal(1, "cp", Role.VIEWER, ["11311"])
    assert viewer.sees("11311") and not viewer.sees("11320") and not viewer.sees(None)
    assert not viewer.can(Permission.ACK)
    coordinator = user_principal(2, "c", Role.COORDINATOR, ["11311"])
    assert coordinator.communes is None and coordinator.can(Permission.TYPHOON)
    machine = token_principal(1, "m", ["read", "admin"], None)
    assert machine.permissions == {Permission.READ}


def test_login_limiter_blocks_then_forgets() -> None:
    limiter = LoginLimiter(per_name=3, per_ip=5, window_s=60)
    for _ in range(3):
        assert limiter.retry_after("op", "1.2.3.4", now=100) == 0
        limiter.failed("op", "1.2.3.4", now=100)
    assert limiter.retry_after("op", "1.2.3.4", now=101) > 0
    assert limiter.retry_after("other", "5.6.7.8", now=101) == 0
    assert limiter.retry_after("op", "1.2.3.4", now=161) == 0


def test_audit_log_pages_newest_first(store: AccountStore) -> None:
    audit = AuditLog(store.engine)
    for n in range(3):
        audit.record("op", "incident.ack", f"incident:{n}", {"comment": "ok"}, "127.0.0.1", now=1000 + n)
    entries, total = audit.list(limit=2)
    assert total == 3 and [e.target for e in entries] == ["incident:2", "incident:1"]
