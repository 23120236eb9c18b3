"""What the report and IOC routes share: the report cache, the period of a request, availability rows.

Defined once so the two rooms of the API never import each other.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from fastapi import HTTPException
from pydantic import BaseModel, Field

from alerting.history import StateHistory
from api.auth.roles import Principal
from api.context import ApiContext
from reports.indicators import compute_indicators
from reports.report import AvailabilityReport, build_report, period_bounds

CACHE_S = 60.0
MIN_YEAR, MAX_YEAR = 1970, 2099  # report dates outside are bad input (422)


class ReportCache:
    """Builds reports on the alerting database, at most once a minute per period."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()
        self._cache: dict[tuple[int, int], tuple[float, AvailabilityReport]] = {}
        self._scoped: dict[tuple[int, int, int, frozenset[str]], tuple[float, AvailabilityReport]] = {}

    def get(self, start: int, end: int) -> AvailabilityReport:
        """The report for [start, end) (end already clipped to now by :func:`period_of`)."""
        if self.ctx.alerting is None:
            raise HTTPException(503, "alerting database not available")
        key = (start, end - end % 60)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < CACHE_S:
                return hit[1]
            report = build_report(
                self.ctx.alerting.engine, self.ctx.inventory, start, end, store=self.ctx.store
            )
            self._cache = {k: v for k, v in self._cache.items() if time.monotonic() - v[0] < CACHE_S}
            self._cache[key] = (time.monotonic(), report)
            return report

    def visible(self, report: AvailabilityReport, who: Principal) -> AvailabilityReport:
        """``report`` as ``who`` may see it: a commune-scoped principal gets its communes' devices,
        backup and battery time, and indicators computed over its communes only (never the network's)."""
        if who.communes is None:
            return report
        if self.ctx.alerting is None:
            raise HTTPException(503, "alerting database not available")
        key = (report.start, report.end, report.generated_at, who.communes)
        with self._lock:
            hit = self._scoped.get(key)
            if hit is not None and time.monotonic() - hit[0] < CACHE_S:
                return hit[1]
        inv = report.inventory
        mine = {d: r for d, r in report.devices.items() if who.sees(inv.sites[inv.devices[d].site].commune)}
        communes = {c for c in inv.watched_communes if who.sees(c)}
        indicators = compute_indicators(
            inv, mine, StateHistory(self.ctx.alerting.engine).intervals(report.start, report.end),
            store=self.ctx.store, now=min(report.generated_at, report.end), communes=communes,
        )
        scoped = AvailabilityReport(
            inv,
            report.start,
            report.end,
            report.generated_at,
            mine,
            {c: s for c, s in report.backup_s.items() if who.sees(c)},
            {c: s for c, s in report.battery_commune_s.items() if who.sees(c)},
            indicators,
        )
        with self._lock:
            self._scoped = {k: v for k, v in self._scoped.items() if time.monotonic() - v[0] < CACHE_S}
            self._scoped[key] = (time.monotonic(), scoped)
        return scoped


def period_of(
    ctx: ApiContext, period: str, date: str | None, start: int | None, end: int | None
) -> tuple[int, int]:
    """[start, end) of the request, end clipped to now; 422 with the reason on bad input."""
    now = int(time.time())
    if start is not None or end is not None:
        if start is None or end is None or end <= start:
            raise HTTPException(422, "cần cả start và end (epoch giây), end > start")
        lo, hi = start, end
    else:
        ref = now
        if date:
            try:
                day = datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=ctx.timezone)
            except ValueError:
                raise HTTPException(422, f"date={date[:40]!r}: cần dạng YYYY-MM-DD") from None
            if not MIN_YEAR <= day.year <= MAX_YEAR:
                raise HTTPException(422, f"date={date!r}: năm phải trong khoảng {MIN_YEAR}–{MAX_YEAR}")
            ref = int(day.timestamp())
        try:
            lo, hi = period_bounds(period, ref, ctx.timezone)
        except (ValueError, OverflowError):
            raise HTTPException(422, f"kỳ báo cáo ngoài phạm vi (out of range): {period} {date}") from None
    hi = min(hi, now)
    if hi <= lo:
        raise HTTPException(422, "kỳ báo cáo chưa bắt đầu")
    return lo, hi



class IocAvailability(BaseModel):
    """Pooled availability of one group over the period."""

    key: str
    name: str
    devices: int
    availability_pct: float | None = Field(
        description="maintenance excluded; cut-off time counts for the parent"
    )
    observed_s: int
    down_s: int
    outages: int
    mttr_s: float | None
    maintenance_s: int
    backup_s: int
    battery_s: int
    unreachable_s: int = Field(
        default=0, description="device-seconds cut off behind a failed parent (not in the availability)"
    )
    unreachable_pct: float | None = Field(
        default=None, description="share of the group's device time unreachable, percent"
    )


def percent(value: float | None) -> float | None:
    """A ratio as a percentage with 4 decimals (None stays None)."""
    return None if value is None else round(100 * value, 4)


def _share(part: int, whole: int) -> float | None:
    """``part`` as a percentage of ``whole`` (two decimals; None when there is no whole)."""
    return round(100 * part / whole, 2) if whole > 0 else None


def availability_items(report: AvailabilityReport, by: str, who: Principal) -> list[IocAvailability]:
    """Groups of ``report`` visible to ``who`` (commune-scoped principals see their communes only)."""
    inv = report.inventory
    groups = report.groups(by)
    if who.communes is not None:
        if by == "commune":
            groups = [g for g in groups if who.sees(g.key)]
        elif by == "device":
            groups = [g for g in groups if who.sees(inv.sites[inv.devices[g.key].site].commune)]
        else:
            raise HTTPException(
                403, "tài khoản theo xã chỉ xem được theo xã hoặc thiết bị (by=commune|device)"
            )
    return [
        IocAvailability(
            key=g.key,
            name=report.name_of(by, g.key),
            devices=g.devices,
            availability_pct=percent(g.availability),
            observed_s=g.observed_s,
            down_s=g.down_s,
            outages=g.outages,
            mttr_s=g.mttr_s,
            maintenance_s=g.maintenance_s,
            backup_s=g.backup_s,
            battery_s=g.battery_s,
            unreachable_s=g.unreachable_s,
            unreachable_pct=_share(g.unreachable_s, g.devices * (report.end - report.start)),
        )
        for g in groups
    ]
