"""The dashboard's door to :func:`alerting.battery.battery_figure`: one battery figure per power system.

The picture (coordinator and NOC rows), the device page's header and its battery
chart all ask :func:`figure_for`, with the fitting settings the alerting core
evaluated with, so a page never computes a runtime of its own.
"""

from __future__ import annotations

import time

from alerting.battery import UPS_MEASUREMENT, BatteryFigure, Fit, figure_from, fit_runtime, on_battery
from alerting.rules.config import BatteryRules
from alerting.states import ANSWERING
from api.context import ApiContext
from inventory.model import DeviceRole
from store.base import Point


def battery_rules(ctx: ApiContext) -> BatteryRules:
    """The battery settings of the alerting core's last evaluation (defaults without a core)."""
    core = ctx.alerting
    in_force = getattr(core, "in_force", None) if core is not None else None
    rules = getattr(in_force, "battery", None)
    return rules if isinstance(rules, BatteryRules) else BatteryRules()


FITS_KEPT = 20_000
_fits: dict[tuple[object, ...], Fit] = {}


def figure_for(ctx: ApiContext, device_id: str, point: Point | None, now: int | None = None) -> BatteryFigure:
    """The battery figure of power system ``device_id`` from its latest UPS reading ``point``.

    The projection made at a reading is kept (one per device and reading; it reads only samples up to
    that reading), so the picture does not refit every on-battery site at every rebuild; the countdown
    to ``now`` is applied each time by the same code as the rule's.
    """
    rules = battery_rules(ctx)
    fields = point.fields if point is not None else None
    read_at = point.ts if point is not None else None
    fit = None
    if point is not None and on_battery(fields):
        key = (id(ctx.store), device_id, point.ts, tuple(sorted(point.fields.items())), rules.fit_window_s,
               rules.fit_min_points)
        fit = _fits.get(key)
        if fit is None:
            if len(_fits) >= FITS_KEPT:
                _fits.clear()
            fit = _fits[key] = fit_runtime(ctx.store, device_id, fields, point.ts, rules.fit_window_s,
                                           rules.fit_min_points)
    return figure_from(
        fit, device_id, fields, read_at,
        observable=ctx.tracker.states[device_id].status in ANSWERING,
        now=int(time.time()) if now is None else now,
    )


def device_figure(ctx: ApiContext, device_id: str, now: int | None = None) -> BatteryFigure | None:
    """The battery figure of a power system read now (None for any other device role)."""
    dev = ctx.inventory.devices.get(device_id)
    if dev is None or dev.role is not DeviceRole.POWER:
        return None
    latest = ctx.store.latest(UPS_MEASUREMENT, where={"device": device_id})
    return figure_for(ctx, device_id, latest[0] if latest else None, now)
