"""Incident and maintenance operations shared by the JSON API and the pages.

Scope is enforced here (a commune-scoped principal never sees another commune's
incident or window) and every write is audited, whichever front asked.
"""

from __future__ import annotations

import time

from fastapi import HTTPException

from alerting.core import AlertingCore
from alerting.maintenance import MaintenanceWindow
from alerting.notify.delivery import DeliveryReader
from alerting.repository import IncidentNotFound
from api import views
from api.auth.roles import Principal
from api.context import ApiContext
from api.guard import commune_visible
from api.picture import PictureCache
from api.schemas import IncidentDetailOut, MaintenanceIn, MaintenanceOut
from inventory.model import DeviceRole


class Incidents:
    """The incident and maintenance operations shared by the JSON API and the pages."""

    def __init__(self, ctx: ApiContext, picture: PictureCache) -> None:
        if ctx.alerting is None or ctx.security is None:
            raise ValueError("incidents need the alerting core and the security services")
        self.ctx, self.picture = ctx, picture
        self.core: AlertingCore = ctx.alerting
        self.audit = ctx.security.audit
        self.deliveries = DeliveryReader(self.core.engine)

    def detail(self, who: Principal, incident_id: int) -> IncidentDetailOut:
        """One incident with its timeline; 404 when missing or outside scope."""
        try:
            inc = self.core.incidents.get(incident_id)
        except IncidentNotFound:
            raise HTTPException(404, f"sự cố #{incident_id} không tồn tại (no such incident)") from None
        if who.communes is not None and not who.sees(inc.commune):
            raise HTTPException(404, f"sự cố #{incident_id} không tồn tại (no such incident)")
        return views.incident_detail(inc, self.ctx.timezone, self.deliveries.for_incident(inc.id, inc.events))

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
                scope=body.scope.value,
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
                "scope": body.scope.value,
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
        if target not in {r.value for r in DeviceRole}:
            raise HTTPException(422, f"vai trò {target!r} không tồn tại (unknown role)")
        return None

    def _window_commune(self, w: MaintenanceWindow) -> str | None:
        try:
            return self._target_commune(w.scope, w.target)
        except HTTPException:
            return None
