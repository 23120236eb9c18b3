"""Runbook pages: what a duty officer does for each kind of incident, with the incident's values filled in.

Every alert links ``/runbooks/<kind>.md?incident=<id>``; without an incident the
runbook reads on its own (placeholders say "(chưa rõ)").
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from alerting.repository import IncidentNotFound
from api.auth.roles import Permission
from api.context import ApiContext
from api.guard import Guard
from api.paging import MAX_ID
from api.render import Renderer
from runbooks import render_runbook_html


def router(ctx: ApiContext, guard: Guard, render: Renderer) -> APIRouter:
    """``GET /runbooks/{kind}.md`` as an HTML page (login required; scope enforced)."""
    pages = APIRouter(include_in_schema=False)

    @pages.get("/runbooks/{kind}.md")
    def runbook(
        request: Request, kind: str, incident: int | None = Query(default=None, ge=1, le=MAX_ID)
    ) -> Response:
        """The runbook for ``kind``; with ``?incident=`` its commune, device, times and contacts."""
        who = guard.optional(request)
        if who is None:
            raise HTTPException(401, "cần đăng nhập")
        if not who.can(Permission.READ):
            raise HTTPException(403, "không đủ quyền (permission required)")
        inc = None
        if incident is not None and ctx.alerting is not None:
            try:
                inc = ctx.alerting.incidents.get(incident)
            except IncidentNotFound:
                raise HTTPException(404, f"sự cố #{incident} không tồn tại") from None
            if not who.sees(inc.commune) or inc.kind.value != kind:
                raise HTTPException(404, f"sự cố #{incident} không tồn tại")
        try:
            title, body = render_runbook_html(kind, inc, ctx.inventory, ctx.timezone)
        except KeyError:
            raise HTTPException(404, f"không có hướng dẫn xử lý {kind!r} (no such runbook)") from None
        return render.page(request, "runbook.html", who, runbook_title=title, runbook_html=body,
                           incident=inc)

    return pages
