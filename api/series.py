"""Chart series for a device: utilisation, errors, RTT, battery charge and projected runtime.

Short ranges read raw points; long ones ask the store to aggregate into about
``POINTS`` windows so a phone never downloads a week of raw samples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from alerting.rules.power import projected_minutes
from api.schemas import SeriesLine, SeriesOut
from api.views import utc_iso
from store.base import MetricStore, Point

RANGES = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400}
RangeName = Literal["1h", "6h", "24h", "7d"]  # the keys of RANGES (a unit test keeps them equal)
MetricName = Literal["utilisation", "errors", "rtt", "battery"]  # the keys of METRICS
POINTS = 240
RAW_LIMIT_S = 6 * 3600


@dataclass(frozen=True)
class Metric:
    """Which stored fields make one chart."""

    measurement: str
    fields: tuple[tuple[str, str], ...]  # (field, Vietnamese label)
    unit: str
    split_tag: str | None = None  # one line per value of this tag (interfaces)


METRICS = {
    "utilisation": Metric("snmp_if", (("in_util_pct", "vào"), ("out_util_pct", "ra")), "%", "if_index"),
    "errors": Metric(
        "snmp_if", (("in_errors_per_s", "lỗi vào"), ("out_errors_per_s", "lỗi ra")), "/s", "if_index"
    ),
    "rtt": Metric("reachability", (("latency_ms", "thời gian phản hồi"),), "ms"),
    "battery": Metric(
        "ups", (("charge_pct", "dung lượng ắc quy"), ("minutes_remaining", "UPS ước tính (phút)")), "%"
    ),
}


def device_series(
    store: MetricStore, device: str, metric: str, range_: str, now: int | None = None
) -> SeriesOut:
    """The chart data for one device; ``metric`` and ``range_`` are keys of METRICS and RANGES."""
    spec, span = METRICS[metric], RANGES[range_]
    end = now or int(time.time())
    start = end - span
    step = max(1, span // POINTS)
    lines: list[SeriesLine] = []
    for field_name, label in spec.fields:
        points = _read(store, spec.measurement, field_name, start, end, step, device)
        groups: dict[str, list[tuple[int, float]]] = {}
        tags_of: dict[str, dict[str, str]] = {}
        for p in points:
            value = (
                next(iter(p.fields.values()), None) if field_name not in p.fields else p.fields[field_name]
            )
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            key = p.tags.get(spec.split_tag, "") if spec.split_tag else ""
            groups.setdefault(key, []).append((p.ts, round(float(value), 3)))
            tags_of[key] = {k: v for k, v in p.tags.items() if k in ("device", spec.split_tag or "")}
        for key in sorted(groups, key=lambda k: (len(k), k)):
            name = f"{label} if{key}" if key else label
            lines.append(SeriesLine(label=name, tags=tags_of[key], points=sorted(groups[key])))
    projected = None
    if metric == "battery":
        charge = [
            (p.ts, float(p.fields["charge_pct"]))
            for p in store.range("ups", "charge_pct", end - 1800, end, where={"device": device})
            if isinstance(p.fields.get("charge_pct"), int | float)
        ]
        minutes = projected_minutes(charge[-20:])
        projected = None if minutes is None else round(minutes, 1)
    return SeriesOut(
        device=device,
        metric=metric,
        unit=spec.unit,
        start_utc=utc_iso(start),
        end_utc=utc_iso(end),
        step_s=step if span > RAW_LIMIT_S else 0,
        lines=lines,
        projected_minutes=projected,
    )


def _read(
    store: MetricStore, measurement: str, field_name: str, start: int, end: int, step: int, device: str
) -> list[Point]:
    where = {"device": device}
    if end - start > RAW_LIMIT_S:
        try:
            return store.aggregate(measurement, field_name, start, end, step, "mean", where=where)
        except (AttributeError, NotImplementedError):
            pass  # a store without aggregation: fall back to raw points
    return store.range(measurement, field_name, start, end, where=where)
