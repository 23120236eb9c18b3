"""Disk faults: recognised from real errors, the free-space floor, the reserve, the start-up check."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from store.base import Sample
from store.disk import FULL, READ_ONLY, DataDirUnusable, DiskReserve, check_data_dir, disk_fault, unusable
from store.spool.segments import Spool
from store.spool.spooling import SpoolingStore
from store.sqlite import SqliteMetricStore


def test_full_and_read_only_are_told_apart_from_other_errors(tmp_path: Path) -> None:
    assert disk_fault(OSError(errno.ENOSPC, "No space left on device"), tmp_path).kind == FULL  # type: ignore[union-attr]
    assert disk_fault(OSError(errno.EFBIG, "File too large"), tmp_path).kind == FULL  # type: ignore[union-attr]
    assert disk_fault(OSError(errno.EROFS, "Read-only file system"), tmp_path).kind == READ_ONLY  # type: ignore[union-attr]
    assert disk_fault(sqlite3.OperationalError("database or disk is full"), tmp_path).kind == FULL  # type: ignore[union-attr]
    assert disk_fault(OSError(errno.ECONNREFUSED, "refused"), tmp_path) is None
    assert disk_fault(ValueError("bad value"), tmp_path) is None


def test_a_real_read_only_sqlite_refusal_is_read_only_through_sqlalchemy(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'a.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with pytest.raises(OperationalError) as refused, engine.begin() as conn:
        conn.execute(text("PRAGMA query_only = ON"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    fault = disk_fault(refused.value, tmp_path)
    assert fault is not None and fault.kind == READ_ONLY and fault.text() == f"chỉ đọc: {tmp_path}"
    bad = unusable(refused.value, tmp_path)
    assert isinstance(bad, DataDirUnusable) and "\n" not in str(bad) and str(tmp_path) in str(bad)
    engine.dispose()


def test_start_up_check_passes_a_writable_dir_and_names_a_dir_without_room(tmp_path: Path) -> None:
    check_data_dir(tmp_path / "new" / "data")
    assert (tmp_path / "new" / "data").is_dir() and not list((tmp_path / "new" / "data").iterdir())
    with pytest.raises(DataDirUnusable) as refused:
        check_data_dir(tmp_path, min_free_bytes=2**62)
    message = str(refused.value)
    assert "đĩa đầy" in message and str(tmp_path) in message and "\n" not in message


def test_reserve_is_made_released_and_made_again(tmp_path: Path) -> None:
    reserve = DiskReserve(tmp_path / ".reserve", 2**20)
    assert reserve.ensure() and reserve.path.stat().st_size == 2**20
    assert reserve.release() and reserve.released and not reserve.path.exists()
    assert not reserve.release()  # nothing left to give
    assert reserve.ensure() and not reserve.released
    assert not DiskReserve(tmp_path / ".huge", 2**62).ensure()  # never fills the disk itself


def _samples(n: int, ts: int = 1_700_000_000) -> list[Sample]:
    return [Sample("reachability", {"device": f"d{i}"}, {"up": 1}, ts) for i in range(n)]


def test_below_the_free_space_floor_samples_are_dropped_and_counted_never_raised(tmp_path: Path) -> None:
    """A floor above what the disk has: the local store and the spool are not written; the loss is counted."""
    backend = SqliteMetricStore(tmp_path / "metrics.sqlite")
    store = SpoolingStore(backend, Spool(tmp_path / "spool", 2**20), retry_initial_s=10, retry_max_s=10,
                          min_free_bytes=2**62, disk_retry_s=0.0)
    try:
        store.write(_samples(5))
        store.write(_samples(3, 1_700_000_030))
        state = store.state()
        assert state.disk == FULL and state.disk_path is not None and state.disk_since is not None
        assert state.disk_dropped == 8 and state.dropped == 8 and state.depth == 0
        assert not backend.latest("reachability")
        store.min_free_bytes = 0  # room again: the next write goes through and the fault is over
        store.write(_samples(2, 1_700_000_060))
        assert store.state().disk is None and store.state().disk_dropped == 8
        store.retry_now()
        assert store.wait_drained(5)
        assert len(backend.latest("reachability")) == 2
    finally:
        store.close()
