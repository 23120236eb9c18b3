"""Notification settings as data: channels, command posts, routes, timers, escalation, typhoon mode.

The validated models only. Channel URLs are apprise URL templates; ``{target}``
is the contact's address for that channel (phone, e-mail, Zalo chat id,
Telegram chat id). Loading them from YAML, with every problem named by file,
line, field and value, is :mod:`alerting.notify.config_load`; checking and
building channel URLs is :mod:`alerting.notify.channel_urls`.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from alerting.incidents import IncidentKind, Severity
from inventory.model import Contact

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


def severity(name: str) -> Severity:
    """Severity from its lower-case name."""
    return SEVERITY_NAMES[name.lower()]
