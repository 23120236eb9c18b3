"""The spooling store: a metric store that never loses an accepted sample while its backend is down.

A write goes straight to the backend while it is healthy and nothing waits in
the spool; when the backend is unreachable (:class:`StoreUnavailable`) the
batch is appended to the spool (:mod:`store.spool.segments`) instead, and
from then on every write goes to the spool behind it, so order is kept. A
background flusher replays the spool oldest first, in batches, as soon as the
backend answers again (exponential backoff while it does not).

When a batch does not fit the bounded spool it is dropped, counted, and
logged as an error once per episode; ``state()`` and ``spool_depth()`` report
depth, size, fullness and drops for self-monitoring. Batches refused as data
go aside (:mod:`store.spool.rejected`). A full or read-only disk never stops
the caller: a batch neither the backend nor the spool can keep is dropped and
counted (``dropped``, ``disk_dropped``) and shown by ``state()`` with its path
(:mod:`store.spool.disk_guard`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from common.retry import exponential_delay
from store.base import (
    Aggregation,
    Availability,
    MetricStore,
    Point,
    Sample,
    StoreRejected,
    StoreUnavailable,
)
from store.spool.disk_guard import DiskGuard
from store.spool.rejected import REJECTED_FILE, keep_rejected
from store.spool.segments import Spool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SpoolState:
    """What self-monitoring reads: how much waits, how full, what was lost."""

    depth: int  # samples waiting
    bytes: int
    max_bytes: int
    full: bool
    dropped: int  # samples dropped, spool full or disk full/read-only (since start)
    rejected: int  # samples the backend refused as data (since start)
    backend_ok: bool
    last_error: str | None
    disk: str | None = None  # store.disk.FULL / READ_ONLY while the disk refuses writes
    disk_path: str | None = None  # where
    disk_dropped: int = 0  # samples dropped because of the disk (since start; part of ``dropped``)
    disk_since: int | None = None  # epoch s the disk fault was first seen (this episode)


class SpoolingStore:
    """A :class:`MetricStore` that never loses an accepted sample while the backend is down."""

    def __init__(self, backend: MetricStore, spool: Spool, *, replay_batch: int = 20_000,
                 retry_initial_s: float = 1.0, retry_max_s: float = 60.0, min_free_bytes: int = 0,
                 disk_retry_s: float = 5.0) -> None:
        self.backend = backend
        self.spool = spool
        self.replay_batch = replay_batch
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        backend_path = getattr(backend, "path", None)  # the embedded SQLite store writes locally
        local_backend = Path(backend_path).parent if isinstance(backend_path, Path) else None
        self._guard = DiskGuard(local_backend, min_free_bytes, disk_retry_s)
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._backend_ok = spool.depth == 0
        self._last_error: str | None = None
        self._full = False
        self._dropped = 0
        self._rejected = 0
        self._drained = threading.Condition()
        if spool.depth:
            log.warning("metric spool holds %d samples from before; replaying them", spool.depth)
        self._flusher = threading.Thread(target=self._flush_loop, name="metric-spool", daemon=True)
        self._flusher.start()
        self._wake.set()

    @property
    def min_free_bytes(self) -> int:
        """Free bytes the local writers leave on the disk (0: no floor); settable while running."""
        return self._guard.min_free_bytes

    @min_free_bytes.setter
    def min_free_bytes(self, value: int) -> None:
        self._guard.min_free_bytes = value

    @property
    def disk_retry_s(self) -> float:
        """Seconds between write attempts while the disk refuses them; settable while running."""
        return self._guard.retry_s

    @disk_retry_s.setter
    def disk_retry_s(self, value: float) -> None:
        self._guard.retry_s = value

    # -- MetricStore ---------------------------------------------------------------------------------

    def write(self, samples: Sequence[Sample]) -> None:
        """Store now, or spool durably when the backend cannot take it; never raises for that."""
        if not samples:
            return
        with self._write_lock:
            was_ok = self._backend_ok  # else the flusher retries on its own backoff
            # while the local disk refuses writes, touch it only every ``disk_retry_s``, once it has room
            local_ok = self._guard.may_write()
            if self._write_through(samples, local_ok):
                return
            if not (local_ok and self._append(samples)):
                self._drop_for_disk(samples)
                return
        if was_ok:
            self._wake.set()

    def latest(self, measurement: str, where: Mapping[str, str] | None = None) -> list[Point]:
        """Backend's newest points (spooled samples show once replayed)."""
        return self.backend.latest(measurement, where)

    def range(self, measurement: str, field_name: str, start: int, end: int,
              where: Mapping[str, str] | None = None) -> list[Point]:
        """Backend's raw points."""
        return self.backend.range(measurement, field_name, start, end, where)

    def aggregate(self, measurement: str, field_name: str, start: int, end: int, every: int,
                  fn: Aggregation = "mean", where: Mapping[str, str] | None = None,
                  group_by: Sequence[str] | None = None) -> list[Point]:
        """Backend's windows."""
        return self.backend.aggregate(measurement, field_name, start, end, every, fn, where, group_by)

    def availability(self, start: int, end: int, by: str = "device",
                     where: Mapping[str, str] | None = None) -> dict[str, Availability]:
        """Backend's availability."""
        return self.backend.availability(start, end, by, where)

    def close(self) -> None:
        """Stop replaying (what waits stays on disk for the next start), close both."""
        self._stop.set()
        self._wake.set()
        self._flusher.join(timeout=30)
        self.spool.close()
        self.backend.close()

    # -- self-monitoring ---------------------------------------------------------------------------

    def spool_depth(self) -> int:
        """Samples waiting in the spool."""
        return self.spool.depth

    def state(self) -> SpoolState:
        """Depth, size, fullness, drops and backend health."""
        fault = self._guard.fault
        return SpoolState(self.spool.depth, self.spool.size, self.spool.max_bytes, self._full,
                          self._dropped, self._rejected, self._backend_ok, self._last_error,
                          fault.kind if fault else None, fault.path if fault else None,
                          self._guard.dropped, self._guard.since if fault else None)

    def retry_now(self) -> None:
        """Try the backend at once instead of at the next backoff step (the store is known to be back)."""
        self._wake.set()

    def wait_drained(self, timeout: float) -> bool:
        """Block until the spool is empty and the backend healthy (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._drained:
            while self.spool.depth or not self._backend_ok:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._drained.wait(min(remaining, 0.2))
        return True

    # -- writing (caller holds the write lock) -----------------------------------------------------

    def _write_through(self, samples: Sequence[Sample], local_ok: bool) -> bool:
        """Hand the batch to a healthy backend when nothing waits; True when done (stored or refused)."""
        local = self._guard.local_backend
        if not (self._backend_ok and self.spool.depth == 0 and (local_ok or local is None)):
            return False
        try:
            self._guard.check_room(local)
            self.backend.write(samples)
        except StoreUnavailable as exc:
            self._backend_down(exc)
            return False
        except StoreRejected as exc:
            self._reject(exc)
            return True
        if local is not None:
            self._guard.ok()
        return True

    def _append(self, samples: Sequence[Sample]) -> bool:
        """Spool the batch (or drop it, counted, when the spool is full); False when the disk refused it."""
        try:
            self._guard.check_room(self.spool.directory)
            appended = self.spool.append(samples)
        except OSError as exc:  # ENOSPC, EROFS, EFBIG…: count the loss, never stop the caller
            self._guard.failed(exc, self.spool.directory)
            return False
        self._guard.ok()
        if appended:
            if self._full:
                log.warning("metric spool has room again (%d samples waiting)", self.spool.depth)
                self._full = False
        else:
            self._dropped += len(samples)
            if not self._full:
                log.error("metric spool FULL (%d MB): dropping samples until the store is back; "
                          "%d dropped so far", self.spool.max_bytes // 2**20, self._dropped)
                self._full = True
        return True

    def _drop_for_disk(self, samples: Sequence[Sample]) -> None:
        self._dropped += len(samples)
        self._guard.dropped += len(samples)

    def _reject(self, exc: StoreRejected) -> None:
        """Keep refused samples aside with the reason, so nothing vanishes silently."""
        self._rejected += len(exc.samples)
        log.error("metric store refused %d samples as data (kept in %s): %s", len(exc.samples),
                  self.spool.directory / REJECTED_FILE, exc)
        keep_rejected(self.spool.directory, exc)

    # -- replay --------------------------------------------------------------------------------------

    def _flush_loop(self) -> None:
        failures = 0  # replays failed in a row: the wait doubles with each, up to ``retry_max_s``
        while not self._stop.is_set():
            delay = exponential_delay(failures, self.retry_initial_s, self.retry_max_s)
            self._wake.wait(timeout=None if self._backend_ok else delay)
            self._wake.clear()
            if self._stop.is_set():
                return
            failures = 0 if self._replay() else failures + 1

    def _replay(self) -> bool:
        """Replay until empty; False when the backend failed again."""
        replayed = 0
        started = time.monotonic()
        while not self._stop.is_set():
            chunk = self.spool.peek(self.replay_batch)
            if chunk is None:
                break
            try:
                self._guard.check_room(self._guard.local_backend)
                self.backend.write(chunk.samples)
            except StoreUnavailable as exc:
                self._backend_down(exc)
                return False
            except StoreRejected as exc:
                self._reject(exc)
            except Exception as exc:  # a bug or a broken backend must not kill the flusher
                log.exception("metric spool replay failed; will retry")
                self._backend_down(exc)
                return False
            try:
                self.spool.commit(chunk)
            except OSError as exc:  # the cursor cannot be saved: replay again later (overwrites, no double)
                with self._write_lock:
                    self._guard.failed(exc, self.spool.directory)
                return False
            replayed += len(chunk.samples)
        self._back_after_replay(replayed, started)
        return True

    def _back_after_replay(self, replayed: int, started: float) -> None:
        """The spool is empty: the backend is healthy again; wake whoever waits for the drain."""
        with self._write_lock:
            if self.spool.depth == 0 and not self._backend_ok:
                self._backend_ok = True
                self._last_error = None
                log.warning("metric store is back: replayed %d spooled samples in %.1fs", replayed,
                            time.monotonic() - started)
        with self._drained:
            self._drained.notify_all()

    def _backend_down(self, exc: Exception) -> None:
        if self._backend_ok:
            log.warning("metric store unavailable, spooling samples to disk: %s", exc)
        self._backend_ok = False
        self._last_error = str(exc)
        self._guard.backend_failed(exc)
