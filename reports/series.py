"""Per-day pooled availability over a period, for the dashboard chart (one pass over the intervals)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alerting.history import Interval
from reports.availability import AVAILABLE


def day_starts(start: int, end: int, tz: ZoneInfo) -> list[int]:
    """Local midnights (epoch s) of the days overlapping [start, end), the first clipped to ``start``."""
    local = datetime.fromtimestamp(start, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    out = [start]
    while True:
        local += timedelta(days=1)
        ts = int(local.timestamp())
        if ts >= end:
            return out
        out.append(ts)


def daily_availability(
    intervals: Iterable[Interval], devices: set[str], start: int, end: int, tz: ZoneInfo
) -> list[dict[str, float | int | None]]:
    """[{"ts": day start, "availability": 0–1 or None, "down_s": …, "available_s": …}] per local day."""
    days = day_starts(start, end, tz)
    bounds = [*days, end]
    avail = [0] * len(days)
    down = [0] * len(days)
    for iv in intervals:
        if iv.subject not in devices or (iv.status not in AVAILABLE and iv.status != "down"):
            continue
        target = avail if iv.status in AVAILABLE else down
        i = max(0, bisect_right(bounds, iv.start) - 1)
        while i < len(days) and bounds[i] < iv.end:
            lo, hi = max(iv.start, bounds[i]), min(iv.end, bounds[i + 1])
            if hi > lo:
                target[i] += hi - lo
            i += 1
    return [
        {
            "ts": days[i],
            "availability": avail[i] / (avail[i] + down[i]) if avail[i] + down[i] else None,
            "down_s": down[i],
            "available_s": avail[i],
        }
        for i in range(len(days))
    ]
