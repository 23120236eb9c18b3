"""The IOC API, version 1: a stable JSON contract for the city's Intelligent Operations Center.

``/api/ioc/v1/…`` (read scope; a token limited to communes sees only those):
commune status, incidents, DII indicators and availability for a period. Field
names and meanings do not change within v1; additions are backwards compatible.
The outgoing webhooks (incident open/ack/resolve, typhoon declare/end, signed
with HMAC-SHA256) are documented under ``webhooks`` in the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, Response
from pydantic import BaseModel, Field

from api.deps import CoreDep, Ctx, GroupBy, PictureDep, Reader, ReportsDep, Window
from api.errors import responses
from api.paging import Offset
from api.report_access import IocAvailability, availability_items, percent
from api.schemas import DeviceCounts, IncidentFilter
from reports.ioc_payloads import IocIncident, IocWebhookEvent

VERSION = "1"


class IocCommune(BaseModel):
    """A commune's live status."""

    code: str = Field(description="official commune/ward code")
    name: str
    province_code: str
    status: str = Field(description="ok | warning | down | cut_off | unknown (the dashboard's colour)")
    bts: str = Field(description="up | battery | down | isolated | unknown | none")
    bts_minutes_left: float | None = Field(description="battery runtime left when on battery")
    connectivity: str = Field(description="primary | backup:<medium> | isolated | unknown")
    active_incidents: int
    devices: DeviceCounts


class IocIncidentPage(BaseModel):
    """A page of incidents, newest first."""

    version: str = VERSION
    total: int
    items: list[IocIncident]


class IocIndicators(BaseModel):
    """DII-style indicators and network totals over a period (UTC epoch bounds)."""

    version: str = VERSION
    start: int
    end: int
    availability_pct: float | None
    outages: int
    mttr_s: float | None
    indicators: dict[str, int | float | None]


class IocAvailabilityPage(BaseModel):
    """Availability per group over a period."""

    version: str = VERSION
    start: int
    end: int
    by: str
    items: list[IocAvailability]


router = APIRouter(prefix="/api/ioc/v1", tags=["ioc"], responses=responses(401, 403, 422))


@router.get("/communes", response_model=list[IocCommune])
def communes(who: Reader, picture: PictureDep) -> list[IocCommune]:
    """Every commune's live status (BTS, connectivity, devices, active incidents)."""
    pic = picture.get()
    rows = {r.code: r for r in pic.coordinator}
    out = []
    for c in pic.communes:
        if not who.sees(c.code):
            continue
        r = rows.get(c.code)
        out.append(
            IocCommune(
                code=c.code,
                name=c.name,
                province_code=c.province_code,
                status=c.status,
                bts=r.bts if r else "none",
                bts_minutes_left=r.minutes_left if r else None,
                connectivity=r.connectivity if r else "unknown",
                active_incidents=r.incidents if r else 0,
                devices=c.devices,
            )
        )
    return out


@router.get("/incidents", response_model=IocIncidentPage)
def incidents(
    response: Response,
    who: Reader,
    ctx: Ctx,
    core: CoreDep,
    status: IncidentFilter | None = None,
    commune: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> IocIncidentPage:
    """Incidents, newest first (``status=active``: open or acknowledged)."""
    if commune is not None and not who.sees(commune):
        raise HTTPException(403, f"xã {commune} nằm ngoài phạm vi của token này")
    scope = None if who.communes is None else sorted(who.communes)
    found, total = core.incidents.list(
        status=status.value if status is not None else None,
        commune=commune,
        communes=scope,
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(total)
    items = [
        IocIncident(
            id=i.id,
            kind=i.kind.value,
            severity=int(i.severity),
            status=i.status.value,
            title=i.title,
            why=i.why,
            province=i.province or ctx.inventory.province,
            commune=i.commune,
            commune_name=ctx.inventory.commune_ref(i.commune).name if i.commune else None,
            site=i.site,
            device=i.device,
            affected=list(i.affected),
            opened_at=i.opened_at,
            resolved_at=i.resolved_at,
            acked_by=i.acked_by,
            acked_at=i.acked_at,
        )
        for i in found
    ]
    return IocIncidentPage(total=total, items=items)


@router.get("/indicators", response_model=IocIndicators)
def indicators(who: Reader, reports: ReportsDep, window: Window) -> IocIndicators:
    """Network availability and DII indicators for a local day/week/month (``date`` YYYY-MM-DD) or
    a custom [start, end) in epoch seconds."""
    lo, hi = window.start, window.end
    report = reports.visible(reports.get(lo, hi), who)
    total = report.total()
    return IocIndicators(
        start=lo,
        end=hi,
        availability_pct=percent(total.availability),
        outages=total.outages,
        mttr_s=total.mttr_s,
        indicators=report.indicators.as_dict(),
    )


@router.get("/availability", response_model=IocAvailabilityPage)
def availability(
    who: Reader, reports: ReportsDep, window: Window, by: GroupBy = "commune"
) -> IocAvailabilityPage:
    """Availability, outages, MTTR, backup and battery time per group for a period."""
    lo, hi = window.start, window.end
    return IocAvailabilityPage(
        start=lo, end=hi, by=by, items=availability_items(reports.get(lo, hi), by, who)
    )


def document_webhooks(app: FastAPI) -> None:
    """Put the IOC webhook payloads in the OpenAPI document (``webhooks``, OpenAPI 3.1)."""
    for name, doc in (
        ("incident", "Incident opened, acknowledged or resolved (event incident.*)"),
        ("typhoon", "Typhoon mode declared or ended (event typhoon.*)"),
    ):

        def hook(body: IocWebhookEvent) -> None:
            """Trucban POSTs this body to each ``ioc_webhooks`` channel; header ``X-Trucban-Signature:
            sha256=<hex HMAC-SHA256(secret, raw body)>``, ``X-Trucban-Event``, ``X-Trucban-Delivery``
            (stable per event: deduplicate on it). Answer 2xx; anything else is retried with backoff."""

        app.webhooks.post(f"ioc-{name}", summary=doc, tags=["ioc"])(hook)
