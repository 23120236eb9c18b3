"""One local-time formatter for everything a person reads (Babel).

Why: storage is UTC, screens and messages show Asia/Ho_Chi_Minh, and seven
hand-written ``strftime`` patterns in four styles had crept in ("%d/%m/%Y
%H:%M:%S" beside "%H:%M:%S %d/%m/%Y"). Every room formats through
:func:`local_time` with a named style; Babel does the locale work.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Literal

from babel.dates import format_datetime

Style = Literal["time", "time_s", "day_time", "datetime", "datetime_s", "date", "month"]
PATTERNS: dict[str, str] = {
    "time": "HH:mm",                   # 14:05
    "time_s": "HH:mm:ss",              # 14:05:09
    "day_time": "HH:mm dd/MM",         # 14:05 26/11 (within the year on screen)
    "datetime": "HH:mm dd/MM/yyyy",    # 14:05 26/11/2026
    "datetime_s": "HH:mm:ss dd/MM/yyyy",
    "date": "dd/MM/yyyy",
    "month": "yyyy-MM",                # a report period's key
}


def local_time(ts: float, tz: tzinfo, style: Style = "datetime", locale: str = "vi") -> str:
    """``ts`` (epoch seconds, UTC) as a person in ``tz`` reads it, in the named ``style``."""
    return format_datetime(datetime.fromtimestamp(ts, tz), PATTERNS[style], tzinfo=tz, locale=locale)


def duration_vi(seconds: float) -> str:
    """A duration as a person says it: '40 giây', '45 phút', '2 giờ 5 phút', '3 ngày 4 giờ'."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} giây"
    days, rest = divmod(whole // 60, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} ngày {hours} giờ"
    if hours:
        return f"{hours} giờ {mins} phút"
    return f"{mins} phút"
