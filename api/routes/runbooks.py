"""Runbook pages: what a duty officer does for each kind of incident, with the incident's values filled in.

Every alert links ``/runbooks/<kind>.md?incident=<id>``; without an incident the
runbook reads on its own (placeholders say "(chưa rõ)").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from alerting.repository import IncidentNotFound
from api.deps import Ctx, PageReader, RenderDep
from api.paging import MAX_ID
from runbooks import render_runbook_html

router = APIRouter(include_in_schema=False)


@router.get("/runbooks/{kind}.md")
def runbook(
    request: Request,
    kind: str,
    who: PageReader,
    ctx: Ctx,
    render: RenderDep,
    incident: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The runbook for ``kind``; with ``?incident=`` its commune, device, times, contacts (scoped)."""
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
    return render.page(request, "runbook.html", who, runbook_title=title, runbook_html=body, incident=inc)
