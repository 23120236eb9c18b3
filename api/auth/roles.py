"""Roles, permissions and the authenticated principal a request acts as."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Who a person is to Trucban."""

    ADMIN = "admin"
    OPERATOR = "operator"  # NOC: acknowledge, maintenance
    COORDINATOR = "coordinator"  # emergency coordinator: read all, declare typhoon mode
    VIEWER = "viewer"  # command-post viewer: read its own commune(s)


class Permission(StrEnum):
    """What an action needs; API tokens carry a subset of these as scopes."""

    READ = "read"
    ACK = "ack"
    MAINTENANCE = "maintenance"
    TYPHOON = "typhoon"
    ADMIN = "admin"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset({Permission.READ, Permission.ACK, Permission.MAINTENANCE}),
    Role.COORDINATOR: frozenset({Permission.READ, Permission.TYPHOON}),
    Role.VIEWER: frozenset({Permission.READ}),
}
ROLE_VI = {
    Role.ADMIN: "Quản trị",
    Role.OPERATOR: "Điều hành NOC",
    Role.COORDINATOR: "Điều phối ứng cứu",
    Role.VIEWER: "Sở chỉ huy xã (chỉ xem)",
}
TOKEN_SCOPES = tuple(p.value for p in Permission if p is not Permission.ADMIN)


@dataclass(frozen=True, slots=True)
class Principal:
    """The person or machine behind a request.

    ``communes`` None means every commune; a set limits what it may see.
    """

    name: str
    kind: str  # "user" | "token"
    role: Role | None
    permissions: frozenset[Permission]
    communes: frozenset[str] | None = None
    user_id: int | None = None
    token_id: int | None = None

    def can(self, permission: Permission) -> bool:
        """Whether the principal holds ``permission``."""
        return permission in self.permissions

    def sees(self, commune: str | None) -> bool:
        """Whether a commune (None: city-level, not a commune's) is within scope."""
        if self.communes is None:
            return True
        return commune is not None and commune in self.communes

    def visible(self, communes: Iterable[str]) -> list[str]:
        """The subset of ``communes`` within scope, order kept."""
        return [c for c in communes if self.sees(c)]


def user_principal(user_id: int, username: str, role: Role, communes: Iterable[str]) -> Principal:
    """A principal for a logged-in person; only command-post viewers are commune-scoped."""
    scope = frozenset(communes) if role is Role.VIEWER else None
    return Principal(username, "user", role, ROLE_PERMISSIONS[role], scope, user_id=user_id)


def token_principal(
    token_id: int, name: str, scopes: Iterable[str], communes: Iterable[str] | None
) -> Principal:
    """A principal for a machine holding an API token."""
    perms = frozenset(Permission(s) for s in scopes if s in TOKEN_SCOPES)
    scope = None if communes is None else frozenset(communes)
    return Principal(f"token:{name}", "token", None, perms, scope, token_id=token_id)
