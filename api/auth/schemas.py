"""JSON shapes of the accounts API: who am I, users, API tokens and the audit log.

Split from :mod:`api.schemas` (the network's shapes) so each stays one idea.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.auth.roles import Role


class MeOut(BaseModel):
    """Who the caller is."""

    name: str
    kind: str
    role: str | None
    permissions: list[str]
    communes: list[str] | None


class UserIn(BaseModel):
    """A new account."""

    username: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=10, max_length=200)
    role: Role
    display_name: str = Field(default="", max_length=200)
    communes: list[str] = Field(default_factory=list, max_length=500)


class UserOut(BaseModel):
    """An account (never the password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    communes: list[str]
    disabled: bool


class TokenIn(BaseModel):
    """A new API token for a machine."""

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Literal["read", "ack", "maintenance", "typhoon"]] = Field(min_length=1)
    communes: list[str] | None = Field(default=None, max_length=500)
    expires_at: int | None = Field(default=None, ge=0, le=2**40)


class TokenOut(BaseModel):
    """An API token's record (never its secret)."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    communes: list[str] | None
    created_by: str
    created_utc: str
    last_used_utc: str | None
    revoked_utc: str | None


class TokenCreatedOut(TokenOut):
    """A just-created token: ``token`` is shown this once and never again."""

    token: str


class AuditOut(BaseModel):
    """One audited write."""

    id: int
    ts_utc: str
    ts_local: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    ip: str
