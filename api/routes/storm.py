"""JSON API of the storm desk: import a forecast, see exposure and readiness, confirm typhoon mode."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, UploadFile
from pydantic import BaseModel

from api.auth.roles import Principal
from api.context import ApiContext
from api.deps import Coordinator, Ctx, Reader
from api.errors import responses
from api.guard import client_ip
from api.views import utc_iso
from storm.desk import StormDesk, StormNotFound, StormProposal, StormSummary
from storm.model import TrackError

MAX_UPLOAD = 5 * 2**20
IMPORTS = 1  # bulletins parsed at once (each in a worker thread, off the event loop)


class ExposureOut(BaseModel):
    """One exposed commune."""

    code: str
    name: str
    eta_utc: str
    wind_kt: int | None
    wind_class: str
    via: str
    closest_km: float | None


class StormOut(BaseModel):
    """An imported forecast, its exposure, readiness and the decision taken."""

    id: int
    name: str
    source: str
    filename: str
    imported_utc: str
    imported_by: str
    status: str
    decided_by: str | None
    declaration_id: int | None
    exposure: list[ExposureOut]
    readiness: dict[str, list[str]]


class StormSummaryOut(BaseModel):
    """One line of the storm list (the overlay is at ``/api/storms/{id}/overlay``)."""

    id: int
    name: str
    source: str
    status: str
    imported_utc: str
    imported_by: str
    decided_utc: str | None
    exposed_communes: int  # within the caller's scope
    first_eta_utc: str | None
    last_eta_utc: str | None


class ReplayOut(BaseModel):
    """How an exposed commune fared around the storm's arrival, from the state history."""

    code: str
    name: str
    start_utc: str
    end_utc: str
    up_pct: float | None
    went_down: list[str]
    cut_off: list[str]


def storm_out(s: StormProposal, who: Principal | None = None) -> StormOut:
    """API form; a command-post viewer sees only its own communes' exposure."""
    rows = [e for e in s.exposure if who is None or who.sees(e["code"])]
    return StormOut(
        id=s.id, name=s.name, source=s.source, filename=s.filename, imported_utc=utc_iso(s.imported_at),
        imported_by=s.imported_by, status=s.status, decided_by=s.decided_by, declaration_id=s.declaration_id,
        exposure=[ExposureOut(code=e["code"], name=e["name"], eta_utc=utc_iso(int(e["eta"])),
                              wind_kt=e["wind_kt"] or None, wind_class=e["wind_class"], via=e["via"],
                              closest_km=e["closest_km"]) for e in rows],
        # the readiness report covers the whole network: a commune-scoped viewer does not get it
        readiness=s.readiness if who is None or who.communes is None else {},
    )


def summary_out(s: StormSummary, who: Principal) -> StormSummaryOut:
    """List form; counts and times only over the communes the caller may see."""
    etas = [int(e["eta"]) for e in s.exposure if who.sees(e["code"])]
    return StormSummaryOut(
        id=s.id, name=s.name, source=s.source, status=s.status, imported_utc=utc_iso(s.imported_at),
        imported_by=s.imported_by, decided_utc=utc_iso(s.decided_at) if s.decided_at else None,
        exposed_communes=len(etas), first_eta_utc=utc_iso(min(etas)) if etas else None,
        last_eta_utc=utc_iso(max(etas)) if etas else None,
    )


router = APIRouter(prefix="/api/storms", tags=["storms"], responses=responses(401, 403, 404, 422))


def storm_desk(ctx: Ctx) -> StormDesk:
    """The storm-track desk; 404 when this service runs without one."""
    if ctx.storms is None:
        raise HTTPException(404, "bàn theo dõi bão chưa được bật (storm desk is off)")
    return ctx.storms


Desk = Annotated[StormDesk, Depends(storm_desk)]


def _get(desk: StormDesk, storm_id: int) -> StormProposal:
    try:
        return desk.get(storm_id)
    except StormNotFound as exc:
        raise HTTPException(404, str(exc)) from None


def _importing(request: Request) -> asyncio.Semaphore:
    """The app's import slot (bulletins are parsed one at a time, each in a worker thread)."""
    state = request.app.state
    if getattr(state, "storm_imports", None) is None:
        state.storm_imports = asyncio.Semaphore(IMPORTS)
    return state.storm_imports  # type: ignore[no-any-return]


@router.get("", response_model=list[StormSummaryOut])
def list_storms(who: Reader, desk: Desk) -> list[StormSummaryOut]:
    """Recently imported forecasts, newest first: summaries only (details and overlay on their routes)."""
    return [summary_out(s, who) for s in desk.summaries()]


@router.get("/current", response_model=StormOut)
def current_storm(who: Reader, desk: Desk) -> StormOut:
    """The newest forecast not dismissed (what the coordinator map overlays)."""
    for storm in desk.recent():
        if storm.status != "dismissed":
            return storm_out(storm, who)
    raise HTTPException(404, "chưa có bản tin bão nào (no storm imported)")


@router.get("/{storm_id}", response_model=StormOut)
def get_storm(storm_id: int, who: Reader, desk: Desk) -> StormOut:
    """One imported forecast."""
    return storm_out(_get(desk, storm_id), who)


@router.get("/{storm_id}/overlay", response_model=dict[str, Any])
def storm_overlay(storm_id: int, who: Reader, desk: Desk) -> dict[str, Any]:
    """The forecast as a GeoJSON FeatureCollection for the map (bounded: ≤ 2,000 points, ≤ 200 KB)."""
    try:
        return desk.overlay(storm_id)
    except StormNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.delete("/{storm_id}", status_code=204, response_class=Response)
def delete_storm(storm_id: int, request: Request, who: Coordinator, ctx: Ctx, desk: Desk) -> Response:
    """Forget an imported forecast (a typhoon mode already declared is not touched)."""
    try:
        name = desk.delete(storm_id)
    except StormNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    _audit(ctx, who, "storm.delete", f"storm:{storm_id}", {"name": name}, client_ip(request))
    return Response(status_code=204)


@router.get("/{storm_id}/replay", response_model=list[ReplayOut])
def replay_storm(storm_id: int, who: Reader, desk: Desk) -> list[ReplayOut]:
    """Replay against recorded data: up-time and failures of each exposed commune (drills)."""
    _get(desk, storm_id)
    return [ReplayOut(code=r.code, name=r.name, start_utc=utc_iso(r.start), end_utc=utc_iso(r.end),
                      up_pct=r.up_pct, went_down=list(r.went_down), cut_off=list(r.cut_off))
            for r in desk.replay(storm_id) if who.sees(r.code)]


@router.post("", response_model=StormOut, status_code=201)
async def import_storm(
    file: UploadFile, request: Request, who: Coordinator, ctx: Ctx, desk: Desk
) -> StormOut:
    """Import a bulletin (GeoJSON, CAP 1.2 XML or IBTrACS CSV); a malformed file is rejected whole.

    Bounded: ≤ 5 MiB, ≤ 25,000 points, nesting ≤ 32, numbers finite and in range, years
    1850–2100, a track ≤ 60 days. Parsed in a worker thread, one at a time; the stored
    overlay is simplified to ≤ 2,000 points.
    """
    content = await file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise HTTPException(422, f"tệp quá lớn (> {MAX_UPLOAD // 2**20} MB)")
    path = Path(Path(file.filename or "bulletin").name[:300] or "bulletin")
    try:
        async with _importing(request):
            prepared = await asyncio.to_thread(desk.prepare, path, content)
    except TrackError as exc:
        raise HTTPException(422, f"bản tin không hợp lệ: {str(exc)[:1000]}") from None
    storm = desk.store(prepared, who.name)
    _audit(ctx, who, "storm.import", f"storm:{storm.id}", {"name": storm.name}, client_ip(request))
    return storm_out(storm)


@router.post("/{storm_id}/confirm", response_model=StormOut)
def confirm_storm(storm_id: int, who: Coordinator, ctx: Ctx, desk: Desk) -> StormOut:
    """Declare typhoon mode for exactly the exposed communes."""
    _get(desk, storm_id)
    try:
        storm = desk.confirm(storm_id, by=who.name)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    _audit(ctx, who, "storm.confirm", f"{storm_id} → typhoon #{storm.declaration_id}")
    return storm_out(storm)


@router.post("/{storm_id}/dismiss", response_model=StormOut)
def dismiss_storm(storm_id: int, who: Coordinator, ctx: Ctx, desk: Desk) -> StormOut:
    """Record that the proposal was not taken."""
    _get(desk, storm_id)
    storm = desk.dismiss(storm_id, by=who.name)
    _audit(ctx, who, "storm.dismiss", str(storm_id))
    return storm_out(storm)


def _audit(ctx: ApiContext, who: Principal, action: str, target: str,
           details: dict[str, Any] | None = None, ip: str = "") -> None:
    if ctx.security is not None:
        ctx.security.audit.record(who.name, action, target, details, ip)
