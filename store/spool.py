"""Nothing lost: a durable on-disk spool in front of any metric store.

:class:`SpoolingStore` wraps a backend. A write goes straight to the backend
while it is healthy and nothing waits in the spool; when the backend is
unreachable (:class:`StoreUnavailable`) the batch is appended to the spool
instead, and from then on every write goes to the spool behind it, so order is
kept. A background flusher replays the spool oldest first, in batches, as soon
as the backend answers again (exponential backoff while it does not).

:class:`Spool` is the file part: numbered segment files of records, each
record one written batch (``magic, length, crc32, count`` then the batch as a
pickle of plain values, see :func:`encode_batch`), appended with ``fsync``
before ``write`` returns, so a killed process keeps every batch it accepted;
a torn record at the end (killed mid-append) is cut off on open. A ``cursor``
file (replaced atomically) says how far replay got; it moves only after the
backend took the batch. A crash between the two replays that batch again,
which double-counts nothing: both stores overwrite the same series + timestamp.

The spool is bounded (``max_bytes``). When a batch does not fit it is dropped,
counted, and logged as an error once per episode; ``state()`` and
``spool_depth()`` report depth, size, fullness and drops for self-monitoring.
Batches the backend refuses as data (:class:`StoreRejected`, e.g. a field type
conflict) would block the queue for ever; they go to ``rejected.jsonl`` beside
the segments, with the reason, and the queue moves on.

A full or read-only disk never stops the caller: :meth:`SpoolingStore.write`
does not raise for it. A batch neither the backend nor the spool can keep is
dropped and counted (``dropped``, ``disk_dropped``), the fault is logged once
per episode and shown by ``state()`` with its path ("đĩa đầy" / "chỉ đọc"), and
the disk is tried again every ``disk_retry_s`` once it has room. With
``min_free_bytes`` the local writers (spool, embedded SQLite backend) stop
before the filesystem is quite full, so the alerting database beside them keeps
room for incidents and the outbox.
"""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import pickle
import struct
import threading
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.errors import TrucbanError
from store import disk
from store.base import (
    Aggregation,
    Availability,
    FieldValue,
    MetricStore,
    Point,
    Sample,
    StoreRejected,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

MAGIC = b"TSP2"
_PLAIN = {str, int, float, bool}
HEADER = struct.Struct("<4sIII")  # magic, payload length, crc32, samples in the batch
SEGMENT_BYTES = 16 * 1024 * 1024
REJECTED_MAX_BYTES = 64 * 1024 * 1024


class SpoolLocked(TrucbanError, RuntimeError):
    """Another process already uses this spool directory."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in the spool: segment number and byte offset in it."""

    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """Batches read from the head of the spool, and where reading stopped."""

    samples: list[Sample]
    end: Cursor
    records: int
    size: int


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


class _PlainUnpickler(pickle.Unpickler):
    """Loads builtin containers and scalars only: no class, no function, so no code runs."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"spool records hold plain values only, not {module}.{name}")


def _plain(value: object) -> FieldValue:
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)  # type: ignore[return-value]
    return str(value)


def _row(s: Sample) -> tuple:
    tags, fields = s.tags, s.fields
    if type(tags) is not dict:
        tags = dict(tags)
    if type(fields) is not dict or not all(type(v) in _PLAIN for v in fields.values()):
        fields = {str(k): _plain(v) for k, v in fields.items()}
    return s.measurement, tags, fields, s.ts


def encode_batch(samples: Sequence[Sample]) -> bytes:
    """One spool record for a batch.

    The payload is a pickle of plain tuples, dicts and scalars (a tag set shared
    by a device's samples is stored once), read back by an unpickler that refuses
    every class and function: ~9x faster to read than JSON and ~4x smaller.
    """
    payload = pickle.dumps([_row(s) for s in samples], protocol=5)
    return HEADER.pack(MAGIC, len(payload), zlib.crc32(payload), len(samples)) + payload


def decode_batch(payload: bytes) -> list[Sample]:
    """The batch of one record's payload."""
    rows = _PlainUnpickler(io.BytesIO(payload)).load()
    return [Sample(m, tags, fields, ts) for m, tags, fields, ts in rows]


class Spool:
    """Durable FIFO of sample batches; thread-safe; one process per directory."""

    def __init__(self, directory: Path, max_bytes: int, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._lockfile = open(directory / "lock", "a")  # noqa: SIM115 - held for the spool's life
        try:
            fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lockfile.close()
            raise SpoolLocked(f"spool {directory} is in use by another Trucban process") from None
        self._cursor = self._read_cursor()
        self._depth = 0
        self._bytes = 0
        self._sizes: dict[int, int] = {}  # segment → valid bytes
        self._recover()
        self._active = max(self._sizes) if self._sizes else self._cursor.segment
        self._out = open(self._segment_path(self._active), "ab", buffering=0)  # noqa: SIM115
        self._sizes.setdefault(self._active, 0)
        self._sync_dir()

    # -- appending ---------------------------------------------------------------------------------

    def append(self, samples: Sequence[Sample]) -> bool:
        """Add a batch durably (fsync); False when it does not fit and was dropped.

        An OSError (disk full, read-only) leaves the spool as it was: a partly
        written record is cut off again before the error is raised.
        """
        record = encode_batch(samples)
        with self._lock:
            if self._bytes + len(record) > self.max_bytes:
                return False
            if self._sizes[self._active] >= self.segment_bytes:
                self._rotate()
            start = self._sizes[self._active]
            try:
                view = memoryview(record)
                while view:
                    written = self._out.write(view)
                    if not written:
                        raise OSError(28, "No space left on device (nothing written)")
                    view = view[written:]
                os.fsync(self._out.fileno())
            except OSError:
                try:
                    os.ftruncate(self._out.fileno(), start)
                except OSError:
                    log.exception("spool %s: could not cut a partly written record", self.directory)
                raise
            self._sizes[self._active] += len(record)
            self._depth += len(samples)
            self._bytes += len(record)
            return True

    # -- replaying ---------------------------------------------------------------------------------

    def peek(self, max_samples: int) -> Chunk | None:
        """Whole batches from the head, about ``max_samples`` samples; None when empty."""
        with self._lock:
            if self._depth == 0:
                return None
            segment, offset = self._cursor.segment, self._cursor.offset
            samples: list[Sample] = []
            records = size = 0
            tail = (self._active, self._sizes[self._active])
            while len(samples) < max_samples and (segment, offset) != tail:
                if offset >= self._sizes.get(segment, 0):
                    segment, offset = self._next_segment(segment), 0
                    continue
                with open(self._segment_path(segment), "rb") as f:
                    f.seek(offset)
                    while len(samples) < max_samples and offset < self._sizes[segment]:
                        _, length, _, _ = HEADER.unpack(f.read(HEADER.size))
                        samples += decode_batch(f.read(length))
                        offset += HEADER.size + length
                        size += HEADER.size + length
                        records += 1
            return Chunk(samples, Cursor(segment, offset), records, size)

    def commit(self, chunk: Chunk) -> None:
        """The backend has ``chunk``: move the cursor past it, delete finished segments."""
        with self._lock:
            cursor = chunk.end
            drained = self._depth == len(chunk.samples)
            if drained and cursor == Cursor(self._active, self._sizes[self._active]):
                try:
                    self._rotate()  # drained: start a fresh segment, the old one goes below
                    cursor = Cursor(self._active, 0)
                except OSError:  # no room for a new segment: the cursor stays at the old one's end
                    pass
            self._write_cursor(cursor)  # an OSError here changes nothing: the chunk is replayed again
            self._depth -= len(chunk.samples)
            self._bytes -= chunk.size
            for segment in [s for s in self._sizes if s < cursor.segment]:
                self._segment_path(segment).unlink(missing_ok=True)
                del self._sizes[segment]

    # -- state ---------------------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Samples waiting."""
        return self._depth

    @property
    def size(self) -> int:
        """Bytes waiting."""
        return self._bytes

    def close(self) -> None:
        """Close the files and give the directory up."""
        with self._lock:
            self._out.close()
            self._lockfile.close()

    # -- internals -----------------------------------------------------------------------------------

    def _segment_path(self, number: int) -> Path:
        return self.directory / f"{number:012d}.seg"

    def _next_segment(self, number: int) -> int:
        later = [s for s in self._sizes if s > number]
        return min(later) if later else self._active

    def _rotate(self) -> None:
        out = open(self._segment_path(self._active + 1), "ab", buffering=0)  # noqa: SIM115
        self._out.close()
        self._out = out
        self._active += 1
        self._sizes[self._active] = 0
        self._sync_dir()

    def _read_cursor(self) -> Cursor:
        try:
            segment, offset = (self.directory / "cursor").read_text().split()
            return Cursor(int(segment), int(offset))
        except (OSError, ValueError):
            return Cursor(1, 0)

    def _write_cursor(self, cursor: Cursor) -> None:
        tmp = self.directory / "cursor.tmp"
        with open(tmp, "w") as f:
            f.write(f"{cursor.segment} {cursor.offset}\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.directory / "cursor")
        self._sync_dir()
        self._cursor = cursor

    def _sync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _recover(self) -> None:
        """Scan the segments from the cursor on: count what waits, cut a torn tail."""
        numbers = sorted(int(p.stem) for p in self.directory.glob("*.seg") if p.stem.isdigit())
        for number in numbers:
            path = self._segment_path(number)
            if number < self._cursor.segment:
                path.unlink()  # replayed; the process stopped before deleting it
                continue
            start = self._cursor.offset if number == self._cursor.segment else 0
            valid = self._scan(path, start, last=number == numbers[-1])
            self._sizes[number] = valid

    def _scan(self, path: Path, start: int, last: bool) -> int:
        """Count the valid records of a segment from ``start``; return the valid length."""
        data = path.read_bytes()
        offset = start
        while offset + HEADER.size <= len(data):
            magic, length, crc, count = HEADER.unpack_from(data, offset)
            payload = data[offset + HEADER.size: offset + HEADER.size + length]
            if magic != MAGIC or len(payload) != length or zlib.crc32(payload) != crc:
                break
            offset += HEADER.size + length
            self._depth += count
            self._bytes += HEADER.size + length
        if offset < len(data):
            how = "torn last record (stopped mid-write)" if last else "corrupt record"
            log.warning("spool %s: %s at byte %d; %d bytes after it dropped", path.name, how, offset,
                        len(data) - offset)
            with open(path, "r+b") as f:
                f.truncate(offset)
                os.fsync(f.fileno())
        return offset


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
        self.min_free_bytes = min_free_bytes
        self.disk_retry_s = disk_retry_s
        backend_path = getattr(backend, "path", None)  # the embedded SQLite store writes locally
        self._local_backend = Path(backend_path).parent if isinstance(backend_path, Path) else None
        self._disk: disk.DiskFault | None = None
        self._disk_since: int | None = None
        self._disk_tried = 0.0  # monotonic time of the last write attempt while the disk refused
        self._disk_dropped = 0
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

    # -- MetricStore ---------------------------------------------------------------------------------

    def write(self, samples: Sequence[Sample]) -> None:
        """Store now, or spool durably when the backend cannot take it; never raises for that."""
        if not samples:
            return
        with self._write_lock:
            was_ok = self._backend_ok  # else the flusher retries on its own backoff
            # while the local disk refuses writes, touch it only every ``disk_retry_s``, once it has room
            local_ok = self._disk is None or self._disk_may_retry()
            if self._backend_ok and self.spool.depth == 0 and (local_ok or self._local_backend is None):
                try:
                    self._check_room(self._local_backend)
                    self.backend.write(samples)
                    if self._local_backend is not None:
                        self._disk_ok()
                    return
                except StoreUnavailable as exc:
                    self._backend_down(exc)
                except StoreRejected as exc:
                    self._reject(exc)
                    return
            if not local_ok:
                self._drop_for_disk(samples)
                return
            try:
                self._check_room(self.spool.directory)
                appended = self.spool.append(samples)
            except OSError as exc:  # ENOSPC, EROFS, EFBIG…: count the loss, never stop the caller
                self._disk_failed(exc, self.spool.directory)
                self._drop_for_disk(samples)
                return
            self._disk_ok()
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
        fault = self._disk
        return SpoolState(self.spool.depth, self.spool.size, self.spool.max_bytes, self._full,
                          self._dropped, self._rejected, self._backend_ok, self._last_error,
                          fault.kind if fault else None, fault.path if fault else None,
                          self._disk_dropped, self._disk_since if fault else None)

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

    # -- replay --------------------------------------------------------------------------------------

    def _flush_loop(self) -> None:
        delay = self.retry_initial_s
        while not self._stop.is_set():
            self._wake.wait(timeout=None if self._backend_ok else delay)
            self._wake.clear()
            if self._stop.is_set():
                return
            delay = self.retry_initial_s if self._replay() else min(delay * 2, self.retry_max_s)

    def _replay(self) -> bool:
        """Replay until empty; False when the backend failed again."""
        replayed = 0
        started = time.monotonic()
        while not self._stop.is_set():
            chunk = self.spool.peek(self.replay_batch)
            if chunk is None:
                break
            try:
                self._check_room(self._local_backend)
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
                    self._disk_failed(exc, self.spool.directory)
                return False
            replayed += len(chunk.samples)
        with self._write_lock:
            if self.spool.depth == 0 and not self._backend_ok:
                self._backend_ok = True
                self._last_error = None
                log.warning("metric store is back: replayed %d spooled samples in %.1fs", replayed,
                            time.monotonic() - started)
        with self._drained:
            self._drained.notify_all()
        return True

    def _backend_down(self, exc: Exception) -> None:
        if self._backend_ok:
            log.warning("metric store unavailable, spooling samples to disk: %s", exc)
        self._backend_ok = False
        self._last_error = str(exc)
        if self._local_backend is not None:
            fault = disk.disk_fault(exc, self._local_backend)
            if fault is not None:
                self._note_disk(fault)

    # -- disk faults (caller holds the write lock) -----------------------------------------------

    def _check_room(self, directory: Path | None) -> None:
        """Refuse to write locally below ``min_free_bytes``: what is left is for the alerting database."""
        if directory is None or self.min_free_bytes <= 0:
            return
        left = disk.free_bytes(directory)
        if left is not None and left < self.min_free_bytes:
            message = (f"{directory}: còn {left // 2**20} MiB trống, dưới ngưỡng "
                       f"{self.min_free_bytes // 2**20} MiB (No space left on device)")
            if directory == self._local_backend:
                raise StoreUnavailable(f"SQLite store cannot write: database or disk is full: {message}")
            raise OSError(28, message)  # ENOSPC

    def _note_disk(self, fault: disk.DiskFault) -> None:
        if self._disk is None or self._disk.kind != fault.kind:
            log.error("metric store: %s (%s); samples that cannot be kept are dropped and counted "
                      "until there is room", fault.text(), fault.detail)
            self._disk_since = self._disk_since or int(time.time())
        self._disk = fault
        self._disk_tried = time.monotonic()

    def _disk_failed(self, exc: OSError, directory: Path) -> None:
        self._note_disk(disk.disk_fault(exc, directory)
                        or disk.DiskFault(disk.FULL, str(directory), exc.strerror or str(exc)))

    def _disk_may_retry(self) -> bool:
        """Whether to touch the disk again: every ``disk_retry_s``, and only once it shows room."""
        fault = self._disk
        assert fault is not None
        if time.monotonic() - self._disk_tried < self.disk_retry_s:
            return False
        self._disk_tried = time.monotonic()
        if disk.read_only(fault.path):
            return False
        left = disk.free_bytes(fault.path)
        return left is None or left >= max(self.min_free_bytes, disk.PROBE_BYTES)

    def _disk_ok(self) -> None:
        if self._disk is not None:
            log.warning("metric store: the disk takes writes again (%s); %d samples were lost meanwhile",
                        self._disk.path, self._disk_dropped)
            self._disk = None
            self._disk_since = None

    def _drop_for_disk(self, samples: Sequence[Sample]) -> None:
        self._dropped += len(samples)
        self._disk_dropped += len(samples)

    def _reject(self, exc: StoreRejected) -> None:
        """Keep refused samples aside with the reason, so nothing vanishes silently."""
        self._rejected += len(exc.samples)
        log.error("metric store refused %d samples as data (kept in %s): %s", len(exc.samples),
                  self.spool.directory / "rejected.jsonl", exc)
        path = self.spool.directory / "rejected.jsonl"
        try:
            if path.exists() and path.stat().st_size > REJECTED_MAX_BYTES:
                return
            with open(path, "a", encoding="utf-8") as f:
                record = {"at": int(time.time()), "reason": str(exc),
                          "samples": [(s.measurement, s.tags, s.fields, s.ts) for s in exc.samples]}
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError:
            log.exception("could not keep rejected samples")
