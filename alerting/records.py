"""Durable current device states (the alerting domain's own records).

States survive a restart so a device that was down stays down (with its
original "since") instead of flickering through "unknown".
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from alerting.states import DeviceState, Status

SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS device_state (
    device TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    since INTEGER NOT NULL,
    last_poll INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    reason TEXT NOT NULL
);
"""


class StateRecords:
    """Saves and loads :class:`DeviceState` rows in SQLite."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(SCHEMA)

    def load(self) -> dict[str, DeviceState]:
        """Every saved state by device id."""
        with self._lock:
            rows = self._db.execute(
                "SELECT device, status, since, last_poll, failures, reason FROM device_state"
            ).fetchall()
        return {r[0]: DeviceState(r[0], Status(r[1]), r[2], r[3], r[4], r[5]) for r in rows}

    def save(self, states: Iterable[DeviceState]) -> None:
        """Upsert states in one transaction."""
        rows = [(s.device, s.status.value, s.since, s.last_poll, s.failures, s.reason) for s in states]
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO device_state VALUES (?, ?, ?, ?, ?, ?)", rows
            )

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
