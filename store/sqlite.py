"""Embedded metric store on SQLite: the default when no InfluxDB is configured.

Normalised ``series`` (measurement + tag set) and samples (series, field,
ts → value) in WAL mode. The same series + field + timestamp overwrites, so a
replayed batch never double-counts (InfluxDB behaves the same). A small
``series_latest`` table (one row per series: newest ts and the fields written
at it) answers "current value of every series" without a scan; it is kept in
memory, written back at each merge (and at once for late writes), and on open
it is rebuilt from the saved rows plus ``recent``.

Samples live in two tiers, like a tiny LSM tree. Written rows land in
``recent``, keyed time first, so a poll cycle appends to the end of one
B-tree and a commit writes a few pages. When ``recent`` holds
``merge_rows`` rows it is moved in one sorted pass into ``samples``, keyed
series first for reads, touching each series' pages once per merge instead
of once per cycle. The ``watermark`` is the newest ts moved so far: rows at or
before it live in ``samples`` (late writes go straight there), rows after it
in ``recent``, so every series + field + ts is in exactly one tier and reads
simply take both.

Series metadata is kept in memory too, so tag filters are applied in Python
and the SQL only selects samples by series id.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from store.base import (
    INT64_MAX,
    INT64_MIN,
    REACHABILITY,
    Aggregation,
    Availability,
    Point,
    Sample,
    StoreRejected,
    StoreUnavailable,
    check_aggregation,
    storable,
)

SCHEMA = """
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
PRAGMA cache_size=-65536;
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
CREATE TABLE IF NOT EXISTS recent (
    ts INTEGER NOT NULL,
    series_id INTEGER NOT NULL,
    field TEXT NOT NULL,
    value,
    PRIMARY KEY (ts, series_id, field)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series_latest (
    series_id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    fields TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tiers (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    watermark INTEGER NOT NULL
);
INSERT OR IGNORE INTO tiers SELECT 1, coalesce((SELECT max(ts) FROM samples), -9223372036854775808);
"""

# The first schema kept the newest value per field; carry it over once, then drop it.
MIGRATE_LATEST = """
INSERT OR IGNORE INTO series_latest
SELECT l.series_id, l.ts, json_group_object(l.field, l.value) FROM latest l
JOIN (SELECT series_id, max(ts) AS ts FROM latest GROUP BY series_id) m
  ON m.series_id = l.series_id AND m.ts = l.ts
GROUP BY l.series_id;
DROP TABLE latest;
"""

SAVE_LATEST = "INSERT OR REPLACE INTO series_latest VALUES (?, ?, ?)"

# One field of the chosen series in a time range, from both tiers (each row is in one only).
_BOTH_TIERS = """
WITH sel AS (SELECT CAST(key AS INTEGER) AS sid, value AS grp FROM json_each(:series)),
sm AS (
    SELECT series_id, ts, value FROM samples
    WHERE series_id IN (SELECT sid FROM sel) AND field = :field AND ts >= :start AND ts < :end
    UNION ALL
    SELECT series_id, ts, value FROM recent
    WHERE ts >= :start AND ts < :end AND field = :field AND series_id IN (SELECT sid FROM sel)
)
"""

_AGG_SQL = {"mean": "avg(sm.value)", "max": "max(sm.value)", "min": "min(sm.value)",
            "sum": "sum(sm.value)", "count": "count(sm.value)", "last": "sm.value, max(sm.ts)"}

log = logging.getLogger(__name__)
MERGE_ROWS = 400_000  # ~12 MB in ``recent``; a merge then takes about a second


def _plain(value: object) -> bool:
    """Stored as it is: a str, an int within int64 or a finite float (bools become 0/1)."""
    kind = type(value)
    if kind is int:
        return INT64_MIN <= value <= INT64_MAX  # type: ignore[operator]
    if kind is float:
        return value - value == 0  # type: ignore[operator]  # false for NaN and ±inf
    return kind is str


class SqliteMetricStore:
    """Time series in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path, merge_rows: int = MERGE_ROWS) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.merge_rows = merge_rows
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._ids: dict[tuple, int] = {}  # (measurement, *tag items as given) → series id
        self._series: dict[tuple[str, str], int] = {}  # (measurement, canonical tags JSON) → id
        self._meta: dict[int, tuple[str, dict[str, str]]] = {}  # id → (measurement, tags)
        # lookups by measurement, and by measurement and device (the rules' and pages' usual ``where``)
        self._by_measurement: dict[str, list[int]] = {}
        self._by_device: dict[tuple[str, str], list[int]] = {}
        self._latest: dict[int, tuple[int, dict]] = {}  # id → (newest ts, fields at it)
        self._unsaved: set[int] = set()  # series whose newest point is not in series_latest yet
        with self._lock:
            self._db.executescript(SCHEMA)
            if self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'latest'").fetchone():
                self._db.executescript(f"BEGIN; {MIGRATE_LATEST} COMMIT;")
            self._watermark = int(self._db.execute("SELECT watermark FROM tiers").fetchone()[0])
            self._recent_rows = 0
            self._reload()

    def write(self, samples: Sequence[Sample]) -> None:
        """Store samples in one transaction; same series+field+ts overwrites."""
        if not samples:
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                recent: list[tuple] = []
                late: list[tuple] = []
                late_ids: set[int] = set()
                ids = self._ids
                note = self._note_latest
                watermark = self._watermark
                for s in samples:
                    sid = ids.get((s.measurement, *s.tags.items()))
                    if sid is None:
                        sid = self._series_id(s.measurement, s.tags)
                    fields = s.fields
                    if not all(map(_plain, fields.values())):
                        fields = {f: int(v) if isinstance(v, bool) else v
                                  for f, v in fields.items() if storable(v)}
                        if not fields:
                            continue
                    ts = s.ts
                    if ts > watermark:
                        recent += [(ts, sid, f, v) for f, v in fields.items()]
                    else:
                        late += [(sid, f, ts, v) for f, v in fields.items()]
                        late_ids.add(sid)
                    note(sid, ts, fields)
                self._db.executemany("INSERT OR REPLACE INTO recent VALUES (?, ?, ?, ?)", recent)
                if late:
                    self._db.executemany("INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?)", late)
                    self._save_latest(late_ids)  # not in ``recent``: nothing else would bring it back
                self._db.execute("COMMIT")
            except BaseException as exc:
                self._rollback()
                self._reload()  # forget what the rollback took back
                if isinstance(exc, sqlite3.InterfaceError | OverflowError) or (
                        isinstance(exc, sqlite3.ProgrammingError) and "binding" in str(exc)):
                    raise StoreRejected(f"SQLite refused a value: {exc}", samples) from None
                if isinstance(exc, sqlite3.OperationalError):
                    raise StoreUnavailable(f"SQLite store {self.path} cannot write: {exc}") from None
                raise
            self._recent_rows += len(recent)  # an upper bound: overwrites are counted too
            if self._recent_rows >= self.merge_rows:
                try:
                    self._merge()
                except sqlite3.OperationalError as exc:  # e.g. disk full: the rows wait in ``recent``
                    log.warning("SQLite store %s: merge postponed: %s", self.path, exc)
                    self._recent_rows = self.merge_rows // 2  # try again after a while, not every write

    def merge(self) -> None:
        """Move every ``recent`` row into ``samples`` now (normally done by size)."""
        with self._lock:
            self._merge()

    def latest(self, measurement: str, where: Mapping[str, str] | None = None) -> list[Point]:
        """Newest point of every matching series, with the fields written at that time."""
        with self._lock:
            found = [(sid, self._latest.get(sid)) for sid in self._matching(measurement, where)]
        return [Point(got[0], self._meta[sid][1], dict(got[1])) for sid, got in found if got]

    def range(self, measurement: str, field_name: str, start: int, end: int,
              where: Mapping[str, str] | None = None) -> list[Point]:
        """Raw points of one field in [start, end], oldest first."""
        series = {sid: 0 for sid in self._matching(measurement, where)}
        with self._lock:
            rows = self._db.execute(
                _BOTH_TIERS + "SELECT series_id, ts, value FROM sm ORDER BY ts, series_id",
                {"series": json.dumps(series), "field": field_name, "start": start, "end": end + 1},
            ).fetchall()
        return [Point(ts, self._meta[sid][1], {field_name: value}) for sid, ts, value in rows]

    def aggregate(self, measurement: str, field_name: str, start: int, end: int, every: int,
                  fn: Aggregation = "mean", where: Mapping[str, str] | None = None,
                  group_by: Sequence[str] | None = None) -> list[Point]:
        """One point per window and group; see :meth:`store.base.MetricStore.aggregate`."""
        check_aggregation(fn, every)
        series: dict[int, int] = {}
        group_tags: list[dict[str, str]] = []
        index: dict[tuple, int] = {}
        for sid in self._matching(measurement, where):
            tags = self._meta[sid][1]
            if group_by is not None:
                tags = {k: tags[k] for k in group_by if k in tags}
            key = tuple(sorted(tags.items()))
            if key not in index:
                index[key] = len(group_tags)
                group_tags.append(tags)
            series[sid] = index[key]
        with self._lock:
            rows = self._db.execute(
                _BOTH_TIERS + f"SELECT sel.grp, (sm.ts / :every) * :every AS w, {_AGG_SQL[fn]}"
                " FROM sm JOIN sel ON sel.sid = sm.series_id GROUP BY sel.grp, w ORDER BY w, sel.grp",
                {"series": json.dumps(series), "field": field_name, "start": start, "end": end,
                 "every": every},
            ).fetchall()
        return [Point(w, group_tags[grp], {fn: value}) for grp, w, value, *_ in rows]

    def availability(self, start: int, end: int, by: str = "device",
                     where: Mapping[str, str] | None = None) -> dict[str, Availability]:
        """Reachability samples up/total in [start, end) per value of tag ``by``."""
        series = {sid: self._meta[sid][1][by] for sid in self._matching(REACHABILITY, where)
                  if self._meta[sid][1].get(by)}
        with self._lock:
            rows = self._db.execute(
                _BOTH_TIERS + "SELECT sel.grp, sum(sm.value), count(sm.value)"
                " FROM sm JOIN sel ON sel.sid = sm.series_id GROUP BY sel.grp",
                {"series": json.dumps(series), "field": "up", "start": start, "end": end},
            ).fetchall()
        return {key: Availability(key, int(up), int(total)) for key, up, total in rows}

    def close(self) -> None:
        """Close the database (``recent`` stays as it is; it is read back on open)."""
        with self._lock:
            self._db.close()

    def _merge(self) -> None:
        top = self._db.execute("SELECT max(ts) FROM recent").fetchone()[0]
        if top is not None:
            self._db.execute("BEGIN")
            try:
                self._db.execute("INSERT OR REPLACE INTO samples SELECT series_id, field, ts, value"
                                 " FROM recent ORDER BY series_id, field, ts")
                self._db.execute("DELETE FROM recent")
                self._db.execute("UPDATE tiers SET watermark = ?", (top,))
                self._save_latest(self._unsaved)
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            self._watermark = top
            self._unsaved.clear()
        self._recent_rows = 0

    def _rollback(self) -> None:
        """Roll back the open transaction, if SQLite has not already (it may, on a full disk)."""
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.OperationalError:
                log.exception("SQLite store %s: rollback failed", self.path)

    def _note_latest(self, sid: int, ts: int, fields: Mapping) -> None:
        current = self._latest.get(sid)
        if current is None or ts > current[0]:
            self._latest[sid] = (ts, dict(fields))
        elif ts == current[0]:
            current[1].update(fields)
        else:
            return
        self._unsaved.add(sid)

    def _save_latest(self, sids: set[int]) -> None:
        latest = self._latest
        self._db.executemany(SAVE_LATEST, [(sid, latest[sid][0], json.dumps(latest[sid][1])) for sid in sids])

    def _reload(self) -> None:
        """Series, newest points and the ``recent`` row count, as the file has them."""
        self._load_series()
        self._latest.clear()
        self._unsaved.clear()
        for sid, ts, fields in self._db.execute("SELECT series_id, ts, fields FROM series_latest"):
            self._latest[sid] = (ts, json.loads(fields))
        self._recent_rows = 0
        for ts, sid, field, value in self._db.execute("SELECT * FROM recent"):
            self._note_latest(sid, ts, {field: value})
            self._recent_rows += 1

    def _load_series(self) -> None:
        self._ids.clear()
        self._series.clear()
        self._meta.clear()
        self._by_measurement.clear()
        self._by_device.clear()
        for sid, measurement, tags in self._db.execute("SELECT id, measurement, tags FROM series"):
            self._series[(measurement, tags)] = sid
            self._index(sid, measurement, json.loads(tags))

    def _index(self, sid: int, measurement: str, tags: dict[str, str]) -> None:
        self._meta[sid] = (measurement, tags)
        self._by_measurement.setdefault(measurement, []).append(sid)
        if "device" in tags:
            self._by_device.setdefault((measurement, tags["device"]), []).append(sid)

    def _matching(self, measurement: str, where: Mapping[str, str] | None) -> list[int]:
        where = dict(where or {})
        device = where.pop("device", None)
        # a copy (atomic under the GIL): a write may add a series meanwhile
        found = list(self._by_measurement.get(measurement, ()) if device is None
                     else self._by_device.get((measurement, device), ()))
        if not where:
            return found
        meta = self._meta
        return [sid for sid in found if all(meta[sid][1].get(k) == v for k, v in where.items())]

    def _series_id(self, measurement: str, tags: Mapping[str, str]) -> int:
        canonical = dict(sorted(tags.items()))
        key = (measurement, json.dumps(canonical, ensure_ascii=False))
        sid = self._series.get(key)
        if sid is None:
            cur = self._db.execute("INSERT INTO series (measurement, tags) VALUES (?, ?)", key)
            sid = int(cur.lastrowid or 0)
            self._series[key] = sid
            self._index(sid, measurement, canonical)
        self._ids[(measurement, *tags.items())] = sid
        return sid
