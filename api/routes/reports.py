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
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from alerting.history import StateHistory
from api.auth.roles import Permission, Principal
from api.context import ApiContext
from api.errors import responses
from api.guard import Guard
from api.paging import Epoch
from api.render import Renderer
from api.report_access import ReportCache, availability_items, period_of
from reports.export import report_csv
from reports.render import PdfError, html_to_pdf, render_html
from reports.report import AvailabilityReport
from reports.series import daily_availability
from reports.tables import report_runs_list

By = Literal["commune", "site", "device", "operator", "role", "province"]
Period = Literal["day", "week", "month"]
def download(body: str | bytes, media_type: str, filename: str) -> Response:
    """A response the browser saves as ``filename``."""
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def router(ctx: ApiContext, guard: Guard, render: Renderer, cache: ReportCache) -> APIRouter:
    """JSON under /api/reports, pages and files under /reports."""
    api = APIRouter(tags=["reports"], responses=responses(401, 403, 422))
    reader = Depends(guard.need(Permission.READ))

    def check_by(who: Principal, by: str) -> None:
        if who.communes is not None and by not in ("commune", "device"):
            raise HTTPException(403, "tài khoản theo xã chỉ xem được theo xã hoặc thiết bị")

    def visible(report: AvailabilityReport, who: Principal) -> AvailabilityReport:
        return cache.visible(report, who)

    @api.get("/api/reports/availability")
    def availability_json(
        who: Principal = reader,
        by: By = "commune",
        period: Period = "month",
        date: str | None = None,
        start: Epoch = None,
        end: Epoch = None,
    ) -> dict[str, object]:
        """Figures per group plus network totals and indicators (the IOC has the same under /api/ioc/v1)."""

        check_by(who, by)
        lo, hi = period_of(ctx, period, date, start, end)
        report = visible(cache.get(lo, hi), who)
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

    @api.get("/api/reports/daily")
    def daily_json(
        who: Principal = reader,
        period: Period = "month",
        date: str | None = None,
        start: Epoch = None,
        end: Epoch = None,
    ) -> dict[str, object]:
        """Pooled availability per local day (the dashboard chart)."""
        if ctx.alerting is None:
            raise HTTPException(503, "alerting database not available")
        lo, hi = period_of(ctx, period, date, start, end)
        inv = ctx.inventory
        devices = {d for d in inv.devices if who.sees(inv.sites[inv.devices[d].site].commune)}
        rows = daily_availability(
            StateHistory(ctx.alerting.engine).intervals(lo, hi), devices, lo, hi, ctx.timezone
        )
        return {"start": lo, "end": hi, "days": rows}

    @api.get(
        "/api/reports/availability.csv",
        response_class=Response,
        responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with BOM"}},
    )
    def availability_csv(
        who: Principal = reader,
        by: By = "commune",
        period: Period = "month",
        date: str | None = None,
        start: Epoch = None,
        end: Epoch = None,
    ) -> Response:
        """The same figures as CSV (UTF-8 with BOM so spreadsheet programs read the diacritics)."""
        check_by(who, by)
        lo, hi = period_of(ctx, period, date, start, end)
        body = "\ufeff" + report_csv(visible(cache.get(lo, hi), who), by)
        name = f"kha-dung-{by}-{datetime.fromtimestamp(lo, ctx.timezone):%Y%m%d}.csv"
        return download(body, "text/csv; charset=utf-8", name)

    @api.get("/reports/print", response_class=HTMLResponse, include_in_schema=False)
    def printable(
        who: Principal = reader,
        period: Period = "month",
        date: str | None = None,
        start: Epoch = None,
        end: Epoch = None,
    ) -> HTMLResponse:
        """The printable Vietnamese report (print it from the browser, or fetch /reports/pdf)."""
        lo, hi = period_of(ctx, period, date, start, end)
        return HTMLResponse(render_html(visible(cache.get(lo, hi), who), ctx.timezone))

    @api.get("/reports/pdf", response_class=Response, include_in_schema=False)
    async def pdf(
        who: Principal = reader,
        period: Period = "month",
        date: str | None = None,
        start: Epoch = None,
        end: Epoch = None,
    ) -> Response:
        """The printable report as PDF (headless Chromium)."""
        lo, hi = period_of(ctx, period, date, start, end)
        page = render_html(visible(cache.get(lo, hi), who), ctx.timezone)
        with tempfile.TemporaryDirectory(prefix="trucban-report-") as tmp:
            try:
                out = await asyncio.to_thread(html_to_pdf, page, Path(tmp) / "report.pdf")
            except PdfError as exc:
                raise HTTPException(503, str(exc)) from None
            data = out.read_bytes()
        name = f"bao-cao-{datetime.fromtimestamp(lo, ctx.timezone):%Y%m%d}.pdf"
        return download(data, "application/pdf", name)

    @api.get("/reports", response_class=HTMLResponse, include_in_schema=False)
    def page(
        request: Request, period: Period = "month", date: str | None = None, by: By = "commune"
    ) -> Response:
        """Dashboard page: totals, indicators, daily chart, table, downloads, monthly runs."""
        who = guard.optional(request)
        if who is None:
            raise HTTPException(401, "cần đăng nhập")
        check_by(who, by)
        lo, hi = period_of(ctx, period, date, None, None)
        report = visible(cache.get(lo, hi), who)

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

    @api.get("/reports/runs/{label}/{name}", include_in_schema=False)
    def run_file(label: str, name: str, who: Principal = reader) -> FileResponse:
        """A file of a generated monthly report."""
        if who.communes is not None:
            raise HTTPException(403, "báo cáo tháng toàn mạng chỉ dành cho tài khoản toàn thành phố")
        runs = {r["period"]: r for r in report_runs_list(ctx.alerting.engine)} if ctx.alerting else {}
        run = runs.get(label)
        files = dict(run["files"]) if run else {}  # type: ignore[call-overload]
        if ctx.reports_dir is None or name not in files.values():
            raise HTTPException(404, f"không có tệp {name} trong báo cáo {label}")
        return FileResponse(ctx.reports_dir / label / name, filename=name)

    return api


def _local(ctx: ApiContext, ts: int) -> str:
    return datetime.fromtimestamp(ts, ctx.timezone).strftime("%H:%M %d/%m/%Y")
