"""Incidents: one per real problem, with a stable key and a full timeline.

Rules produce :class:`Condition` objects each cycle ("device X is down",
"commune Y is on backup"); the incident manager turns conditions into
incidents: opened when a condition first appears, updated when its severity or
scope changes, resolved when it disappears. Notification reads incidents only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class Severity(IntEnum):
    """How urgent; ordered so escalation is ``max()``."""

    INFO = 1
    WARNING = 2
    MAJOR = 3
    CRITICAL = 4


SEVERITY_VI = {Severity.INFO: "Thông tin", Severity.WARNING: "Cảnh báo", Severity.MAJOR: "Nghiêm trọng",
               Severity.CRITICAL: "Khẩn cấp"}


class IncidentKind(StrEnum):
    """Every incident type the rules can raise; each has a runbook of the same name."""

    DEVICE_DOWN = "device_down"
    COMMUNES_CUT_OFF = "communes_cut_off"
    LINK_ON_BACKUP = "link_on_backup"
    COMMUNE_ISOLATED = "commune_isolated"
    BTS_ON_BATTERY = "bts_on_battery"
    BATTERY_LOW = "battery_low"
    GENERATOR_FAILED = "generator_failed"
    SITE_ALARM = "site_alarm"
    DNS_NOT_ANSWERING = "dns_not_answering"
    DNS_STALE_SERIAL = "dns_stale_serial"
    DNS_NO_IPV6 = "dns_no_ipv6"
    IPV6_PATH_DOWN = "ipv6_path_down"
    FLAPPING = "flapping"
    POLLER_DEGRADED = "poller_degraded"
    STORE_UNREACHABLE = "store_unreachable"
    DELIVERY_FAILING = "delivery_failing"


class IncidentStatus(StrEnum):
    """Life cycle: open → (acknowledged) → resolved."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Condition:
    """A rule's finding in one cycle; ``key`` is stable across cycles and restarts."""

    key: str
    kind: IncidentKind
    severity: Severity
    title: str  # Vietnamese, one line: what and where
    why: str  # which rule, which upstream failure
    since: int  # epoch seconds the condition started (UTC)
    province: str = ""
    commune: str | None = None
    site: str | None = None
    device: str | None = None
    affected: tuple[str, ...] = ()  # devices/communes cut off behind it
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def runbook(self) -> str:
        """The runbook for this kind of incident (runbooks/<kind>.md)."""
        return f"runbooks/{self.kind.value}.md"


@dataclass(slots=True)
class IncidentEvent:
    """One line of an incident's timeline."""

    ts: int
    kind: str  # opened, severity, scope, acknowledged, comment, resolved, note
    text: str
    actor: str = "trucban"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Incident:
    """An incident as stored and shown."""

    id: int
    key: str
    kind: IncidentKind
    severity: Severity
    status: IncidentStatus
    title: str
    why: str
    runbook: str
    opened_at: int
    updated_at: int
    province: str = ""
    commune: str | None = None
    site: str | None = None
    device: str | None = None
    affected: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    resolved_at: int | None = None
    acked_by: str | None = None
    acked_at: int | None = None
    ack_comment: str | None = None
    events: list[IncidentEvent] = field(default_factory=list)

    @property
    def is_active(self) -> bool:
        """Open or acknowledged (not yet resolved)."""
        return self.status is not IncidentStatus.RESOLVED
