"""A BTS power system's battery figure — charge, runtime left, how it was estimated — computed once.

Every place that says "còn khoảng N phút" asks :func:`battery_figure`: the power
rule (incident title and details), the coordinator and NOC rows (through
:mod:`api.picture`), and the device page's header and battery chart. Given the
same readings and the same ``now`` they all read the same figure.

Runtime left is projected from the slope of the battery charge over the last
``fit_window_s`` seconds of the current discharge (least-squares line), which
tracks a real discharge better than the UPS's own estimate; the UPS-MIB
estimate is used until there are ``fit_min_points`` readings. When the power
system can no longer be observed, the figure is *last known*: the runtime
counts down from the last reading, and the label says when it was estimated
("ước tính lúc HH:MM").
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from common.timefmt import local_time
from store.base import FieldValue, MetricStore

UPS_MEASUREMENT = "ups"
ON_BATTERY_SOURCE = 5  # UPS-MIB upsOutputSource battery(5)
METHOD_SLOPE = "dự báo theo tốc độ xả"
METHOD_UPS = "ước tính của UPS"
DEFAULT_FIT_WINDOW_S = 900
DEFAULT_FIT_MIN_POINTS = 3


def on_battery(fields: Mapping[str, FieldValue] | None) -> bool:
    """Whether UPS-MIB fields say the load runs on battery.

    True when ``output_source`` is battery(5) or ``seconds_on_battery`` is above 0.
    """
    if not fields:
        return False
    seconds = fields.get("seconds_on_battery")
    on_for_a_while = isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0
    return fields.get("output_source") == ON_BATTERY_SOURCE or on_for_a_while


def projected_minutes(points: list[tuple[int, float]]) -> float | None:
    """Minutes until the charge reaches 0 on the least-squares line through ``points``.

    ``points`` are (epoch seconds, charge %). None when the charge is not falling.
    """
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_c = sum(c for _, c in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    slope = sum((t - mean_t) * (c - mean_c) for t, c in points) / var  # % per second
    if slope >= 0:
        return None
    last_t = points[-1][0]
    charge_now = mean_c + slope * (last_t - mean_t)
    return max(charge_now, 0.0) / -slope / 60.0


@dataclass(frozen=True, slots=True)
class BatteryFigure:
    """What is known of one power system's battery at ``now``.

    ``minutes_left`` is the runtime left at ``now`` (counted down from ``read_at``
    when ``last_known``); ``since``: when the current discharge began.
    """

    device: str
    on_battery: bool
    charge_pct: float | None
    minutes_left: float | None
    method: str | None
    read_at: int | None
    last_known: bool
    since: int | None = None

    def left_text(self, tz: ZoneInfo) -> str:
        """'còn khoảng 64 phút', with '(ước tính lúc HH:MM)' when last known; '' without a figure."""
        if self.minutes_left is None:
            return ""
        text = "có thể đã cạn ắc quy"
        if self.minutes_left > 0:
            text = f"còn khoảng {round(self.minutes_left)} phút"
        if self.last_known and self.read_at:
            text += f" (ước tính lúc {hhmm(self.read_at, tz)})"
        return text

    def label(self, tz: ZoneInfo) -> str:
        """'Đang chạy ắc quy, còn khoảng 64 phút' (or 'Đang dùng điện lưới'), for people."""
        if not self.on_battery:
            return "Đang dùng điện lưới"
        head = "Đang chạy ắc quy"
        if self.last_known and self.read_at:
            head += f" (lần cuối lúc {hhmm(self.read_at, tz)})"
        left = self.left_text(tz)
        return f"{head}, {left}" if left else head


@dataclass(frozen=True, slots=True)
class Fit:
    """The runtime projection at the time of a reading (before any countdown)."""

    minutes: float | None
    method: str | None
    since: int


def fit_runtime(
    store: MetricStore,
    device: str,
    fields: Mapping[str, FieldValue] | None,
    at: int,
    fit_window_s: int = DEFAULT_FIT_WINDOW_S,
    fit_min_points: int = DEFAULT_FIT_MIN_POINTS,
) -> Fit:
    """Minutes of battery left as of the reading at ``at``: the discharge slope over the current
    discharge (at most ``fit_window_s``), else the UPS's own estimate."""
    seconds = _number((fields or {}).get("seconds_on_battery"))
    since = at - int(seconds) if seconds else at
    start = max(since, at - fit_window_s)
    series = store.range(UPS_MEASUREMENT, "charge_pct", start, at, where={"device": device})
    points = [(p.ts, float(v)) for p in series if (v := _number(p.fields.get("charge_pct"))) is not None]
    minutes = projected_minutes(points) if len(points) >= fit_min_points else None
    method: str | None = METHOD_SLOPE if minutes is not None else None
    estimate = _number((fields or {}).get("minutes_remaining"))
    if minutes is None and estimate is not None:
        minutes, method = estimate, METHOD_UPS
    return Fit(minutes, method, since)


class FitMemo:
    """Projections already made, one per reading (bounded, least recently used first out).

    Why: a reading's projection is fitted over the readings up to it, which do not
    change afterwards; the power rule runs at every evaluation — several a second on
    a national inventory — and would otherwise query the store for every power
    system on battery each time.
    """

    def __init__(self, size: int = 20_000) -> None:
        """Keep at most ``size`` projections."""
        self.size = size
        self._fits: OrderedDict[Hashable, Fit] = OrderedDict()

    def fit(self, store: MetricStore, device: str, fields: Mapping[str, FieldValue] | None, at: int,
            fit_window_s: int = DEFAULT_FIT_WINDOW_S, fit_min_points: int = DEFAULT_FIT_MIN_POINTS) -> Fit:
        """:func:`fit_runtime`, made once per reading."""
        key = (device, at, tuple(sorted((fields or {}).items())), fit_window_s, fit_min_points)
        found = self._fits.get(key)
        if found is not None:
            self._fits.move_to_end(key)
            return found
        made = self._fits[key] = fit_runtime(store, device, fields, at, fit_window_s, fit_min_points)
        if len(self._fits) > self.size:
            self._fits.popitem(last=False)
        return made


def figure_from(
    fit: Fit | None,
    device: str,
    fields: Mapping[str, FieldValue] | None,
    read_at: int | None,
    *,
    observable: bool,
    now: int,
) -> BatteryFigure:
    """The figure at ``now`` from a projection made at the reading (``fit``; None when on mains)."""
    charge = _number((fields or {}).get("charge_pct"))
    last_known = not observable
    if fit is None or not on_battery(fields):
        return BatteryFigure(device, False, charge, None, None, read_at, last_known)
    at = read_at if read_at is not None else now
    minutes = fit.minutes
    if minutes is not None and last_known:
        minutes = max(0.0, minutes - max(0, now - at) / 60.0)  # counting down since the last reading
    return BatteryFigure(
        device, True, charge, None if minutes is None else round(minutes, 1), fit.method, at, last_known,
        fit.since,
    )


def battery_figure(
    store: MetricStore,
    device: str,
    fields: Mapping[str, FieldValue] | None,
    read_at: int | None,
    *,
    observable: bool,
    now: int,
    fit_window_s: int = DEFAULT_FIT_WINDOW_S,
    fit_min_points: int = DEFAULT_FIT_MIN_POINTS,
    memo: FitMemo | None = None,
) -> BatteryFigure:
    """The one battery figure of power system ``device`` at ``now``.

    ``fields``/``read_at``: its latest UPS-MIB reading and when it was taken;
    ``observable``: it answers now (else the figure is last known and counts down
    from ``read_at``). The charge series is read from ``store`` only while on battery,
    once per reading when a ``memo`` is given.
    """
    fit = None
    if on_battery(fields):
        at = read_at if read_at is not None else now
        make = memo.fit if memo is not None else fit_runtime
        fit = make(store, device, fields, at, fit_window_s, fit_min_points)
    return figure_from(fit, device, fields, read_at, observable=observable, now=now)


def hhmm(ts: int, tz: ZoneInfo) -> str:
    """'HH:MM' of ``ts`` on the people's clock."""
    return local_time(ts, tz, "time")


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
