"""IBTrACS / JTWC best-track CSV: time, position, wind and wind radii per quadrant.

Columns used: ``ISO_TIME``, ``LAT``, ``LON``, a wind column (``USA_WIND``,
``WMO_WIND`` or ``WIND``, knots) and ``USA_R34_NE`` … ``USA_R64_NW`` (nautical
miles). IBTrACS' second header row (units) is skipped; blank cells mean
"not given". Every row must parse, or the file is rejected whole.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime
from pathlib import Path

from storm.limits import MAX_POSITIONS, MAX_WIND_KT, check_span, checked_time, lat_lon, number, radius
from storm.limits import text as short_text
from storm.model import NM_TO_KM, QUADRANTS, WIND_THRESHOLDS_KT, Track, TrackError, TrackPoint

WIND_COLUMNS = ("USA_WIND", "WMO_WIND", "WIND")


def parse_ibtracs(path: Path, text: str | None = None) -> Track:
    """Parse a best-track CSV; TrackError names the file, line and column."""
    raw = path.read_text(encoding="utf-8") if text is None else text
    reader = csv.DictReader(io.StringIO(raw))
    missing = {"ISO_TIME", "LAT", "LON"} - set(reader.fieldnames or ())
    if missing:
        raise TrackError(f"{path}:1: header: missing column(s) {', '.join(sorted(missing))}")
    points: list[TrackPoint] = []
    name = ""
    line = 1
    try:
        for line, row in enumerate(reader, start=2):
            if (row.get("ISO_TIME") or "").strip() in ("", "Year-Month-Day Hour:Min:Sec"):
                continue  # units row
            if len(points) >= MAX_POSITIONS:
                raise TrackError(f"{path}:{line}: quá nhiều dòng (> {MAX_POSITIONS}) — too many rows")
            name = name or short_text((row.get("NAME") or "").strip())
            points.append(_row(path, line, row))
    except csv.Error as exc:
        raise TrackError(f"{path}:{line + 1}: CSV không hợp lệ (invalid CSV): {exc}") from None
    if not points:
        raise TrackError(f"{path}: no data rows")
    points.sort(key=lambda p: p.ts)
    check_span(str(path), [p.ts for p in points])
    return Track(name or path.stem, "ibtracs", tuple(points))


def _num(path: Path, line: int, row: dict, column: str) -> float | None:
    cell = (row.get(column) or "").strip()
    if cell == "":
        return None
    try:
        value = float(cell) if len(cell) <= 40 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise TrackError(f"{path}:{line}: {column}: not a number: {cell[:40]!r} "
                         "(không phải số hữu hạn)")
    return value


def _row(path: Path, line: int, row: dict) -> TrackPoint:
    text = row["ISO_TIME"].strip()
    try:
        when = datetime.strptime(text[:40], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        expected = "expected 'YYYY-MM-DD HH:MM:SS' (UTC)"
        raise TrackError(f"{path}:{line}: ISO_TIME: {expected}, got {text[:40]!r}") from None
    ts = checked_time(f"{path}:{line}: ISO_TIME", when)
    lat, lon = _num(path, line, row, "LAT"), _num(path, line, row, "LON")
    if lat is None or lon is None:
        raise TrackError(f"{path}:{line}: LAT/LON: thiếu (missing) "
                         f"({str(row['LAT'])[:20]!r}, {str(row['LON'])[:20]!r})")
    lat, lon = lat_lon(f"{path}:{line}: LAT/LON", lat, lon)
    wind = next((w for c in WIND_COLUMNS if c in row and (w := _num(path, line, row, c)) is not None), None)
    if wind is not None:
        wind = number(f"{path}:{line}: wind", wind, 0, MAX_WIND_KT, "gió mạnh nhất (kt)")
    radii: dict[int, dict[str, float]] = {}
    for threshold in WIND_THRESHOLDS_KT:
        values = {q: _num(path, line, row, f"USA_R{threshold}_{q}") for q in QUADRANTS}
        if any(v is not None for v in values.values()):
            radii[threshold] = {q: radius(f"{path}:{line}: USA_R{threshold}_{q}", (v or 0.0) * NM_TO_KM)
                                for q, v in values.items()}
    return TrackPoint(ts, lat, lon, wind, radii)
