"""The web part of the composition root: security services and web options from settings."""

from __future__ import annotations

import os
import secrets
import time
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

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
    """Tiles, cookies, public address, trusted proxies and body limits from settings."""
    base = settings.public_base_url
    return WebOptions(
        tile_url=settings.tile_url,
        tile_attribution=settings.tile_attribution,
        public_base_url=base,
        secure_cookies=bool(base and base.startswith("https://")),
        trusted_proxies=proxy_networks(settings.trusted_proxies),
        body_limit=settings.http_body_limit_kb * 1024,
        upload_limit=settings.http_upload_limit_mb * 2**20,
    )


def proxy_networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """``"10.0.0.5, 192.168.1.0/24"`` as networks (a bare address is a /32 or /128)."""
    return tuple(ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


class TyphoonBanner:
    """Adapts the notify side's typhoon mode (``alerting/notify/typhoon.py``) to :class:`TyphoonSource`."""

    def __init__(self, mode: Any) -> None:
        self.mode = mode

    def current(self) -> dict[str, Any] | None:
        """The storm in force, as the banner shows it."""
        decl = self.mode.active(int(time.time()))
        if decl is None:
            return None
        summary = decl.summary or {}
        digest = summary.get("text") if isinstance(summary, dict) else None
        return {"name": decl.name, "communes": list(decl.communes), "declared_at": decl.declared_at,
                "digest": digest}


def typhoon_banner(notify: Any) -> TyphoonBanner | None:
    """The banner source for a service with notification (None without)."""
    mode = getattr(notify, "typhoon", None)
    return TyphoonBanner(mode) if mode is not None else None
