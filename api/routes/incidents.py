"""JSON API: incidents (list, detail, acknowledge) and maintenance windows (list, create, end)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response

from alerting.incidents import IncidentKind, Severity
from api import views
from api.deps import Acker, Ctx, IncidentsDep, Planner, Reader
from api.errors import responses
from api.guard import client_ip, commune_visible
from api.paging import Limit, Offset, RowId, page, set_headers
from api.schemas import AckIn, IncidentDetailOut, IncidentFilter, IncidentOut, MaintenanceIn, MaintenanceOut

router = APIRouter(prefix="/api", responses=responses(401, 403, 422))


@router.get("/incidents", response_model=list[IncidentOut], tags=["incidents"])
def list_incidents(
    request: Request,
    response: Response,
    who: Reader,
    ctx: Ctx,
    ops: IncidentsDep,
    status: IncidentFilter | None = None,
    commune: Annotated[str | None, Query(max_length=8)] = None,
    severity: Annotated[Severity | None, Query(description="mức tối thiểu (1–4)")] = None,
    kind: IncidentKind | None = None,
    device: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[IncidentOut]:
    """Incidents, newest first; filter by status, commune, minimum severity, kind and device."""
    if commune is not None:
        commune_visible(who, commune)
    items, total = ops.core.incidents.list(
        status=status.value if status is not None else None,
        commune=commune,
        communes=who.communes,
        severity=int(severity) if severity is not None else None,
        kind=kind,
        device=device,
        limit=limit,
        offset=offset,
    )
    set_headers(request, response, total, limit, offset)
    return [views.incident(i, ctx.timezone) for i in items]


@router.get(
    "/incidents/{incident_id}", response_model=IncidentDetailOut, tags=["incidents"], responses=responses(404)
)
def get_incident(incident_id: RowId, who: Reader, ops: IncidentsDep) -> IncidentDetailOut:
    """One incident with its timeline."""
    return ops.detail(who, _id(incident_id))


@router.post(
    "/incidents/{incident_id}/ack",
    response_model=IncidentDetailOut,
    tags=["incidents"],
    responses=responses(404, 409),
)
def acknowledge(
    incident_id: RowId, body: AckIn, request: Request, who: Acker, ops: IncidentsDep
) -> IncidentDetailOut:
    """Acknowledge an incident with an optional comment (stops escalation; audited)."""
    return ops.acknowledge(who, _id(incident_id), body.comment, client_ip(request))


@router.get("/maintenance", response_model=list[MaintenanceOut], tags=["maintenance"])
def list_maintenance(
    request: Request,
    response: Response,
    who: Reader,
    ops: IncidentsDep,
    active: Annotated[bool, Query(description="only windows not yet over")] = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[MaintenanceOut]:
    """Maintenance windows, newest first."""
    return page(request, response, ops.windows(who, active), limit, offset)


@router.post("/maintenance", response_model=MaintenanceOut, status_code=201, tags=["maintenance"])
def create_maintenance(
    body: MaintenanceIn, request: Request, who: Planner, ops: IncidentsDep
) -> MaintenanceOut:
    """Create a window scoped by device, site, commune or role (audited)."""
    return ops.create_window(who, body, client_ip(request))


@router.post(
    "/maintenance/{window_id}/end",
    response_model=MaintenanceOut,
    tags=["maintenance"],
    responses=responses(404),
)
def end_maintenance(window_id: RowId, request: Request, who: Planner, ops: IncidentsDep) -> MaintenanceOut:
    """End a window now (audited)."""
    return ops.end_window(who, _id(window_id), client_ip(request))


def _id(value: int) -> int:
    if not 0 < value < 2**62:
        raise HTTPException(404, f"#{value} không tồn tại (no such record)")
    return value
