"""Bounds on what a storm bulletin may contain, checked while parsing (nothing is imported otherwise).

A bulletin comes from outside: every number must be finite and in range, the
document shallow, the point count and the time span bounded, so that one file
can never make the import (exposure, overlay, database) grow without bound.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from storm.model import TrackError

MAX_POSITIONS = 25_000  # track fixes + polygon vertices + CAP pairs, whole file
MAX_FEATURES = 25_000
MAX_AREAS = 200  # cones / warning polygons / circles
MAX_DEPTH = 32  # JSON nesting ([ and {); a MultiPolygon feature needs 8
MAX_NUMBER_DIGITS = 30  # digits of one number literal
MAX_RADIUS_KM = 2_000.0  # the largest gale radius on record is ~1,100 km (Tip, 1979)
MAX_WIND_KT = 300.0
MAX_SPAN_S = 60 * 86_400  # a track longer than 60 days is not a storm
MIN_YEAR, MAX_YEAR = 1850, 2100  # IBTrACS begins in 1842; forecasts are for the next days
MAX_TEXT = 200  # names, labels

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_DIGITS = re.compile(rf"\d{{{MAX_NUMBER_DIGITS + 1},}}")


def check_json_text(where: str, raw: str) -> None:
    """Nesting depth and number length, before the text is parsed."""
    bare = _STRINGS.sub('""', raw)
    if _DIGITS.search(bare):
        raise TrackError(f"{where}: số quá dài (> {MAX_NUMBER_DIGITS} chữ số) — number too long")
    depth = 0
    for m in _BRACKETS.finditer(bare):
        if m.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise TrackError(f"{where}: lồng nhau quá sâu (> {MAX_DEPTH} mức) — nesting too deep")
        else:
            depth -= 1


def reject_constant(name: str) -> Any:
    """``json.loads(parse_constant=…)``: NaN and Infinity are not numbers a bulletin may hold."""
    raise TrackError(f"giá trị không hữu hạn {name} (NaN/Infinity không được phép) — non-finite number")


def finite_float(text: str) -> float:
    """``json.loads(parse_float=…)``: 1e999 is infinity, refused like Infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise TrackError(f"số không hữu hạn {text[:40]!r} — non-finite number")
    return value


def number(where: str, value: Any, low: float, high: float, what: str) -> float:
    """A finite number (not a bool) within [low, high]; TrackError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TrackError(f"{where}: {what} phải là số, nhận được {_short(value)} — not a number")
    x = float(value)
    if not math.isfinite(x) or not low <= x <= high:
        raise TrackError(f"{where}: {what} ngoài khoảng [{low:g}, {high:g}]: {_short(value)} — out of range")
    return x


def lat_lon(where: str, lat: Any, lon: Any) -> tuple[float, float]:
    """Latitude −90..90 and longitude −180..180, finite."""
    return (number(where, lat, -90, 90, "vĩ độ (latitude)"),
            number(where, lon, -180, 180, "kinh độ (longitude)"))


def radius(where: str, value: Any) -> float:
    """A wind radius in km: finite, ≥ 0 and ≤ MAX_RADIUS_KM."""
    return number(where, value, 0, MAX_RADIUS_KM, "bán kính gió (km)")


def checked_time(where: str, dt: datetime) -> int:
    """Epoch seconds of an aware datetime whose UTC year is sane."""
    wrong = f"{where}: năm ngoài khoảng {MIN_YEAR}–{MAX_YEAR}: {dt.isoformat()} — year out of range"
    try:
        utc = dt.astimezone(UTC)
    except (OverflowError, ValueError):
        raise TrackError(wrong) from None
    if not MIN_YEAR <= utc.year <= MAX_YEAR:
        raise TrackError(wrong)
    return int(utc.timestamp())


def check_span(where: str, stamps: list[int]) -> None:
    """A track spanning more than MAX_SPAN_S is refused (the exposure samples it every 30 minutes)."""
    if stamps and max(stamps) - min(stamps) > MAX_SPAN_S:
        days = (max(stamps) - min(stamps)) / 86_400
        raise TrackError(f"{where}: quỹ đạo kéo dài {days:.0f} ngày (tối đa {MAX_SPAN_S // 86_400}) — "
                         "track spans too long")


def text(value: Any) -> str:
    """A name or label: a string (anything else ignored), cut to MAX_TEXT characters."""
    return value[:MAX_TEXT] if isinstance(value, str) else ""


class Budget:
    """Counts positions across a whole file; TrackError past MAX_POSITIONS."""

    def __init__(self, where: str, limit: int = MAX_POSITIONS) -> None:
        self.where = where
        self.limit = limit
        self.used = 0

    def take(self, n: int = 1) -> None:
        """Spend ``n`` positions."""
        self.used += n
        if self.used > self.limit:
            raise TrackError(f"{self.where}: quá nhiều điểm (> {self.limit}) — too many points")


def _short(value: Any) -> str:
    text_ = repr(value)
    return text_ if len(text_) <= 60 else text_[:57] + "..."
