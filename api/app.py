"""FastAPI application: JSON API under /api and the Vietnamese status page at /."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api import views
from api.context import ApiContext
from api.schemas import CommuneOut, DeviceOut, PollerOut

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]] | Callable[[FastAPI], AsyncIterator[None]]


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("api").joinpath(name)))


def create_app(ctx: ApiContext, lifespan: Lifespan | None = None) -> FastAPI:
    """Build the app around read-only ``ctx``; ``lifespan`` lets the caller run the poller."""
    app = FastAPI(title="Trucban", version="0.1.0", lifespan=lifespan,
                  description="Giám sát mạng truyền số liệu chuyên dùng và trạm BTS cấp xã")
    templates = Jinja2Templates(directory=str(_package_dir("templates")))
    app.mount("/static", StaticFiles(directory=str(_package_dir("static"))), name="static")

    @app.get("/api/communes", response_model=list[CommuneOut], tags=["communes"])
    def list_communes(status: str | None = Query(default=None, description="lọc theo trạng thái")
                      ) -> list[CommuneOut]:
        """Every watched commune with its status summary."""
        items = views.communes(ctx)
        return [c for c in items if status is None or c.status == status]

    @app.get("/api/communes/{code}", response_model=CommuneOut, tags=["communes"])
    def get_commune(code: str) -> CommuneOut:
        """One commune's status."""
        for item in views.communes(ctx):
            if item.code == code:
                return item
        raise HTTPException(status_code=404, detail=f"commune {code!r} is not watched")

    @app.get("/api/devices", response_model=list[DeviceOut], tags=["devices"])
    def list_devices(commune: str | None = None, status: str | None = None) -> list[DeviceOut]:
        """Devices with current state; filter by commune code and status."""
        if commune is not None and commune not in ctx.inventory.devices_by_commune:
            raise HTTPException(status_code=404, detail=f"commune {commune!r} is not watched")
        return views.devices(ctx, commune, status)

    @app.get("/api/poller", response_model=PollerOut, tags=["health"])
    def poller_health() -> PollerOut:
        """Self-metrics of the last poll cycle."""
        return views.poller(ctx)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        """Commune status page (server-rendered, refreshes itself from /api/communes)."""
        inv = ctx.inventory
        return templates.TemplateResponse(request, "index.html", {
            "communes": views.communes(ctx),
            "province": inv.reference.provinces.get(inv.province, inv.province),
            "poller": views.poller(ctx),
        })

    return app
