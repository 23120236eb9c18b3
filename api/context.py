"""What the API reads: inventory, current states, metrics, poller health — and who may read it.

The API never polls devices or changes states; it only reads through this, and
writes only acknowledgements, maintenance windows and accounts (each audited).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from alerting.core import AlertingCore
from alerting.rules.ipv6 import Ipv6Readiness, family_state, ipv6_readiness
from alerting.states import DeviceState
from api.auth.accounts import AccountStore
from api.auth.audit import AuditLog
from api.auth.ratelimit import LoginLimiter
from inventory.inventory import Inventory
from poller.cycle import CycleReport
from store.base import MetricStore
from storm.desk import StormDesk


class StateSource(Protocol):
    """Anything that knows current device states."""

    states: dict[str, DeviceState]


class CycleSource(Protocol):
    """Anything that knows the last poll cycle's self-metrics."""

    @property
    def last(self) -> CycleReport | None:
        """The last cycle's report (None before the first)."""


class TyphoonSource(Protocol):
    """HOOK for typhoon mode (built in ``alerting/notify/``): the current declaration, if any.

    ``current()`` returns None or a mapping with ``name``, ``communes`` (codes),
    ``declared_at`` (epoch s) and optionally ``digest`` (latest digest text).
    """

    def current(self) -> dict[str, Any] | None:
        """The declared storm, or None in normal times."""


@dataclass
class WebOptions:
    """Settings of the web front: tiles, cookies, refresh."""

    tile_url: str | None = None  # e.g. http://tiles.example.vn/{z}/{x}/{y}.png; None: plain SVG map
    tile_attribution: str = ""
    public_base_url: str | None = None
    secure_cookies: bool = False  # set when public_base_url is https
    refresh_s: int = 5
    snapshot_ttl_s: float = 30.0  # rebuilt on every new poll cycle; else at most this old
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()  # whose X-Forwarded-For is believed
    body_limit: int = 64 * 1024  # bytes: largest JSON/form request body
    upload_limit: int = 6 * 2**20  # bytes: largest upload (storm bulletin + multipart framing)

    @property
    def hsts(self) -> bool:
        """Whether browsers must keep to https (the public address is https)."""
        return bool(self.public_base_url and self.public_base_url.lower().startswith("https://"))


@dataclass
class Security:
    """Accounts, audit log and login limiter."""

    accounts: AccountStore
    audit: AuditLog
    limiter: LoginLimiter = field(default_factory=LoginLimiter)


@dataclass
class ApiContext:
    """Read handles for the API and pages, plus the security services."""

    inventory: Inventory
    tracker: StateSource
    store: MetricStore
    cycle: CycleSource
    timezone: ZoneInfo
    alerting: AlertingCore | None = None
    security: Security | None = None
    web: WebOptions = field(default_factory=WebOptions)
    typhoon: TyphoonSource | None = None
    selfmon: Any = None  # alerting.rules.selfmon.SelfMonitor: /healthz, /readyz, /metrics
    reports_dir: Path | None = None  # where the monthly reports are written (data_dir/reports)
    storms: StormDesk | None = None  # storm-track desk (imports, exposure, typhoon proposals)

    def family_state(self, now: int | None = None) -> dict[str, dict[str, dict[str, object]]]:
        """Per-family (IPv4/IPv6) reachability of dual-stack devices: ``{device: {family: {...}}}``."""
        return family_state(self.store, int(time.time()) if now is None else now)

    def ipv6_readiness(self, communes: set[str] | None = None, now: int | None = None) -> Ipv6Readiness:
        """IPv6 readiness indicators (devices managed over IPv6, DNS over IPv6 and AAAA)."""
        return ipv6_readiness(self.inventory, self.store, int(time.time()) if now is None else now,
                              communes=communes)
