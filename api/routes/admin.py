"""JSON API for admins: accounts, API tokens, the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response

from api.auth.accounts import AccountError, ApiToken, User
from api.auth.passwords import WeakPassword
from api.auth.roles import Principal
from api.auth.schemas import AuditOut, TokenCreatedOut, TokenIn, TokenOut, UserIn, UserOut
from api.context import Security
from api.deps import Admin, Ctx, SecurityDep
from api.errors import responses
from api.guard import client_ip
from api.paging import Limit, Offset, RowId, page, set_headers
from api.views import local_text, utc_iso


def user_out(u: User) -> UserOut:
    """An account for the API."""
    return UserOut(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        role=u.role.value,
        communes=list(u.communes),
        disabled=u.disabled,
    )


def token_out(t: ApiToken) -> TokenOut:
    """A token's record for the API (never the secret)."""
    return TokenOut(
        id=t.id,
        name=t.name,
        prefix=t.prefix,
        scopes=list(t.scopes),
        communes=None if t.communes is None else list(t.communes),
        created_by=t.created_by,
        created_utc=utc_iso(t.created_at),
        last_used_utc=utc_iso(t.last_used_at) if t.last_used_at else None,
        revoked_utc=utc_iso(t.revoked_at) if t.revoked_at else None,
    )


router = APIRouter(prefix="/api", responses=responses(401, 403, 422))


def check_communes(ctx: Ctx, codes: list[str] | None) -> None:
    """422 naming the codes that are not watched communes."""
    unknown = sorted(set(codes or ()) - set(ctx.inventory.devices_by_commune))
    if unknown:
        raise HTTPException(422, f"xã không được giám sát: {', '.join(unknown)} (unknown communes)")


@router.get("/users", response_model=list[UserOut], tags=["accounts"])
def list_users(
    request: Request, response: Response, who: Admin, sec: SecurityDep, limit: Limit = 100, offset: Offset = 0
) -> list[UserOut]:
    """Every account."""
    return page(request, response, [user_out(u) for u in sec.accounts.list_users()], limit, offset)


@router.post("/users", response_model=UserOut, status_code=201, tags=["accounts"], responses=responses(409))
def create_user(body: UserIn, request: Request, who: Admin, ctx: Ctx, sec: SecurityDep) -> UserOut:
    """Create an account (audited; the password is never stored or logged in clear)."""
    check_communes(ctx, body.communes)
    try:
        user = sec.accounts.create_user(
            body.username,
            body.password,
            body.role,
            display_name=body.display_name,
            communes=body.communes,
        )
    except AccountError as exc:
        raise HTTPException(409 if "tồn tại" in str(exc) else 422, str(exc)) from None
    except WeakPassword as exc:
        raise HTTPException(422, str(exc)) from None
    sec.audit.record(
        who.name,
        "user.create",
        f"user:{user.username}",
        {"role": user.role.value, "communes": list(user.communes)},
        client_ip(request),
    )
    return user_out(user)


@router.post("/users/{user_id}/disable", response_model=UserOut, tags=["accounts"], responses=responses(404))
def disable_user(user_id: RowId, request: Request, who: Admin, sec: SecurityDep) -> UserOut:
    """Disable an account and end its sessions (audited)."""
    return _set_disabled(sec, user_id, True, who, request)


@router.post("/users/{user_id}/enable", response_model=UserOut, tags=["accounts"], responses=responses(404))
def enable_user(user_id: RowId, request: Request, who: Admin, sec: SecurityDep) -> UserOut:
    """Enable an account again (audited)."""
    return _set_disabled(sec, user_id, False, who, request)


def _set_disabled(sec: Security, user_id: int, disabled: bool, who: Principal, request: Request) -> UserOut:
    if who.user_id == user_id and disabled:
        raise HTTPException(422, "không thể tự khoá tài khoản của mình (cannot disable yourself)")
    try:
        user = sec.accounts.set_disabled(user_id, disabled)
    except (LookupError, OverflowError):
        raise HTTPException(404, f"tài khoản #{user_id} không tồn tại (no such user)") from None
    sec.audit.record(
        who.name,
        "user.disable" if disabled else "user.enable",
        f"user:{user.username}",
        {},
        client_ip(request),
    )
    return user_out(user)


@router.get("/tokens", response_model=list[TokenOut], tags=["accounts"])
def list_tokens(
    request: Request, response: Response, who: Admin, sec: SecurityDep, limit: Limit = 100, offset: Offset = 0
) -> list[TokenOut]:
    """Every API token (never the secrets)."""
    return page(request, response, [token_out(t) for t in sec.accounts.list_tokens()], limit, offset)


@router.post("/tokens", response_model=TokenCreatedOut, status_code=201, tags=["accounts"])
def create_token(
    body: TokenIn, request: Request, who: Admin, ctx: Ctx, sec: SecurityDep
) -> TokenCreatedOut:
    """Create a scoped token for a machine; the secret is in this answer only (audited)."""
    check_communes(ctx, body.communes)
    try:
        token, secret = sec.accounts.create_token(
            body.name,
            list(body.scopes),
            created_by=who.name,
            communes=body.communes,
            expires_at=body.expires_at,
        )
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    sec.audit.record(
        who.name,
        "token.create",
        f"token:{token.id}",
        {"name": token.name, "scopes": list(token.scopes), "communes": body.communes},
        client_ip(request),
    )
    return TokenCreatedOut(**token_out(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut, tags=["accounts"], responses=responses(404))
def revoke_token(token_id: RowId, request: Request, who: Admin, sec: SecurityDep) -> TokenOut:
    """Revoke a token at once (audited)."""
    try:
        token = sec.accounts.revoke_token(token_id)
    except (LookupError, OverflowError):
        raise HTTPException(404, f"token #{token_id} không tồn tại (no such token)") from None
    sec.audit.record(who.name, "token.revoke", f"token:{token_id}", {"name": token.name}, client_ip(request))
    return token_out(token)


@router.get("/audit", response_model=list[AuditOut], tags=["accounts"])
def audit_log(
    request: Request,
    response: Response,
    who: Admin,
    ctx: Ctx,
    sec: SecurityDep,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AuditOut]:
    """Who did what, when — newest first."""
    entries, total = sec.audit.list(actor=actor, action=action, limit=limit, offset=offset)
    set_headers(request, response, total, limit, offset)
    return [
        AuditOut(
            id=e.id,
            ts_utc=utc_iso(e.ts),
            ts_local=local_text(e.ts, ctx.timezone),
            actor=e.actor,
            action=e.action,
            target=e.target,
            details=e.details,
            ip=e.ip,
        )
        for e in entries
    ]

