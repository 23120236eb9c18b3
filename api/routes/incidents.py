"""JSON API: incidents (list, detail, acknowledge) and maintenance windows (list, create, end)."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from alerting.core import AlertingCore
from alerting.incidents import IncidentKind
from alerting.maintenance import MaintenanceWindow
from alerting.repository import IncidentNotFound
from api import views
from api.auth.roles import Permission, Principal
from api.context import ApiContext
from api.errors import responses
from api.guard import Guard, client_ip, commune_visible
from api.paging import Limit, Offset, RowId, page, set_headers
from api.picture import PictureCache
from api.schemas import AckIn, IncidentDetailOut, IncidentOut, MaintenanceIn, MaintenanceOut

StatusQ = Literal["active", "open", "acknowledged", "resolved"]


class Incidents:
    """The incident and maintenance operations shared by the JSON API and the pages."""

    def __init__(self, ctx: ApiContext, picture: PictureCache) -> None:
        if ctx.alerting is None or ctx.security is None:
            raise ValueError("incidents need the alerting core and the security services")
        self.ctx, self.picture = ctx, picture
        self.core: AlertingCore = ctx.alerting
        self.audit = ctx.security.audit

    def detail(self, who: Principal, incident_id: int) -> IncidentDetailOut:
        """One incident with its timeline; 404 when missing or outside scope."""
        try:
            inc = self.core.incidents.get(incident_id)
        except IncidentNotFound:
            raise HTTPException(404, f"sự cố #{incident_id} không tồn tại (no such incident)") from None
        if who.communes is not None and not who.sees(inc.commune):
            raise HTTPException(404, f"sự cố #{incident_id} không tồn tại (no such incident)")
        return views.incident_detail(inc, self.ctx.timezone)

    def acknowledge(self, who: Principal, incident_id: int, comment: str, ip: str) -> IncidentDetailOut:
        """Acknowledge (audited); 409 when already resolved."""
        self.detail(who, incident_id)
        try:
            self.core.incidents.acknowledge(incident_id, who.name, comment.strip(), int(time.time()))
        except ValueError as exc:
            raise HTTPException(409, f"{exc} (không thể xác nhận sự cố đã khắc phục)") from None
        self.audit.record(
            who.name, "incident.ack", f"incident:{incident_id}", {"comment": comment.strip()}, ip
        )
        self.picture.invalidate()
        return self.detail(who, incident_id)

    def windows(self, who: Principal, active_only: bool = False) -> list[MaintenanceOut]:
        """Maintenance windows visible to ``who``."""
        now = int(time.time())
        out = []
        for w in self.core.maintenance.all():
            if who.communes is not None and not who.sees(self._window_commune(w)):
                continue
            item = views.maintenance(w, self.ctx.timezone, now)
            if not active_only or (item.active or (w.cancelled_at is None and (w.ends_at or now + 1) > now)):
                out.append(item)
        return out

    def create_window(self, who: Principal, body: MaintenanceIn, ip: str) -> MaintenanceOut:
        """Create a window after checking its target exists and is in scope (audited)."""
        commune = self._target_commune(body.scope, body.target)
        if body.scope == "role" and who.communes is not None:
            raise HTTPException(403, "tài khoản giới hạn theo xã không thể tạo bảo trì theo vai trò")
        if commune is not None:
            commune_visible(who, commune)
        now = int(time.time())
        starts = body.starts_at if body.starts_at is not None else now
        rec = body.recurrence.model_dump() if body.recurrence else None
        try:
            window = self.core.maintenance.add(
                scope=body.scope,
                target=body.target,
                starts_at=starts,
                ends_at=body.ends_at,
                recurrence=rec,
                reason=body.reason.strip(),
                created_by=who.name,
                now=now,
            )
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        self.audit.record(
            who.name,
            "maintenance.create",
            f"maintenance:{window.id}",
            {
                "scope": body.scope,
                "target": body.target,
                "starts_at": starts,
                "ends_at": body.ends_at,
                "reason": body.reason.strip(),
            },
            ip,
        )
        return views.maintenance(window, self.ctx.timezone, now)

    def end_window(self, who: Principal, window_id: int, ip: str) -> MaintenanceOut:
        """End a window now (audited)."""
        window = next((w for w in self.core.maintenance.all() if w.id == window_id), None)
        if window is None or (who.communes is not None and not who.sees(self._window_commune(window))):
            raise HTTPException(404, f"khung bảo trì #{window_id} không tồn tại (no such window)")
        now = int(time.time())
        self.core.maintenance.cancel(window_id, now)
        self.audit.record(who.name, "maintenance.end", f"maintenance:{window_id}", {}, ip)
        window = next(w for w in self.core.maintenance.all() if w.id == window_id)
        return views.maintenance(window, self.ctx.timezone, now)

    def _target_commune(self, scope: str, target: str) -> str | None:
        inv = self.ctx.inventory
        if scope == "device":
            if target not in inv.devices:
                raise HTTPException(422, f"thiết bị {target!r} không có trong danh mục (unknown device)")
            return inv.commune_of(target)
        if scope == "site":
            if target not in inv.sites:
                raise HTTPException(422, f"địa điểm {target!r} không có trong danh mục (unknown site)")
            return inv.sites[target].commune
        if scope == "commune":
            if target not in inv.devices_by_commune:
                raise HTTPException(422, f"xã {target!r} không được giám sát (unknown commune)")
            return target
        if target not in {"router", "switch", "dns", "bts", "power", "leo"}:
            raise HTTPException(422, f"vai trò {target!r} không tồn tại (unknown role)")
        return None

    def _window_commune(self, w: MaintenanceWindow) -> str | None:
        try:
            return self._target_commune(w.scope, w.target)
        except HTTPException:
            return None


def router(ctx: ApiContext, guard: Guard, ops: Incidents) -> APIRouter:
    """Incident and maintenance endpoints."""
    api = APIRouter(prefix="/api", responses=responses(401, 403, 422))
    reader = Depends(guard.need(Permission.READ))  # noqa: B008
    acker = Depends(guard.need(Permission.ACK))  # noqa: B008
    planner = Depends(guard.need(Permission.MAINTENANCE))  # noqa: B008

    @api.get("/incidents", response_model=list[IncidentOut], tags=["incidents"])
    def list_incidents(
        request: Request,
        response: Response,
        who: Principal = reader,
        status: StatusQ | None = None,
        commune: str | None = Query(default=None, max_length=8),
        severity: int | None = Query(default=None, ge=1, le=4, description="mức tối thiểu"),
        kind: IncidentKind | None = None,
        device: str | None = Query(default=None, max_length=64),
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> list[IncidentOut]:
        """Incidents, newest first; filter by status, commune, minimum severity, kind and device."""
        if commune is not None:
            commune_visible(who, commune)
        items, total = ops.core.incidents.list(
            status=status,
            commune=commune,
            communes=who.communes,
            severity=severity,
            kind=kind,
            device=device,
            limit=limit,
            offset=offset,
        )
        set_headers(request, response, total, limit, offset)
        return [views.incident(i, ctx.timezone) for i in items]

    @api.get(
        "/incidents/{incident_id}",
        response_model=IncidentDetailOut,
        tags=["incidents"],
        responses=responses(404),
    )
    def get_incident(incident_id: RowId, who: Principal = reader) -> IncidentDetailOut:
        """One incident with its timeline."""
        return ops.detail(who, _id(incident_id))

    @api.post(
        "/incidents/{incident_id}/ack",
        response_model=IncidentDetailOut,
        tags=["incidents"],
        responses=responses(404, 409),
    )
    def acknowledge(
        incident_id: RowId, body: AckIn, request: Request, who: Principal = acker
    ) -> IncidentDetailOut:
        """Acknowledge an incident with an optional comment (stops escalation; audited)."""
        return ops.acknowledge(who, _id(incident_id), body.comment, client_ip(request))

    @api.get("/maintenance", response_model=list[MaintenanceOut], tags=["maintenance"])
    def list_maintenance(
        request: Request,
        response: Response,
        who: Principal = reader,
        active: bool = Query(default=False, description="only windows not yet over"),
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> list[MaintenanceOut]:
        """Maintenance windows, newest first."""
        return page(request, response, ops.windows(who, active), limit, offset)

    @api.post("/maintenance", response_model=MaintenanceOut, status_code=201, tags=["maintenance"])
    def create_maintenance(body: MaintenanceIn, request: Request, who: Principal = planner) -> MaintenanceOut:
        """Create a window scoped by device, site, commune or role (audited)."""
        return ops.create_window(who, body, client_ip(request))

    @api.post(
        "/maintenance/{window_id}/end",
        response_model=MaintenanceOut,
        tags=["maintenance"],
        responses=responses(404),
    )
    def end_maintenance(window_id: RowId, request: Request, who: Principal = planner) -> MaintenanceOut:
        """End a window now (audited)."""
        return ops.end_window(who, _id(window_id), client_ip(request))

    return api


def _id(value: int) -> int:
    if not 0 < value < 2**62:
        raise HTTPException(404, f"#{value} không tồn tại (no such record)")
    return value
