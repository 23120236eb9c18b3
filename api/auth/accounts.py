"""Users, web sessions and API tokens in the alerting database (SQLAlchemy Core).

Lookups by session id or token hit a tiny in-process cache for a few seconds,
so a busy dashboard does not query the database on every request; revoking
clears the cache at once in this process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from api.auth.passwords import check_strength, hash_password, verify_password
from api.auth.ratelimit import normal_name
from api.auth.roles import TOKEN_SCOPES, Principal, Role, token_principal, user_principal
from api.auth.secrets import TOKEN_PREFIX, digest, new_secret
from api.auth.tables import api_tokens, sessions, users

SESSION_TTL_S = 12 * 3600
CACHE_TTL_S = 5.0


class AccountError(ValueError):
    """A request about accounts cannot be done (duplicate name, unknown role, …)."""


@dataclass(frozen=True, slots=True)
class User:
    """A person's account (never carries the password hash outward)."""

    id: int
    username: str
    display_name: str
    role: Role
    communes: tuple[str, ...]
    disabled: bool
    created_at: int


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token's record; the secret itself is only shown once, at creation."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    communes: tuple[str, ...] | None
    created_by: str
    created_at: int
    expires_at: int | None
    last_used_at: int | None
    revoked_at: int | None


class AccountStore:
    """Accounts, sessions and tokens; ``key`` keys the digests of session ids and tokens."""

    def __init__(self, engine: Engine, key: bytes) -> None:
        self.engine = engine
        self._key = key
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    # ---- users -------------------------------------------------------------------------------
    def create_user(
        self,
        username: str,
        password: str,
        role: Role | str,
        *,
        display_name: str = "",
        communes: list[str] | None = None,
        now: int | None = None,
    ) -> User:
        """Add a person; viewers must name their communes; weak passwords are refused."""
        role = _role(role)
        username = username.strip()
        if not username or len(username) > 100:
            raise AccountError("tên đăng nhập không hợp lệ (username must be 1-100 characters)")
        check_strength(password, username)
        if role is Role.VIEWER and not communes:
            raise AccountError("tài khoản sở chỉ huy xã cần ít nhất một xã (a viewer needs communes)")
        if any(normal_name(u.username) == normal_name(username) for u in self.list_users()):
            raise AccountError(f"tên đăng nhập {username!r} đã tồn tại (username taken)")
        now = now or int(time.time())
        values = dict(
            username=username,
            display_name=display_name or username,
            password_hash=hash_password(password),
            role=role.value,
            communes=list(communes or []),
            disabled=0,
            created_at=now,
            updated_at=now,
        )
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(insert(users).values(**values)).inserted_primary_key[0]  # type: ignore[index]
        except IntegrityError:
            raise AccountError(f"tên đăng nhập {username!r} đã tồn tại (username taken)") from None
        return self.get_user(int(new_id))

    def get_user(self, user_id: int) -> User:
        """One account by id."""
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise LookupError(f"user {user_id} does not exist")
        return _user(row)

    def list_users(self) -> list[User]:
        """Every account, by username."""
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]

    def set_disabled(self, user_id: int, disabled: bool, now: int | None = None) -> User:
        """Disable (and log out everywhere) or re-enable an account."""
        now = now or int(time.time())
        with self.engine.begin() as conn:
            done = conn.execute(
                update(users).where(users.c.id == user_id).values(disabled=int(disabled), updated_at=now)
            ).rowcount
            if disabled:
                conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
        if not done:
            raise LookupError(f"user {user_id} does not exist")
        self._cache.clear()
        return self.get_user(user_id)

    def authenticate(self, username: str, password: str) -> User | None:
        """The enabled user whose password matches, else None (same work either way).

        The name is matched in its normal form (:func:`normal_name`: trimmed, case
        folded), the same form the login limiter counts.
        """
        wanted = normal_name(username)
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username.strip())).first()
            if row is None:  # the table is small: people, not devices
                everyone = conn.execute(select(users))
                row = next((r for r in everyone if normal_name(r.username) == wanted), None)
        ok = verify_password(row.password_hash if row is not None else None, password)
        if row is None or not ok or row.disabled:
            return None
        return _user(row)

    # ---- sessions ----------------------------------------------------------------------------
    def open_session(self, user: User, ip: str = "", now: int | None = None) -> str:
        """A new session id for the cookie (only its digest is stored)."""
        now = now or int(time.time())
        sid = new_secret()
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at < now))
            conn.execute(
                insert(sessions).values(
                    id_hash=digest(self._key, sid),
                    user_id=user.id,
                    created_at=now,
                    expires_at=now + SESSION_TTL_S,
                    ip=ip,
                )
            )
        return sid

    def close_session(self, sid: str) -> None:
        """Log out: forget the session."""
        h = digest(self._key, sid)
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.id_hash == h))
        self._cache.pop("s:" + h, None)

    def session_principal(self, sid: str, now: float | None = None) -> Principal | None:
        """Who a session cookie belongs to, or None when unknown/expired/disabled."""
        h = digest(self._key, sid)
        now = now or time.time()
        return self._cached("s:" + h, now, lambda: self._load_session(h, int(now)))

    def _load_session(self, h: str, now: int) -> Principal | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users, sessions.c.expires_at)
                .join(sessions, sessions.c.user_id == users.c.id)
                .where(sessions.c.id_hash == h)
            ).first()
        if row is None or row.expires_at < now or row.disabled:
            return None
        return user_principal(row.id, row.username, Role(row.role), row.communes or [])

    # ---- API tokens --------------------------------------------------------------------------
    def create_token(
        self,
        name: str,
        scopes: list[str],
        *,
        created_by: str,
        communes: list[str] | None = None,
        expires_at: int | None = None,
        now: int | None = None,
    ) -> tuple[ApiToken, str]:
        """A new token; returns its record and the secret (shown once, stored only as a digest)."""
        bad = [s for s in scopes if s not in TOKEN_SCOPES]
        if bad or not scopes:
            raise AccountError(f"phạm vi không hợp lệ {bad or scopes!r}; dùng {', '.join(TOKEN_SCOPES)}")
        if not name.strip():
            raise AccountError("token cần một tên (a token needs a name)")
        now = now or int(time.time())
        secret = TOKEN_PREFIX + new_secret()
        values = dict(
            name=name.strip(),
            token_hash=digest(self._key, secret),
            prefix=secret[:10],
            scopes=sorted(set(scopes)),
            communes=None if communes is None else list(communes),
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
        )
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(api_tokens).values(**values)).inserted_primary_key[0]  # type: ignore[index]
        return self.get_token(int(new_id)), secret

    def get_token(self, token_id: int) -> ApiToken:
        """One token's record."""
        with self.engine.connect() as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        if row is None:
            raise LookupError(f"token {token_id} does not exist")
        return _token(row)

    def list_tokens(self) -> list[ApiToken]:
        """Every token, newest first."""
        with self.engine.connect() as conn:
            return [_token(r) for r in conn.execute(select(api_tokens).order_by(api_tokens.c.id.desc()))]

    def revoke_token(self, token_id: int, now: int | None = None) -> ApiToken:
        """Revoke a token at once (this process's cache is cleared too)."""
        now = now or int(time.time())
        with self.engine.begin() as conn:
            done = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id)
                .where(api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount
        token = self.get_token(token_id)
        if not done and token.revoked_at is None:
            raise LookupError(f"token {token_id} does not exist")
        self._cache.clear()
        return token

    def token_principal(self, secret: str, now: float | None = None) -> Principal | None:
        """Who a bearer token belongs to, or None when unknown/revoked/expired."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        h = digest(self._key, secret)
        now = now or time.time()
        return self._cached("t:" + h, now, lambda: self._load_token(h, int(now)))

    def _load_token(self, h: str, now: int) -> Principal | None:
        with self.engine.begin() as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == h)).first()
            if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
                return None
            conn.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=now))
        return token_principal(row.id, row.name, row.scopes or [], row.communes)

    def _cached(self, key: str, now: float, load: Any) -> Principal | None:
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < CACHE_TTL_S:
            return hit[1]
        value = load()
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now, value)
        return value


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(
            f"vai trò {role!r} không tồn tại; dùng {', '.join(r.value for r in Role)}"
        ) from None


def _user(r: Any) -> User:
    return User(
        r.id,
        r.username,
        r.display_name,
        Role(r.role),
        tuple(r.communes or ()),
        bool(r.disabled),
        r.created_at,
    )


def _token(r: Any) -> ApiToken:
    return ApiToken(
        r.id,
        r.name,
        r.prefix,
        tuple(r.scopes or ()),
        None if r.communes is None else tuple(r.communes),
        r.created_by,
        r.created_at,
        r.expires_at,
        r.last_used_at,
        r.revoked_at,
    )
