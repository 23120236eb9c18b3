"""JSON shapes of the API (pydantic, so they appear in the OpenAPI docs)."""

from __future__ import annotations

from pydantic import BaseModel


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


class PollerOut(BaseModel):
    """Self-metrics of the last poll cycle."""

    started_utc: str | None
    duration_s: float | None
    devices: int
    ok: int
    errors: dict[str, int]
    late: bool
