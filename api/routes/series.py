"""JSON API: chart series of a device."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from api.bands import device_bands
from api.deps import Ctx, Reader
from api.errors import responses
from api.power import device_figure
from api.schemas import SeriesOut
from api.series import MAX_CUSTOM_S, RANGES, MetricName, RangeName, device_series

router = APIRouter(prefix="/api", responses=responses(401, 403, 422))
Epoch = Annotated[int | None, Query(ge=0, le=2**33, description="custom range bound, epoch seconds")]


@router.get(
    "/devices/{device_id}/series", response_model=SeriesOut, tags=["series"], responses=responses(404)
)
def series(
    device_id: str,
    who: Reader,
    ctx: Ctx,
    metric: MetricName = "rtt",
    range: RangeName = "1h",  # noqa: A002 - the query parameter's name
    start: Epoch = None,
    end: Epoch = None,
) -> SeriesOut:
    """A device's utilisation (%), errors (/s), RTT (ms; timeouts are gaps) or battery charge (%) with
    the projected runtime (minutes, on an axis of its own), and its incidents and maintenance windows
    as bands. ``start``/``end`` (epoch s, at most 31 days apart) replace ``range``."""
    inv = ctx.inventory
    if device_id not in inv.devices or not who.sees(inv.commune_of(device_id)):
        raise HTTPException(404, f"thiết bị {device_id!r} không tồn tại (no such device)")
    now = int(time.time())
    hi = min(end, now) if end is not None else now
    lo = start if start is not None else hi - RANGES[range]
    if hi <= lo or hi - lo > MAX_CUSTOM_S:
        raise HTTPException(422, "khoảng thời gian không hợp lệ: bắt đầu phải trước kết thúc, tối đa 31 ngày")
    return device_series(
        ctx.store, device_id, metric, range, now, start=lo, end=hi,
        figure=device_figure(ctx, device_id, now) if metric == "battery" else None,
        bands=device_bands(ctx, device_id, lo, hi),
    )
