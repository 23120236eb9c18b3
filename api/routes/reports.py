"""Availability reports: dashboard page with charts, JSON, CSV download, printable HTML and PDF, monthly runs.

Periods are a local day/week/month (``period`` + ``date`` YYYY-MM-DD, default
today) or a custom ``start``/``end`` in epoch seconds; the end is clipped to
now (the future is not "up"). Reports are cached for a minute per period.
Commune-scoped viewers see their communes only (CSV by commune or device).
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from alerting.history import StateHistory
from api.auth.roles import Principal
from api.context import ApiContext
from api.deps import CoreDep, Ctx, GroupBy, PageReader, Reader, RenderDep, ReportsDep, Window
from api.errors import responses
from api.report_access import availability_items
from common.timefmt import local_time
from reports.export import report_csv
from reports.render import PdfError, html_to_pdf, render_html
from reports.series import daily_availability
from reports.tables import report_runs_list


def download(body: str | bytes, media_type: str, filename: str) -> Response:
    """A response the browser saves as ``filename``."""
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


router = APIRouter(tags=["reports"], responses=responses(401, 403, 422))


def check_by(who: Principal, by: str) -> None:
    """A commune-scoped account reads reports by commune or device only (403 otherwise)."""
    if who.communes is not None and by not in ("commune", "device"):
        raise HTTPException(403, "tài khoản theo xã chỉ xem được theo xã hoặc thiết bị")


@router.get("/api/reports/availability")
def availability_json(
    who: Reader, cache: ReportsDep, window: Window, by: GroupBy = "commune"
) -> dict[str, object]:
    """Figures per group plus network totals and indicators (the IOC has the same under /api/ioc/v1)."""
    check_by(who, by)
    lo, hi = window.start, window.end
    report = cache.visible(cache.get(lo, hi), who)
    total = report.total()
    return {
        "start": lo,
        "end": hi,
        "by": by,
        "availability_pct": None if total.availability is None else round(100 * total.availability, 4),
        "outages": total.outages,
        "mttr_s": total.mttr_s,
        "down_s": total.down_s,
        "indicators": report.indicators.as_dict(),
        "items": [i.model_dump() for i in availability_items(report, by, who)],
    }


@router.get("/api/reports/daily")
def daily_json(who: Reader, ctx: Ctx, core: CoreDep, window: Window) -> dict[str, object]:
    """Pooled availability per local day (the dashboard chart)."""
    lo, hi = window.start, window.end
    inv = ctx.inventory
    devices = {d for d in inv.devices if who.sees(inv.sites[inv.devices[d].site].commune)}
    rows = daily_availability(
        StateHistory(core.engine).intervals(lo, hi), devices, lo, hi, ctx.timezone
    )
    return {"start": lo, "end": hi, "days": rows}


@router.get(
    "/api/reports/availability.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with BOM"}},
)
def availability_csv(
    who: Reader, ctx: Ctx, cache: ReportsDep, window: Window, by: GroupBy = "commune"
) -> Response:
    """The same figures as CSV (UTF-8 with BOM so spreadsheet programs read the diacritics)."""
    check_by(who, by)
    lo, hi = window.start, window.end
    body = "\ufeff" + report_csv(cache.visible(cache.get(lo, hi), who), by)
    name = f"kha-dung-{by}-{datetime.fromtimestamp(lo, ctx.timezone):%Y%m%d}.csv"
    return download(body, "text/csv; charset=utf-8", name)


@router.get("/reports/print", response_class=HTMLResponse, include_in_schema=False)
def printable(who: Reader, ctx: Ctx, cache: ReportsDep, window: Window) -> HTMLResponse:
    """The printable Vietnamese report (print it from the browser, or fetch /reports/pdf)."""
    return HTMLResponse(render_html(cache.visible(cache.get(window.start, window.end), who), ctx.timezone))


@router.get("/reports/pdf", response_class=Response, include_in_schema=False)
async def pdf(who: Reader, ctx: Ctx, cache: ReportsDep, window: Window) -> Response:
    """The printable report as PDF (headless Chromium)."""
    lo, hi = window.start, window.end
    page = render_html(cache.visible(cache.get(lo, hi), who), ctx.timezone)
    with tempfile.TemporaryDirectory(prefix="trucban-report-") as tmp:
        try:
            out = await asyncio.to_thread(html_to_pdf, page, Path(tmp) / "report.pdf")
        except PdfError as exc:
            raise HTTPException(503, str(exc)) from None
        data = out.read_bytes()
    name = f"bao-cao-{datetime.fromtimestamp(lo, ctx.timezone):%Y%m%d}.pdf"
    return download(data, "application/pdf", name)


@router.get("/reports", response_class=HTMLResponse, include_in_schema=False)
def page(
    request: Request,
    who: PageReader,
    ctx: Ctx,
    cache: ReportsDep,
    render: RenderDep,
    window: Window,
    by: GroupBy = "commune",
) -> Response:
    """Dashboard page: totals, indicators, daily chart, table, downloads, monthly runs."""
    check_by(who, by)
    lo, hi = window.start, window.end
    period, date = window.period, window.date
    report = cache.visible(cache.get(lo, hi), who)

    items = sorted(
        availability_items(report, by, who),
        key=lambda i: (i.availability_pct if i.availability_pct is not None else 101, i.key),
    )
    query = f"period={period}" + (f"&date={date}" if date else "")
    runs = (
        report_runs_list(ctx.alerting.engine) if ctx.alerting is not None and who.communes is None else []
    )
    return render.page(
        request,
        "reports.html",
        who,
        report=report,
        total=report.total(),
        items=items,
        by=by,
        period=period,
        date=date or "",
        query=query,
        runs=runs,
        start_local=_local(ctx, lo),
        end_local=_local(ctx, hi),
        ind=report.indicators.as_dict(),
    )


@router.get("/reports/runs/{label}/{name}", include_in_schema=False)
def run_file(label: str, name: str, who: Reader, ctx: Ctx) -> FileResponse:
    """A file of a generated monthly report."""
    if who.communes is not None:
        raise HTTPException(403, "báo cáo tháng toàn mạng chỉ dành cho tài khoản toàn thành phố")
    runs = {r["period"]: r for r in report_runs_list(ctx.alerting.engine)} if ctx.alerting else {}
    run = runs.get(label)
    files = dict(run["files"]) if run else {}  # type: ignore[call-overload]
    if ctx.reports_dir is None or name not in files.values():
        raise HTTPException(404, f"không có tệp {name} trong báo cáo {label}")
    return FileResponse(ctx.reports_dir / label / name, filename=name)


def _local(ctx: ApiContext, ts: int) -> str:
    return local_time(ts, ctx.timezone)
