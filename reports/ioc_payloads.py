"""The IOC webhook payloads (version 1), as pydantic models: the feed builds them, OpenAPI documents them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

IncidentEventName = Literal["incident.opened", "incident.acknowledged", "incident.resolved"]
TyphoonEventName = Literal["typhoon.declared", "typhoon.ended"]


class IocIncident(BaseModel):
    """An incident as the IOC sees it (no contacts, no secrets)."""

    id: int
    kind: str = Field(description="incident type; runbooks/<kind>.md says what to do")
    severity: int = Field(description="1 info, 2 warning, 3 major, 4 critical")
    status: Literal["open", "acknowledged", "resolved"]
    title: str = Field(description="Vietnamese, one line: what and where")
    why: str
    province: str
    commune: str | None = Field(description="official commune/ward code; null for city-level incidents")
    commune_name: str | None
    site: str | None
    device: str | None
    affected: list[str] = Field(default_factory=list, description="devices/communes cut off behind it")
    opened_at: int = Field(description="UTC epoch seconds")
    resolved_at: int | None = None
    acked_by: str | None = None
    acked_at: int | None = None


class IocTyphoon(BaseModel):
    """A typhoon-mode declaration."""

    id: int
    name: str
    communes: list[str]
    province: str | None
    starts_at: int
    ends_at: int
    declared_by: str
    declared_at: int
    ended_at: int | None = None


class IocWebhookEvent(BaseModel):
    """Body of every IOC webhook POST.

    Signed: ``X-Trucban-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``.
    """

    version: Literal["1"] = "1"
    event: IncidentEventName | TyphoonEventName
    delivery: str = Field(description="stable id of this event: the same on every retry (deduplicate on it)")
    occurred_at: int = Field(description="UTC epoch seconds")
    occurred_at_local: str = Field(description="ISO 8601 in Asia/Ho_Chi_Minh")
    actor: str = Field(description="who caused it: 'trucban' or the person/token that acknowledged")
    incident: IocIncident | None = None
    typhoon: IocTyphoon | None = None
