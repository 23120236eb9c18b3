"""JSON shapes of the API (pydantic, so they appear in the OpenAPI docs).

Times: ``*_utc`` are ISO-8601 UTC (machines), ``*_local`` are Asia/Ho_Chi_Minh
text (people). Lists are JSON arrays; paging is ``limit``/``offset`` with the
total in the ``X-Total-Count`` header and the next page in ``Link``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from alerting.incidents import IncidentStatus


class IncidentFilter(StrEnum):
    """Incident statuses a list filters by: the domain's, plus ``active`` (open or acknowledged)."""

    ACTIVE = "active"
    OPEN = IncidentStatus.OPEN.value
    ACKNOWLEDGED = IncidentStatus.ACKNOWLEDGED.value
    RESOLVED = IncidentStatus.RESOLVED.value


class MaintenanceScope(StrEnum):
    """What a maintenance window covers (``alerting.maintenance`` matches devices by it)."""

    DEVICE = "device"
    SITE = "site"
    COMMUNE = "commune"
    ROLE = "role"


class BtsCode(StrEnum):
    """A commune's BTS as the coordinator reads it: a site state (``api.picture.ROW_CODE``) or cut off."""

    UP = "up"
    BATTERY = "battery"
    DOWN = "down"
    ISOLATED = "isolated"
    UNKNOWN = "unknown"
    NONE = "none"


class DeviceCounts(BaseModel):
    """How many devices of a commune are in each state."""

    up: int
    degraded: int
    down: int
    unreachable: int
    maintenance: int
    unknown: int


class CommuneOut(BaseModel):
    """A commune's status as the dashboard and the IOC see it."""

    code: str
    name: str
    kind: str
    province_code: str
    lat: float
    lon: float
    status: str
    status_label: str
    devices: DeviceCounts
    problem_devices: list[str]


class ContactOut(BaseModel):
    """A command-post contact."""

    name: str
    role: str
    phone: str | None
    email: str | None


class SiteOut(BaseModel):
    """A site (commune HQ, BTS site, data centre, …)."""

    id: str
    name: str
    kind: str
    commune: str
    lat: float | None
    lon: float | None
    devices: list[str]


class DeviceOut(BaseModel):
    """A device with its current state (times in UTC ISO-8601 and local text)."""

    id: str
    name: str
    role: str
    site: str
    commune: str
    address: str
    operator: str | None
    hardening_level: int | None
    parents: list[str]
    status: str
    since_utc: str | None
    since_local: str | None
    reason: str


class LinkOut(BaseModel):
    """A commune uplink and its state."""

    id: str
    device: str
    if_index: int
    kind: str
    medium: str
    operator: str | None
    status: str


class IncidentEventOut(BaseModel):
    """One line of an incident's timeline."""

    ts_utc: str
    ts_local: str
    kind: str
    text: str
    actor: str


class DeliveryOut(BaseModel):
    """Was the post told? One message to one contact about the incident (``alerting.notify.delivery``)."""

    post: str = Field(description="command post id (noc, coordinators, commune:<code> …)")
    post_name: str
    contact: str = Field(description="the contact's name ('' when the post has no channel)")
    status: str = Field(description="delivered | retrying | failed (every channel failed; still retried) "
                        "| pending | no_channel")
    status_label: str
    about: str = Field(description="down | recovered | update ('' when nothing could be sent)")
    channel: str | None = Field(description="the channel that delivered, or the one being tried")
    channels: list[str] = Field(description="the message's channel chain, in order")
    failed_channels: list[str] = Field(description="channels of the chain that failed")
    at_utc: str | None = Field(description="delivered at; else the last attempt (or when queued)")
    at_local: str | None
    next_attempt_local: str | None
    attempts: int
    error: str | None = Field(description="the last failure (never a secret)")


class IncidentOut(BaseModel):
    """An incident: what, where, since when, why, which runbook."""

    id: int
    key: str
    kind: str
    severity: int
    severity_label: str
    status: str
    title: str
    why: str
    runbook: str
    commune: str | None
    site: str | None
    device: str | None
    affected: list[str]
    details: dict[str, Any]
    opened_utc: str
    opened_local: str
    updated_utc: str
    resolved_utc: str | None
    acked_by: str | None
    acked_utc: str | None
    ack_comment: str | None
    resolved_local: str | None = None
    duration_s: int | None = Field(default=None, description="how long it lasted (resolved incidents)")
    title_shown: str = Field(default="", description="the title for people: a resolved one says how it ended")


class IncidentDetailOut(IncidentOut):
    """An incident with its whole timeline."""

    events: list[IncidentEventOut]
    deliveries: list[DeliveryOut] = Field(
        default_factory=list, description="who was told, through which channel, when, and how it went"
    )
    undelivered_posts: list[str] = Field(
        default_factory=list, description="names of the posts no channel reaches for this incident"
    )


class CommuneDetailOut(CommuneOut):
    """A commune with its command post, sites, devices, links and active incidents."""

    command_post: str | None
    contacts: list[ContactOut]
    connectivity: str
    sites: list[SiteOut]
    device_list: list[DeviceOut]
    links: list[LinkOut]
    incidents: list[IncidentOut]


class AckIn(BaseModel):
    """An acknowledgement with an optional comment."""

    comment: str = Field(default="", max_length=1000)


class Recurrence(BaseModel):
    """A weekly slot in local time."""

    weekdays: list[int] = Field(default_factory=lambda: list(range(7)), max_length=7)
    start: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    minutes: int = Field(ge=1, le=24 * 60)


class MaintenanceIn(BaseModel):
    """A new maintenance window; times are epoch seconds (UTC)."""

    scope: MaintenanceScope
    target: str = Field(min_length=1, max_length=64)
    starts_at: int | None = Field(default=None, ge=0, le=2**40, description="default: now")
    ends_at: int | None = Field(default=None, ge=0, le=2**40)
    recurrence: Recurrence | None = None
    reason: str = Field(min_length=1, max_length=500)


class MaintenanceOut(BaseModel):
    """A maintenance window."""

    id: int
    scope: str
    target: str
    starts_utc: str
    starts_local: str
    ends_utc: str | None
    ends_local: str | None
    recurrence: dict[str, Any] | None
    reason: str
    created_by: str
    cancelled_utc: str | None
    active: bool


class OverviewOut(BaseModel):
    """The NOC's first glance."""

    devices: dict[str, int]
    incidents_by_severity: dict[str, int]
    communes: int
    communes_by_status: dict[str, int]
    communes_on_backup: list[str]
    communes_isolated: list[str]
    bts_on_battery: list[str]
    generated_utc: str


class CoordinatorRow(BaseModel):
    """One commune as the emergency coordinator sees it: is its BTS up, for how long."""

    code: str
    name: str
    kind: str
    province_code: str
    lat: float
    lon: float
    status: str
    bts: BtsCode
    bts_label: str
    minutes_left: float | None
    charge_pct: float | None
    connectivity: str
    incidents: int
    storm: bool
    connectivity_label: str = ""  # the connectivity for people (Vietnamese)


class SeriesLine(BaseModel):
    """One line of a chart: a label and [epoch s, value] points (value null: no answer, a gap)."""

    label: str
    tags: dict[str, str]
    points: list[tuple[int, float | None]]
    axis: str = Field(default="", description="unit of the axis this line is read on ('%', 'ms', 'phút')")


class SeriesBand(BaseModel):
    """A stretch of time to shade on a chart: an incident of the device or a maintenance window."""

    kind: Literal["incident", "maintenance"]
    start: int
    end: int
    label: str
    ref: str = ""  # '/incidents/12' or '/maintenance'


class SeriesOut(BaseModel):
    """A chart's data for one device and metric."""

    device: str
    metric: str
    unit: str
    start_utc: str
    end_utc: str
    step_s: int
    lines: list[SeriesLine]
    projected_minutes: float | None = None
    start: int = 0  # the range shown, epoch s
    end: int = 0
    percent: bool = False  # the main axis is a percentage: drawn 0–100
    bands: list[SeriesBand] = Field(default_factory=list)
    gaps: int = 0  # polls that got no answer in the range (drawn as gaps)


class PollerOut(BaseModel):
    """Self-metrics of the last poll cycle."""

    started_utc: str | None
    duration_s: float | None
    devices: int
    ok: int
    errors: dict[str, int]
    late: bool
    late_polls: int = 0
    timeouts: int = 0
    spool: int | None = None


class TyphoonOut(BaseModel):
    """A declared typhoon (from the notify side's typhoon mode)."""

    name: str
    communes: list[str]
    declared_local: str | None
    digest: str | None
