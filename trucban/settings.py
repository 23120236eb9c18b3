"""Settings, built by a factory from an optional YAML file and the environment.

Nothing is read at import time. Precedence: built-in defaults < file
(``--config`` or ``TRUCBAN_CONFIG``) < environment (``TRUCBAN_<FIELD>``) <
explicit overrides (CLI flags). Errors name the file/line or variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from common.errors import ConfigError, Problem
from inventory.sources import DocumentError, Located, problems_from_validation, read_yaml
from poller.confirm import parse_by_role
from store.factory import StoreConfig

ENV_PREFIX = "TRUCBAN_"


class Settings(BaseModel):
    """Everything an operator can set; defaults run the embedded demo."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Path("var")
    inventory: Path | None = None  # None: generate and run the simulated lab
    lab_province: str = Field(default="31", pattern=r"^[0-9]{2}$")
    lab_port: int = Field(default=16100, ge=1024, le=65535)
    lab_limit: int | None = Field(default=None, ge=1)
    lab_services: bool = True  # DNS, NETCONF, SSH CLI devices beside the SNMP agents (ports after lab_port)
    lab: Literal["province", "national"] = "province"  # national: every province, lab.national_agents
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    poll_interval_s: float = Field(default=30.0, ge=1)
    # polls in flight at once, every plan together; a ping holds its slot for its whole count
    # (3 × 0.2 s), so pinging a national inventory every minute alone keeps ~180 slots busy
    poll_concurrency: int = Field(default=1000, ge=1, le=10000)
    health_interval_s: float = Field(default=60.0, ge=1)  # interfaces, CPU, battery
    inventory_interval_s: float = Field(default=300.0, ge=1)  # names, descriptions, types
    poll_jitter: float = Field(default=0.5, ge=0, le=0.9)  # share of the interval poll starts spread over
    snmp_engine: Literal["auto", "fast", "pysnmp"] = "auto"
    trap_host: str = "127.0.0.1"
    trap_port: int = Field(default=16162, ge=0, le=65535)  # 0: no trap receiver
    database_url: str | None = None  # alerting database; None: SQLite file in data_dir
    rules_file: Path | None = None  # rules YAML; None: built-in defaults
    timezone: str = "Asia/Ho_Chi_Minh"
    log_level: str = "INFO"
    # Alert delivery (alerting/notify): routes/channels YAML, SMTP, links in messages.
    notify_enabled: bool = True
    notify_routes: Path | None = None  # channels, posts, routes, timers; None: built-in defaults
    notify_base_url: str | None = None  # runbook/ack links; None: public_base_url or http://host:port
    smtp_host: str | None = None  # None: no built-in e-mail channel (routes file may still define one)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "trucban@localhost"
    smtp_starttls: bool = True
    smtp_verify: bool = True  # verify the server's certificate
    # Who hears city-level incidents (routers, DNS, poller) when no routes file names the NOC's
    # contacts: with only smtp_host set these go here; None and no NOC contacts is a start-up error.
    noc_email: str | None = None
    # Soft before hard (as Icinga's max_check_attempts/retry_interval): a device that stops answering
    # is re-checked this many times, this far apart, before it is declared down; per role overrides
    # as "role=n" (e.g. "bts=3,power=3"). The first good answer declares it up.
    confirm_rechecks: int = Field(default=1, ge=0, le=10)
    confirm_spacing_s: float = Field(default=0.5, ge=0, le=60)
    confirm_rechecks_by_role: str = ""
    # Scale-out (poller/cluster, wired in trucban/cluster.py): NATS JetStream hub, partitions, leases.
    cluster_url: str | None = None  # nats://host:4222 of the hub; None: single node
    cluster_partitions: int = Field(default=64, ge=1, le=4096)
    cluster_lease_ttl_s: float = Field(default=10.0, ge=1)  # keep well under poll_interval_s
    cluster_dedup_window_s: float = Field(default=900.0, ge=10)
    cluster_edges: str = ""  # comma-separated edge posts whose streams the hub sources
    # Edge command post (poller/cluster/edge.py): its own leaf node, communes and disk buffer.
    edge_post: str | None = None
    edge_communes: str = ""  # comma-separated commune codes the post polls
    edge_nats_url: str = "nats://127.0.0.1:4222"  # the post's local leaf node
    edge_buffer_mb: int = Field(default=256, ge=1)  # local stream bound; oldest batches dropped first
    # Web front (api/): session key, map tiles, public address.
    session_secret: SecretStr | None = None  # keys session/token digests; None: session_secret_file
    session_secret_file: Path | None = None  # None: data_dir/session.key, created on first start (0600)
    tile_url: str | None = None  # e.g. https://tiles.example.vn/{z}/{x}/{y}.png; None: plain SVG map
    tile_attribution: str = ""
    public_base_url: str | None = None  # https://… sets Secure cookies
    # Proxies whose X-Forwarded-For is believed (comma-separated addresses or networks, e.g.
    # "10.0.0.5,192.168.1.0/24"); "" trusts none: the peer address is the client (login limits, audit).
    trusted_proxies: str = ""
    http_body_limit_kb: int = Field(default=64, ge=1, le=1_048_576)  # largest JSON/form request body
    http_upload_limit_mb: int = Field(default=6, ge=1, le=1024)  # largest upload (storm bulletin + form)
    # Metric store (store/SCHEMA.md): InfluxDB when influx_url is set, else embedded SQLite.
    influx_url: str | None = None
    influx_token: SecretStr | None = None  # 2.x/3.x token, or "user:password" for 1.x
    influx_org: str = "trucban"
    influx_bucket: str = "trucban"  # v2 writes; on 1.8 "database/retention_policy"
    influx_database: str | None = None  # InfluxQL reads and v1 writes; default: the bucket's name
    influx_retention_policy: str | None = None  # v1 writes/reads; default: the database's default
    influx_api: Literal["auto", "v1", "v2"] = "auto"  # auto: v1 /write for servers before 1.8
    spool_max_mb: int = Field(default=512, ge=1)  # on-disk spool while the store is unreachable
    # Reports and IOC (reports/): monthly report by e-mail, signed IOC webhooks.
    reports_enabled: bool = True  # write last month's report (data_dir/reports) and e-mail it once
    report_posts: str = "coordinators"  # comma-separated command posts that get the monthly report
    ioc_webhooks: str = ""  # comma-separated notify channels (kind webhook, tbhook:// URL) for IOC events

    @field_validator("confirm_rechecks_by_role")
    @classmethod
    def _rechecks_by_role(cls, value: str) -> str:
        parse_by_role(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        import ipaddress

        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network (e.g. 10.0.0.0/24)") from None
        return value

    @property
    def metrics_db(self) -> Path:
        """Embedded metric store file."""
        return self.data_dir / "metrics.sqlite"

    @property
    def alerting_db(self) -> Path:
        """Device states, incidents and the like."""
        return self.data_dir / "alerting.sqlite"

    @property
    def spool_dir(self) -> Path:
        """Samples waiting for the metric store."""
        return self.data_dir / "spool"

    @property
    def store(self) -> StoreConfig:
        """The metric store's own configuration (store/ never reads the settings)."""
        token = self.influx_token.get_secret_value() if self.influx_token else None
        return StoreConfig(self.metrics_db, self.spool_dir, self.spool_max_mb * 2**20, self.influx_url, token,
                           self.influx_org, self.influx_bucket, self.influx_database,
                           self.influx_retention_policy, self.influx_api)

    @property
    def lab_dir(self) -> Path:
        """Where the simulated lab is generated (the national lab keeps only its state there)."""
        return self.data_dir / "lab" / ("national" if self.lab == "national" else self.lab_province)


def load_settings(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings from file + environment + overrides; raise ConfigError on bad values."""
    env = os.environ if env is None else env
    path = path or (Path(env["TRUCBAN_CONFIG"]) if env.get("TRUCBAN_CONFIG") else None)
    values: dict[str, Any] = {}
    located: Located | None = None
    if path is not None:
        try:
            located = read_yaml(path)
        except DocumentError as exc:
            raise ConfigError([exc.problem], "settings") from None
        if not isinstance(located.data, dict):
            raise ConfigError([Problem(str(path), 1, "(document)", "…", "expected a mapping")], "settings")
        values.update(located.data)
    from_env = {
        name: env[ENV_PREFIX + name.upper()]
        for name in Settings.model_fields
        if ENV_PREFIX + name.upper() in env
    }
    values.update(from_env)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = []
        for p in problems_from_validation(exc, located or Located("(settings)", values)):
            name = p.field.split(".")[0]
            if name in from_env and name not in overrides:
                p = Problem(f"environment {ENV_PREFIX}{name.upper()}", None, p.field, p.value, p.message)
            problems.append(p)
        raise ConfigError(problems, "settings") from None
