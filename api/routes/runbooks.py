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
from api.render import lang_of
from runbooks import render_runbook_html
from runbooks.catalog import PROCEDURES, load_catalog

router = APIRouter(include_in_schema=False)
SEVERITY_ORDER = {"critical": 0, "major": 1, "warning": 2, "info": 3}


@router.get("/runbooks")
def runbook_index(request: Request, who: PageReader, render: RenderDep) -> Response:
    """Every runbook: the procedures before and after a storm, then one per kind of incident."""
    catalog = load_catalog()
    english = lang_of(request) == "en"
    entries = [
        {"kind": r.kind, "title": (r.meta.title_en if english and r.meta.title_en else r.meta.title),
         "severity": r.meta.severity, "href": f"/runbooks/{r.path.name}", "procedure": r.kind in PROCEDURES}
        for r in catalog.runbooks.values()
    ]
    entries.sort(key=lambda e: (not e["procedure"], SEVERITY_ORDER.get(str(e["severity"]), 9), e["title"]))
    return render.page(request, "runbooks.html", who, entries=entries)


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
    # the summary for English readers is marked as English
    body = body.replace("<blockquote>\n<p><strong>English:</strong>",
                        '<blockquote lang="en">\n<p><strong>English:</strong>')
    return render.page(request, "runbook.html", who, runbook_title=title, runbook_html=body, incident=inc)
