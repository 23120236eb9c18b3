"""JSON API: chart series of a device."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.deps import Ctx, Reader
from api.errors import responses
from api.schemas import SeriesOut
from api.series import MetricName, RangeName, device_series

router = APIRouter(prefix="/api", responses=responses(401, 403, 422))


@router.get(
    "/devices/{device_id}/series", response_model=SeriesOut, tags=["series"], responses=responses(404)
)
def series(
    device_id: str,
    who: Reader,
    ctx: Ctx,
    metric: MetricName = "rtt",
    range: RangeName = "1h",  # noqa: A002 - the query parameter's name
) -> SeriesOut:
    """A device's utilisation (%), errors (/s), RTT (ms) or battery charge (%) with projected runtime."""
    inv = ctx.inventory
    if device_id not in inv.devices or not who.sees(inv.commune_of(device_id)):
        raise HTTPException(404, f"thiết bị {device_id!r} không tồn tại (no such device)")
    return device_series(ctx.store, device_id, metric, range)
