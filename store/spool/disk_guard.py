"""Whether the spool's local disk takes writes, and what it cost while it did not.

A full or read-only disk never stops the caller: the guard remembers the
fault (kind, path, since when) and says when to touch the disk again — every
``retry_s``, and only once it shows room — so a disk that refuses writes is
not hammered on every batch. With ``min_free_bytes`` the local writers (spool,
embedded SQLite backend) stop before the filesystem is quite full, so the
alerting database beside them keeps room for incidents and the outbox. Each
fault episode is logged once, its end with the samples lost meanwhile.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from store import disk
from store.base import StoreUnavailable

log = logging.getLogger(__name__)


class DiskGuard:
    """The local disk's fault episode, the free-space floor and the pacing of retries (not thread-safe)."""

    def __init__(self, local_backend: Path | None, min_free_bytes: int = 0, retry_s: float = 5.0) -> None:
        self.local_backend = local_backend  # directory of an embedded backend writing locally, if any
        self.min_free_bytes = min_free_bytes
        self.retry_s = retry_s
        self.fault: disk.DiskFault | None = None
        self.since: int | None = None  # epoch s the fault was first seen (this episode)
        self.dropped = 0  # samples dropped because of the disk (since start)
        self._tried = 0.0  # monotonic time of the last write attempt while the disk refused

    def check_room(self, directory: Path | None) -> None:
        """Refuse to write locally below ``min_free_bytes``: what is left is for the alerting database.

        Raises :class:`StoreUnavailable` for the local backend's directory (as the
        backend itself would), an ``ENOSPC`` :class:`OSError` for any other.
        """
        if directory is None or self.min_free_bytes <= 0:
            return
        left = disk.free_bytes(directory)
        if left is not None and left < self.min_free_bytes:
            message = (f"{directory}: còn {left // 2**20} MiB trống, dưới ngưỡng "
                       f"{self.min_free_bytes // 2**20} MiB (No space left on device)")
            if directory == self.local_backend:
                raise StoreUnavailable(f"SQLite store cannot write: database or disk is full: {message}")
            raise OSError(28, message)  # ENOSPC

    def may_write(self) -> bool:
        """Whether to touch the disk now: always without a fault, else see :meth:`_may_retry`."""
        return self.fault is None or self._may_retry()

    def failed(self, exc: OSError, directory: Path) -> None:
        """A write to ``directory`` failed with ``exc``: a fault (full unless it says read-only)."""
        self.note(disk.disk_fault(exc, directory)
                  or disk.DiskFault(disk.FULL, str(directory), exc.strerror or str(exc)))

    def backend_failed(self, exc: Exception) -> None:
        """The backend failed: a fault when it writes locally and ``exc`` is a disk fault."""
        if self.local_backend is not None:
            fault = disk.disk_fault(exc, self.local_backend)
            if fault is not None:
                self.note(fault)

    def note(self, fault: disk.DiskFault) -> None:
        """Remember ``fault``; log it when it starts or changes kind."""
        if self.fault is None or self.fault.kind != fault.kind:
            log.error("metric store: %s (%s); samples that cannot be kept are dropped and counted "
                      "until there is room", fault.text(), fault.detail)
            self.since = self.since or int(time.time())
        self.fault = fault
        self._tried = time.monotonic()

    def ok(self) -> None:
        """A local write went through: the fault episode, if any, is over."""
        if self.fault is not None:
            log.warning("metric store: the disk takes writes again (%s); %d samples were lost meanwhile",
                        self.fault.path, self.dropped)
            self.fault = None
            self.since = None

    def _may_retry(self) -> bool:
        """Every ``retry_s``, and only once the faulty disk shows room."""
        fault = self.fault
        assert fault is not None
        if time.monotonic() - self._tried < self.retry_s:
            return False
        self._tried = time.monotonic()
        if disk.read_only(fault.path):
            return False
        left = disk.free_bytes(fault.path)
        return left is None or left >= max(self.min_free_bytes, disk.PROBE_BYTES)
