"""Build the API's security services and web options from settings (called by trucban.service)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import Engine

from api.auth.accounts import AccountStore
from api.auth.audit import AuditLog
from api.context import Security, WebOptions
from trucban.settings import Settings


def server_key(settings: Settings) -> bytes:
    """The key for session/token digests: the setting, its file, or data_dir/session.key (made once, 0600)."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    path = settings.session_secret_file or Path(settings.data_dir) / "session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    key = path.read_text().strip()
    if len(key) < 16:
        raise ValueError(f"{path}: the session secret must be at least 16 characters")
    return key.encode()


def web_security(settings: Settings, engine: Engine) -> Security:
    """Accounts and audit log on the alerting database."""
    return Security(AccountStore(engine, server_key(settings)), AuditLog(engine))


def web_options(settings: Settings) -> WebOptions:
    """Tiles, cookies and public address from settings."""
    base = settings.public_base_url
    return WebOptions(
        tile_url=settings.tile_url,
        tile_attribution=settings.tile_attribution,
        public_base_url=base,
        secure_cookies=bool(base and base.startswith("https://")),
    )
