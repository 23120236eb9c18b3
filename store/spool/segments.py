"""The spool's files: a durable FIFO of sample batches on disk.

Numbered segment files of records (:mod:`store.spool.records`), each record
one written batch, appended with ``fsync`` before :meth:`Spool.append`
returns, so a killed process keeps every batch it accepted; a torn record at
the end (killed mid-append) is cut off on open. A ``cursor`` file (replaced
atomically) says how far replay got; it moves only after the backend took the
batch. A crash between the two replays that batch again, which double-counts
nothing: both stores overwrite the same series + timestamp. The spool is
bounded (``max_bytes``): a batch that does not fit is refused.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from common.errors import TrucbanError
from store.base import Sample
from store.spool.records import HEADER, decode_batch, encode_batch, whole_records

log = logging.getLogger(__name__)

SEGMENT_BYTES = 16 * 1024 * 1024


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
            self._write_record(record)
            self._sizes[self._active] += len(record)
            self._depth += len(samples)
            self._bytes += len(record)
            return True

    def _write_record(self, record: bytes) -> None:
        """Append ``record`` to the active segment and fsync it; on an OSError cut it off again."""
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
        """Count the valid records of a segment from ``start``; cut what follows; return the valid length."""
        data = path.read_bytes()
        offset, samples, size = whole_records(data, start)
        self._depth += samples
        self._bytes += size
        if offset < len(data):
            how = "torn last record (stopped mid-write)" if last else "corrupt record"
            log.warning("spool %s: %s at byte %d; %d bytes after it dropped", path.name, how, offset,
                        len(data) - offset)
            with open(path, "r+b") as f:
                f.truncate(offset)
                os.fsync(f.fileno())
        return offset
