"""``trucban user …``: the first admin and other accounts from the command line (no default password).

Results (the account made, the list) go to stdout; prompts and errors to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from api.auth.accounts import AccountError, AccountStore
from api.auth.audit import AuditLog
from api.auth.passwords import WeakPassword
from api.auth.roles import Role
from trucban.output import emit, emit_json, fail

user_app = typer.Typer(help="Tài khoản người dùng (accounts).", no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="settings YAML file")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]


def _store(config: Path | None) -> tuple[AccountStore, AuditLog]:
    from alerting.db import database_url, open_database
    from trucban.settings import load_settings
    from trucban.web import server_key

    settings = load_settings(config)
    engine = open_database(database_url(settings.database_url or settings.alerting_db))
    return AccountStore(engine, server_key(settings)), AuditLog(engine)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = typer.prompt("Mật khẩu (password)", hide_input=True)
    again = typer.prompt("Nhập lại (again)", hide_input=True)
    if first != again:
        fail("hai lần nhập không khớp (passwords differ)")
    return str(first)


def _create(config: Path | None, username: str, role: Role, communes: list[str], stdin: bool) -> None:
    accounts, audit = _store(config)
    try:
        user = accounts.create_user(username, _password(stdin), role, communes=communes)
    except (AccountError, WeakPassword) as exc:
        fail(str(exc))
    audit.record("cli", "user.create", f"user:{user.username}", {"role": role.value, "communes": communes})
    emit(f"OK: {user.username} ({role.value})")


@user_app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Argument(help="tên đăng nhập")] = "admin",
    config: ConfigOpt = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
) -> None:
    """Create an admin account; the password is asked for (or read from stdin), never defaulted."""
    _create(config, username, Role.ADMIN, [], password_stdin)


@user_app.command("create")
def create_user(
    username: str,
    role: Annotated[str, typer.Option(help="admin | operator | coordinator | viewer")],
    communes: Annotated[str, typer.Option(help="viewer: commune codes, comma-separated")] = "",
    config: ConfigOpt = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
) -> None:
    """Create an account of any role."""
    try:
        chosen = Role(role)
    except ValueError:
        fail(f"vai trò {role!r} không tồn tại; dùng {', '.join(r.value for r in Role)}")
    _create(config, username, chosen, [c for c in communes.replace(",", " ").split() if c], password_stdin)


@user_app.command("list")
def list_users(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List accounts (never passwords), tab-separated or as JSON."""
    accounts, _ = _store(config)
    users = accounts.list_users()
    if as_json:
        emit_json([{"username": u.username, "role": u.role.value, "communes": list(u.communes),
                    "disabled": bool(u.disabled)} for u in users])
        return
    for u in users:
        state = " (disabled)" if u.disabled else ""
        emit(f"{u.username}\t{u.role.value}\t{','.join(u.communes)}{state}")
