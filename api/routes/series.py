"""JSON API: chart series of a device."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException

from api.auth.roles import Permission, Principal
from api.context import ApiContext
from api.errors import responses
from api.guard import Guard
from api.schemas import SeriesOut
from api.series import device_series


def router(ctx: ApiContext, guard: Guard) -> APIRouter:
    """The series endpoint."""
    api = APIRouter(prefix="/api", responses=responses(401, 403, 422))

    @api.get(
        "/devices/{device_id}/series", response_model=SeriesOut, tags=["series"], responses=responses(404)
    )
    def series(
        device_id: str,
        metric: Literal["utilisation", "errors", "rtt", "battery"] = "rtt",
        range: Literal["1h", "6h", "24h", "7d"] = "1h",  # noqa: A002 - the query parameter's name
        who: Principal = Depends(guard.need(Permission.READ)),  # noqa: B008
    ) -> SeriesOut:
        """A device's utilisation (%), errors (/s), RTT (ms) or battery charge (%) with projected runtime."""
        inv = ctx.inventory
        if device_id not in inv.devices or not who.sees(inv.commune_of(device_id)):
            raise HTTPException(404, f"thiết bị {device_id!r} không tồn tại (no such device)")
        return device_series(ctx.store, device_id, metric, range)

    return api
