"""The embedded store's own mechanics: the two tiers, reopening, the old schema, refused values.

What it answers is tested against InfluxDB in tests/functional/test_store_backends.py.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from store.base import Availability, FieldValue, Sample, StoreRejected
from store.sqlite import SqliteMetricStore


def s(device: str, ts: int, up: int, **more: FieldValue) -> Sample:
    return Sample("reachability", {"device": device, "commune": "a"}, {"up": up, **more}, ts)


def rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_rows_move_to_samples_when_recent_is_full_and_late_writes_go_there(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    store = SqliteMetricStore(path, merge_rows=10)
    store.write([s("r1", 100 + k, 1) for k in range(4)])  # 4 rows: stay in recent
    assert rows(path, "recent") == 4 and rows(path, "samples") == 0
    store.write([s("r1", 200 + k, 0) for k in range(6)])  # 10 rows: merged
    assert rows(path, "recent") == 0 and rows(path, "samples") == 10
    store.write([s("r1", 150, 1), s("r1", 300, 1)])  # 150 is behind the watermark (205): late
    assert rows(path, "recent") == 1 and rows(path, "samples") == 11
    store.write([s("r1", 100, 0)])  # overwrite of a merged point stays one point
    assert store.availability(0, 1000)["r1"] == Availability("r1", 5, 12)  # 101-103, 150, 300
    assert [p.ts for p in store.range("reachability", "up", 0, 1000)] == sorted([*range(100, 104), 150,
                                                                                 *range(200, 206), 300])
    store.close()


def test_latest_survives_reopen_with_and_without_a_merge(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    store = SqliteMetricStore(path, merge_rows=5)
    store.write([s("r1", 100, 1, latency_ms=2.0), s("r2", 100, 1)])
    store.write([s("r1", 130, 0, error_kind="timeout"), s("r2", 130, 1), s("r3", 130, 1)])  # merged
    store.write([s("r2", 160, 0)])  # only in recent
    store.write([s("r3", 110, 0)])  # late, older than r3's newest: latest stays at 130
    store.close()  # no merge on close: recent is read back
    again = SqliteMetricStore(path, merge_rows=5)
    latest = {p.tags["device"]: (p.ts, dict(p.fields)) for p in again.latest("reachability")}
    assert latest == {"r1": (130, {"up": 0, "error_kind": "timeout"}), "r2": (160, {"up": 0}),
                      "r3": (130, {"up": 1})}
    again.close()


def test_fields_written_separately_at_the_same_time_merge_in_latest(tmp_path: Path) -> None:
    store = SqliteMetricStore(tmp_path / "m.sqlite")
    store.write([s("r1", 100, 1)])
    store.write([Sample("reachability", {"device": "r1", "commune": "a"}, {"latency_ms": 3.5}, 100)])
    [point] = store.latest("reachability")
    assert point.fields == {"up": 1, "latency_ms": 3.5}
    store.close()


def test_a_file_from_the_first_schema_is_carried_over(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE series (id INTEGER PRIMARY KEY, measurement TEXT NOT NULL, tags TEXT NOT NULL,
                                 UNIQUE (measurement, tags));
            CREATE TABLE samples (series_id INTEGER NOT NULL, field TEXT NOT NULL, ts INTEGER NOT NULL, value,
                                  PRIMARY KEY (series_id, field, ts)) WITHOUT ROWID;
            CREATE TABLE latest (series_id INTEGER NOT NULL, field TEXT NOT NULL, ts INTEGER NOT NULL, value,
                                 PRIMARY KEY (series_id, field)) WITHOUT ROWID;
        """)
        db.execute("INSERT INTO series VALUES (1, 'reachability', ?)", (json.dumps({"device": "r1"}),))
        db.executemany("INSERT INTO samples VALUES (1, ?, ?, ?)", [("up", 100, 1), ("up", 130, 0),
                                                                    ("error_kind", 100, "x")])
        db.executemany("INSERT INTO latest VALUES (1, ?, ?, ?)", [("up", 130, 0), ("error_kind", 100, "x")])
    store = SqliteMetricStore(path)
    [point] = store.latest("reachability")
    assert (point.ts, point.fields) == (130, {"up": 0})
    store.write([Sample("reachability", {"device": "r1"}, {"up": 1}, 160)])
    assert store.availability(0, 1000)["r1"] == Availability("r1", 2, 3)
    store.close()
    assert rows(path, "recent") == 1  # after the old newest point: the fast tier


def test_a_value_sqlite_cannot_hold_is_refused_and_nothing_is_half_written(tmp_path: Path) -> None:
    store = SqliteMetricStore(tmp_path / "m.sqlite")
    with pytest.raises(StoreRejected) as refused:
        store.write([s("r1", 100, 1), Sample("x", {"device": "new"}, {"v": [1, 2]}, 100)])  # type: ignore[dict-item]
    assert len(refused.value.samples) == 2
    assert store.latest("reachability") == [] and store.latest("x") == []
    store.write([Sample("x", {"device": "new"}, {"v": 1}, 100)])  # the series id was given back, not lost
    assert [p.fields for p in store.latest("x")] == [{"v": 1}]
    store.close()
