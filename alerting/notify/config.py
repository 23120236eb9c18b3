"""Notification settings as data: channels, command posts, routes, timers, escalation, typhoon mode.

Loaded from a YAML file and validated like the inventory: every problem names
the file, line, field and value, and nothing is applied until the whole file is
right. Channel URLs are apprise URL templates; ``${NAME}`` pulls a secret from
the environment (never written in the file), ``{target}`` is the contact's
address for that channel (phone, e-mail, Zalo chat id, Telegram chat id).
Every channel URL of the file must be one apprise can parse (checked with a
sample target when the file loads); a URL is never shown, only ``scheme://***``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import apprise
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from alerting.incidents import IncidentKind, Severity
from common.errors import ConfigError, Problem
from inventory.model import Contact
from inventory.sources import DocumentError, Located, problems_from_validation, read_yaml

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
HOURS = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")
SEVERITY_NAMES = {s.name.lower(): s for s in Severity}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelKind(StrEnum):
    """What a channel is; decides the message variant and which contact address it needs."""

    EMAIL = "email"
    ZALO = "zalo"  # apprise zalo:// (Zalo Bot API)
    ZALO_OA = "zalo_oa"  # our zalooa:// plugin (Official Account / ZNS)
    SMS = "sms"  # apprise SMS providers or our smsgw:// plugin
    TELEGRAM = "telegram"
    WEBHOOK = "webhook"


ADDRESS_OF = {
    ChannelKind.EMAIL: "email",
    ChannelKind.ZALO: "zalo",
    ChannelKind.ZALO_OA: "phone",
    ChannelKind.SMS: "phone",
    ChannelKind.TELEGRAM: "telegram",
    ChannelKind.WEBHOOK: "none",
}
SHORT_KINDS = (ChannelKind.SMS, ChannelKind.ZALO_OA)
# A plausible address per contact field, put in ``{target}`` to check that apprise parses a URL.
SAMPLE_TARGET = {
    "email": "trucban@example.invalid",
    "zalo": "1234567890",
    "phone": "+84901234567",
    "telegram": "123456789",
    "none": "",
}
# Trucban's own apprise plugins: ours (alerting.notify.plugins) and the signed IOC webhook (registered by
# reports.signed_webhook, which may not be imported yet when a CLI command loads the routes): SECRET@host.
CUSTOM_SCHEMES = ("zalooa", "smsgw", "tbhook")


class Channel(_Strict):
    """One way to reach people, as an apprise URL template."""

    kind: ChannelKind
    url: SecretStr  # apprise URL template; may hold secrets once ${ENV} is expanded
    address: str | None = None  # contact field to use; default from kind; "none": post-level
    rate_per_minute: float = Field(default=60.0, gt=0)
    burst: int = Field(default=10, ge=1)
    max_attempts: int = Field(default=3, ge=1, le=50)  # on this channel before falling back
    api_base: str | None = None  # zalo/telegram: a different API host (tests, proxies)

    @property
    def address_field(self) -> str:
        """The contact field this channel sends to ('none' for post-level channels)."""
        return self.address or ADDRESS_OF[self.kind]


class Post(_Strict):
    """A named command post (NOC on-call, coordinators, …); commune posts come from the inventory."""

    name: str = Field(min_length=1)
    contacts: tuple[Contact, ...] = ()
    channels: tuple[str, ...] | None = None  # preference order; None: the defaults


class Match(_Strict):
    """Which incidents a route takes; every given condition must hold."""

    scope: str | None = Field(default=None, pattern=r"^(commune|city)$")
    kinds: tuple[IncidentKind, ...] = ()
    min_severity: str = "info"
    max_severity: str = "critical"
    hours: str | None = None  # local time window "HH:MM-HH:MM" (may cross midnight)
    communes: tuple[str, ...] = ()

    @field_validator("min_severity", "max_severity")
    @classmethod
    def _severity(cls, value: str) -> str:
        if value.lower() not in SEVERITY_NAMES:
            raise ValueError(f"unknown severity, expected one of {', '.join(SEVERITY_NAMES)}")
        return value.lower()

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None and not HOURS.match(value):
            raise ValueError("expected a local time window like 06:00-22:00")
        return value


class Route(_Strict):
    """Incidents matching ``match`` go to the posts in ``to`` ('commune' = the incident's commune post)."""

    match: Match = Match()
    to: tuple[str, ...] = Field(min_length=1)
    channels: tuple[str, ...] | None = None
    continue_: bool = Field(default=False, alias="continue")


class Timers(_Strict):
    """Alertmanager-style grouping per command post (defaults tuned for storms).

    ``group_wait_s`` only gathers what one failure opens at once, so first news
    leaves seconds after its incident opens (poll interval + 10 s end to end);
    ``group_interval_s`` batches follow-ups and recoveries; ``repeat_interval_s``
    reminds of what is still going on.
    """

    group_wait_s: int = Field(default=1, ge=0)
    group_interval_s: int = Field(default=300, ge=1)
    repeat_interval_s: int = Field(default=4 * 3600, ge=60)


class Escalation(_Strict):
    """Unacknowledged after ``after_s`` → the next level (commune post → NOC → coordinators)."""

    levels: tuple[str, ...] = ("noc", "coordinators")
    after_s: tuple[int, ...] = (900, 1800)
    min_severity: str = "major"

    @model_validator(mode="after")
    def _lengths(self) -> Escalation:
        if len(self.after_s) < len(self.levels):
            raise ValueError("after_s needs one delay per level")
        if self.min_severity not in SEVERITY_NAMES:
            raise ValueError("unknown min_severity")
        return self


class Retry(_Strict):
    """Outbox retry policy (per row and channel)."""

    backoff_s: float = Field(default=5.0, gt=0)
    max_backoff_s: float = Field(default=120.0, gt=0)
    claim_s: int = Field(default=120, ge=5)


class Digest(_Strict):
    """Periodic digest to a post (coordinators)."""

    to: str
    every_s: int = Field(default=3600, ge=60)


class TyphoonSettings(_Strict):
    """Typhoon-mode defaults."""

    digest_every_s: int = Field(default=1800, ge=60)
    poll_interval_s: float = Field(default=10.0, ge=1)
    battery_shift_minutes: float = Field(default=30.0, ge=0)
    notify: tuple[str, ...] = ("coordinators", "noc")


class NotifyConfig(_Strict):
    """The whole notification configuration."""

    channels: dict[str, Channel] = {}
    posts: dict[str, Post] = {}
    commune_channels: tuple[str, ...] = ("zalo", "zalo_oa", "sms", "email")
    routes: tuple[Route, ...] = (
        Route(match=Match(scope="city", min_severity="warning"), to=("noc",)),
        Route(match=Match(scope="commune", min_severity="major"), to=("commune",)),
        Route(match=Match(scope="commune", min_severity="warning", hours="06:00-22:00"), to=("commune",)),
    )
    timers: Timers = Timers()
    escalation: Escalation = Escalation()
    retry: Retry = Retry()
    digests: tuple[Digest, ...] = (Digest(to="coordinators", every_s=4 * 3600),)
    typhoon: TyphoonSettings = TyphoonSettings()


def expand_env(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace ``${NAME}`` from ``env``; return the text and the names that were missing."""
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in env:
            missing.append(m.group(1))
            return ""
        return env[m.group(1)]

    return ENV_REF.sub(sub, text), missing


def load_notify_config(
    path: Path | None,
    env: Mapping[str, str] | None = None,
    extra_channels: Mapping[str, Channel] | None = None,
) -> NotifyConfig:
    """Notification config from ``path`` (None: defaults); ConfigError names file/line/field/value."""
    env = os.environ if env is None else env
    data: dict = {}
    located = Located("(notify defaults)", data)
    if path is not None:
        try:
            located = read_yaml(path)
        except DocumentError as exc:
            raise ConfigError([exc.problem], "notify routes") from None
        if not isinstance(located.data, dict):
            problem = Problem(str(path), 1, "(document)", "…", "expected a mapping")
            raise ConfigError([problem], "notify routes")
        data = dict(located.data)
    problems: list[Problem] = []
    channels = dict(data.get("channels") or {})
    for name, ch in channels.items():
        if isinstance(ch, dict) and isinstance(ch.get("url"), str):
            url, missing = expand_env(ch["url"], env)
            for var in missing:
                problems.append(
                    Problem(
                        located.file,
                        located.line(("channels", name, "url")),
                        f"channels.{name}.url",
                        f"${{{var}}}",
                        "environment variable not set",
                    )
                )
            channels[name] = {**ch, "url": url}
    from_file = set(channels)
    for name, ch in (extra_channels or {}).items():
        channels.setdefault(name, ch)
    data["channels"] = channels
    unset = {p.field.split(".")[1] for p in problems}  # a URL missing its secret is reported once
    problems += _channel_urls({n: channels[n] for n in from_file if n not in unset}, located)
    config: NotifyConfig | None = None
    try:
        config = NotifyConfig.model_validate(data)
    except ValidationError as exc:
        problems += [
            p if ".url" not in p.field else Problem(p.file, p.line, p.field, "***", p.message)
            for p in problems_from_validation(exc, located)
        ]
    if config is not None:
        problems += _references(config, located)
    if problems or config is None:
        raise ConfigError(problems, "notify routes")
    return config


def _channel_urls(channels: Mapping[str, object], located: Located) -> list[Problem]:
    """Channels of the file whose URL apprise cannot parse (others' problems come from validation)."""
    out: list[Problem] = []
    for name, raw in channels.items():
        try:
            channel = Channel.model_validate(raw)
        except ValidationError:
            continue
        why = url_problem(channel)
        if why is not None:
            out.append(
                Problem(
                    located.file,
                    located.line(("channels", name, "url")),
                    f"channels.{name}.url",
                    hidden_url(channel.url.get_secret_value()),
                    why,
                )
            )
    return out


def hidden_url(url: str) -> str:
    """A channel URL as it may be shown in an error: its scheme only, the rest ``***``."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    return f"{scheme[:20]}://***" if scheme.isascii() and scheme.isalnum() else "***"


def url_problem(channel: Channel) -> str | None:
    """Why apprise cannot use this channel's URL (Vietnamese, no secret), or None if it can."""
    from alerting.notify import plugins  # noqa: F401  - registers zalooa:// and smsgw:// with apprise

    template = channel.url.get_secret_value()
    url = template.replace("{target}", SAMPLE_TARGET.get(channel.address_field, "target"))
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if not scheme:
        return "URL kênh phải có dạng scheme://… (URL của apprise)"
    if scheme in CUSTOM_SCHEMES:
        try:
            parts = urlsplit(url)
            good = bool(parts.username and parts.hostname) and (parts.port is None or parts.port > 0)
        except ValueError:
            good = False
        if not good:
            return f"URL {scheme}:// phải có dạng {scheme}://MÃ_BÍ_MẬT@máy_chủ[:cổng]/{{target}}"
        return None
    try:
        obj = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    except Exception:  # noqa: BLE001 - whatever the parser trips on, the answer is the same
        obj = None
    if obj is None:
        return (
            "apprise không đọc được URL kênh này: kiểm tra loại kênh, mã bí mật/token và địa chỉ; "
            "ký tự đặc biệt trong mã bí mật phải được mã hoá (%XX)"
        )
    return None


def _references(config: NotifyConfig, located: Located) -> list[Problem]:
    """Routes and posts must name posts and channels that exist."""
    out: list[Problem] = []
    posts = set(config.posts) | {"commune", "noc", "coordinators"}
    for i, route in enumerate(config.routes):
        for j, post in enumerate(route.to):
            if post not in posts:
                out.append(
                    Problem(
                        located.file,
                        located.line(("routes", i, "to", j)),
                        f"routes.{i}.to.{j}",
                        post,
                        "unknown post (define it under posts:)",
                    )
                )
        for j, ch in enumerate(route.channels or ()):
            if ch not in config.channels:
                out.append(
                    Problem(
                        located.file,
                        located.line(("routes", i, "channels", j)),
                        f"routes.{i}.channels.{j}",
                        ch,
                        "unknown channel",
                    )
                )
    for name, post_ in config.posts.items():
        for j, ch in enumerate(post_.channels or ()):
            if ch not in config.channels:
                out.append(
                    Problem(
                        located.file,
                        located.line(("posts", name, "channels", j)),
                        f"posts.{name}.channels.{j}",
                        ch,
                        "unknown channel",
                    )
                )
    for j, post in enumerate(config.escalation.levels):
        if post not in posts:
            out.append(
                Problem(
                    located.file,
                    located.line(("escalation", "levels", j)),
                    f"escalation.levels.{j}",
                    post,
                    "unknown post",
                )
            )
    return out


def severity(name: str) -> Severity:
    """Severity from its lower-case name."""
    return SEVERITY_NAMES[name.lower()]


def smtp_channel(
    host: str,
    port: int,
    sender: str,
    *,
    user: str | None = None,
    password: SecretStr | None = None,
    starttls: bool = True,
    verify: bool = True,
    rate_per_minute: float = 120.0,
) -> Channel:
    """An ``email`` channel (apprise mailto/mailtos URL) from plain SMTP settings."""
    from urllib.parse import quote

    auth = ""
    if user:
        secret = password.get_secret_value() if password else ""
        auth = f"{quote(user, safe='')}:{quote(secret, safe='')}@"
    scheme, mode = ("mailtos", "starttls") if starttls else ("mailto", "insecure")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal in a URL
    url = (
        f"{scheme}://{auth}{host}:{port}/?from={quote(sender, safe='@')}&to={{target}}&mode={mode}"
        f"&verify={'yes' if verify else 'no'}"
    )
    return Channel(kind=ChannelKind.EMAIL, url=SecretStr(url), rate_per_minute=rate_per_minute, burst=20)
