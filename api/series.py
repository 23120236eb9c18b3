"""Chart series for a device: utilisation, errors, RTT, battery charge and projected runtime.

Short ranges read raw points; long ones ask the store to aggregate into about
``POINTS`` windows so a phone never downloads a week of raw samples.

Charts that do not lie: a poll that timed out is a gap in the response-time line
(never a 4,000 ms "response"); percent lines sit on a 0–100 axis and minutes on
an axis of their own; the device's incidents and maintenance windows come along
as bands; the projected runtime is the one battery figure (:mod:`alerting.battery`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from alerting.battery import BatteryFigure
from api.schemas import SeriesBand, SeriesLine, SeriesOut
from api.views import utc_iso
from store.base import Aggregation, MetricStore, Point

RANGES = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400}
RangeName = Literal["1h", "6h", "24h", "7d"]  # the keys of RANGES (a unit test keeps them equal)
MetricName = Literal["utilisation", "errors", "rtt", "battery"]  # the keys of METRICS
POINTS = 240
RAW_LIMIT_S = 6 * 3600
MAX_CUSTOM_S = 31 * 86400  # a custom range spans at most a month
MINUTES = "phút"


@dataclass(frozen=True)
class Metric:
    """Which stored fields make one chart."""

    measurement: str
    fields: tuple[tuple[str, str], ...]  # (field, Vietnamese label)
    unit: str
    split_tag: str | None = None  # one line per value of this tag (interfaces)
    axes: tuple[str, ...] = ()  # per field: the axis unit when not ``unit`` (minutes beside percent)
    gaps_when_down: bool = False  # a failed poll is a gap, not a value (its latency is the timeout)


METRICS = {
    "utilisation": Metric("snmp_if", (("in_util_pct", "vào"), ("out_util_pct", "ra")), "%", "if_index"),
    "errors": Metric(
        "snmp_if", (("in_errors_per_s", "lỗi vào"), ("out_errors_per_s", "lỗi ra")), "/s", "if_index"
    ),
    "rtt": Metric("reachability", (("latency_ms", "thời gian phản hồi"),), "ms", gaps_when_down=True),
    "battery": Metric(
        "ups",
        (("charge_pct", "dung lượng ắc quy"), ("minutes_remaining", "UPS ước tính")),
        "%",
        axes=("%", MINUTES),
    ),
}


def device_series(
    store: MetricStore,
    device: str,
    metric: str,
    range_: str,
    now: int | None = None,
    *,
    start: int | None = None,
    end: int | None = None,
    figure: BatteryFigure | None = None,
    bands: list[SeriesBand] | None = None,
) -> SeriesOut:
    """The chart data for one device; ``metric`` and ``range_`` are keys of METRICS and RANGES.

    ``start``/``end`` (epoch s) make a custom range instead of ``range_``; ``figure`` is the
    device's battery figure (its runtime is the chart's projection); ``bands``: incidents and
    maintenance windows to shade.
    """
    spec = METRICS[metric]
    hi = end if end is not None else (now or int(time.time()))
    lo = start if start is not None else hi - RANGES[range_]
    span = max(1, hi - lo)
    step = max(1, span // POINTS)
    lines: list[SeriesLine] = []
    down, partial = _failed_polls(store, device, lo, hi, step) if spec.gaps_when_down else (set(), set())
    for i, (field_name, label) in enumerate(spec.fields):
        points = _read(store, spec.measurement, field_name, lo, hi, step, device)
        if partial:  # a window with some timeouts: its mean counts them; its best answer does not
            best = {p.ts: p for p in _read(store, spec.measurement, field_name, lo, hi, step, device, "min")}
            points = [best.get(p.ts, p) if p.ts in partial else p for p in points]
        groups: dict[str, list[tuple[int, float | None]]] = {}
        tags_of: dict[str, dict[str, str]] = {}
        for p in points:
            value = (
                next(iter(p.fields.values()), None) if field_name not in p.fields else p.fields[field_name]
            )
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            key = p.tags.get(spec.split_tag, "") if spec.split_tag else ""
            shown = None if p.ts in down else round(float(value), 3)
            groups.setdefault(key, []).append((p.ts, shown))
            tags_of[key] = {k: v for k, v in p.tags.items() if k in ("device", spec.split_tag or "")}
        axis = spec.axes[i] if i < len(spec.axes) else spec.unit
        for key in sorted(groups, key=lambda k: (len(k), k)):
            name = f"{label} if{key}" if key else label
            lines.append(SeriesLine(label=name, tags=tags_of[key], points=sorted(groups[key]), axis=axis))
    projected = None
    if metric == "battery" and figure is not None and figure.on_battery:
        projected = figure.minutes_left
    return SeriesOut(
        device=device,
        metric=metric,
        unit=spec.unit,
        start_utc=utc_iso(lo),
        end_utc=utc_iso(hi),
        step_s=step if span > RAW_LIMIT_S else 0,
        lines=lines,
        projected_minutes=projected,
        start=lo,
        end=hi,
        percent=spec.unit == "%",
        bands=[b for b in (bands or []) if b.end >= lo and b.start <= hi],
        gaps=len(down),
    )


def _failed_polls(
    store: MetricStore, device: str, start: int, end: int, step: int
) -> tuple[set[int], set[int]]:
    """Timestamps (raw) or windows (aggregated) of polls that got no answer — gaps in the chart —
    and aggregated windows where only some did."""
    down, partial = set(), set()
    for p in _read(store, "reachability", "up", start, end, step, device):
        value = p.fields.get("up")
        if not isinstance(value, int | float):
            continue
        if value <= 0:
            down.add(p.ts)
        elif value < 1:
            partial.add(p.ts)
    return down, partial


def _read(
    store: MetricStore,
    measurement: str,
    field_name: str,
    start: int,
    end: int,
    step: int,
    device: str,
    fn: Aggregation = "mean",
) -> list[Point]:
    where = {"device": device}
    if end - start > RAW_LIMIT_S:
        try:
            return store.aggregate(measurement, field_name, start, end, step, fn, where=where)
        except (AttributeError, NotImplementedError):
            pass  # a store without aggregation: fall back to raw points
    return store.range(measurement, field_name, start, end, where=where)
