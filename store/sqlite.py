"""Embedded metric store on SQLite: the default when no InfluxDB is configured.

Normalised ``series`` (measurement + tag set) and ``samples`` (series, field,
ts → value) tables in WAL mode. The same series + field + timestamp overwrites,
so a replayed batch never double-counts (InfluxDB behaves the same). A small
``latest`` table answers "current value of every series" without a scan.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from store.base import Point, Sample

SCHEMA = """
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    measurement TEXT NOT NULL,
    tags TEXT NOT NULL,
    UNIQUE (measurement, tags)
);
CREATE TABLE IF NOT EXISTS samples (
    series_id INTEGER NOT NULL,
    field TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value,
    PRIMARY KEY (series_id, field, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
    series_id INTEGER NOT NULL,
    field TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value,
    PRIMARY KEY (series_id, field)
) WITHOUT ROWID;
"""


class SqliteMetricStore:
    """Time series in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], int] = {}
        with self._lock:
            self._db.executescript(SCHEMA)
            for sid, measurement, tags in self._db.execute("SELECT id, measurement, tags FROM series"):
                self._series[(measurement, tags)] = sid

    def write(self, samples: Sequence[Sample]) -> None:
        """Store samples in one transaction; same series+field+ts overwrites."""
        if not samples:
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                rows = []
                for s in samples:
                    sid = self._series_id(s.measurement, s.tags)
                    rows += [(sid, f, s.ts, _db_value(v)) for f, v in s.fields.items()]
                self._db.executemany("INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?)", rows)
                self._db.executemany(
                    "INSERT INTO latest VALUES (?, ?, ?, ?) ON CONFLICT (series_id, field) DO UPDATE"
                    " SET ts = excluded.ts, value = excluded.value WHERE excluded.ts >= latest.ts",
                    rows,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def latest(self, measurement: str, where: Mapping[str, str] | None = None) -> list[Point]:
        """Newest value of every field of every matching series (one point per series)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT s.id, s.tags, l.field, l.ts, l.value FROM series s JOIN latest l"
                " ON l.series_id = s.id WHERE s.measurement = ? ORDER BY s.id",
                (measurement,),
            ).fetchall()
        points: dict[int, tuple[dict, int, dict]] = {}
        for sid, tags_json, field, ts, value in rows:
            tags = json.loads(tags_json)
            if where and any(tags.get(k) != v for k, v in where.items()):
                continue
            _, old_ts, fields = points.setdefault(sid, (tags, ts, {}))
            fields[field] = value
            points[sid] = (tags, max(old_ts, ts), fields)
        return [Point(ts, tags, fields) for tags, ts, fields in points.values()]

    def range(self, measurement: str, field_name: str, start: int, end: int,
              where: Mapping[str, str] | None = None) -> list[Point]:
        """Raw points of one field in [start, end], oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT s.tags, sm.ts, sm.value FROM series s JOIN samples sm ON sm.series_id = s.id"
                " WHERE s.measurement = ? AND sm.field = ? AND sm.ts BETWEEN ? AND ? ORDER BY sm.ts",
                (measurement, field_name, start, end),
            ).fetchall()
        out = []
        for tags_json, ts, value in rows:
            tags = json.loads(tags_json)
            if where and any(tags.get(k) != v for k, v in where.items()):
                continue
            out.append(Point(ts, tags, {field_name: value}))
        return out

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _series_id(self, measurement: str, tags: Mapping[str, str]) -> int:
        key = (measurement, json.dumps(dict(sorted(tags.items())), ensure_ascii=False))
        sid = self._series.get(key)
        if sid is None:
            cur = self._db.execute("INSERT INTO series (measurement, tags) VALUES (?, ?)", key)
            sid = int(cur.lastrowid or 0)
            self._series[key] = sid
        return sid


def _db_value(value: object) -> object:
    return int(value) if isinstance(value, bool) else value
