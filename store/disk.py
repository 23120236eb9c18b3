"""Disk faults: telling "đĩa đầy" (full) and "chỉ đọc" (read-only) apart from other failures.

A monitor must keep watching when its data disk fills up or turns read-only.
The writers (metric spool, SQLite stores, the alerting database) use
:func:`disk_fault` to recognise such a failure from the exception they got,
so they can say what is really wrong, with the path, instead of a stack trace;
:func:`check_data_dir` is the start-up check that turns a full or read-only
data directory into one clear line (:class:`DataDirUnusable`).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from common.errors import TrucbanError

FULL = "full"
READ_ONLY = "read_only"
WORDS_VI = {FULL: "đĩa đầy", READ_ONLY: "chỉ đọc"}
PROBE_BYTES = 64 * 1024
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL_WORDS = ("database or disk is full", "no space left", "disk quota exceeded", "file too large")
_READ_ONLY_WORDS = ("readonly database", "read-only file system", "read-only database",
                    "permission denied")
_AMBIGUOUS_WORDS = ("unable to open database file", "disk i/o error")  # the filesystem tells which


@dataclass(frozen=True, slots=True)
class DiskFault:
    """A write failed because the disk is full or read-only."""

    kind: str  # FULL or READ_ONLY
    path: str
    detail: str

    @property
    def words(self) -> str:
        """Vietnamese name of the fault: "đĩa đầy" or "chỉ đọc"."""
        return WORDS_VI[self.kind]

    def text(self) -> str:
        """``đĩa đầy: /var/lib/trucban`` — what readiness and incidents show."""
        return f"{self.words}: {self.path}"


def disk_fault(exc: BaseException, path: str | Path) -> DiskFault | None:
    """The disk fault behind ``exc`` (an OSError or a database error), or None for anything else.

    Walks the exception's causes, so an SQLAlchemy error wrapping an SQLite one is recognised.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            if current.errno in _FULL_ERRNOS:
                return DiskFault(FULL, str(path), current.strerror or str(current))
            if current.errno in _READ_ONLY_ERRNOS:
                return DiskFault(READ_ONLY, str(path), current.strerror or str(current))
        message = str(current).lower()
        if any(w in message for w in _FULL_WORDS):
            return DiskFault(FULL, str(path), _first_line(current))
        if any(w in message for w in _READ_ONLY_WORDS):
            return DiskFault(READ_ONLY, str(path), _first_line(current))
        if any(w in message for w in _AMBIGUOUS_WORDS):
            kind = _by_filesystem(path)
            if kind is not None:
                return DiskFault(kind, str(path), _first_line(current))
        current = current.__cause__ or current.__context__ or getattr(current, "orig", None)
    return None


def _by_filesystem(path: str | Path) -> str | None:
    """FULL or READ_ONLY as the filesystem holding ``path`` says (nearest existing parent)."""
    where = Path(path)
    while not where.exists() and where != where.parent:
        where = where.parent
    if read_only(where):
        return READ_ONLY
    left = free_bytes(where)
    return FULL if left is not None and left < PROBE_BYTES else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    if line.startswith("(") and ") " in line:  # SQLAlchemy's "(sqlite3.OperationalError) …"
        line = line.split(") ", 1)[1]
    return line[:200]


def free_bytes(directory: str | Path) -> int | None:
    """Bytes an unprivileged writer may still use on ``directory``'s filesystem (None: unknown)."""
    try:
        st = os.statvfs(directory)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def read_only(directory: str | Path) -> bool:
    """Whether ``directory``'s filesystem is mounted read-only."""
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


class DataDirUnusable(TrucbanError, OSError):
    """The data directory cannot be written (full or read-only); the message is one line."""

    def __init__(self, fault: DiskFault, what: str = "data_dir") -> None:
        self.fault = fault
        todo = ("giải phóng dung lượng trên ổ đó (free some space) hoặc đặt data_dir sang ổ khác"
                if fault.kind == FULL else
                "gắn lại ổ ở chế độ ghi được (remount read-write), sửa quyền, hoặc đặt data_dir sang ổ khác")
        super().__init__(f"Không ghi được thư mục dữ liệu {fault.path} ({what}): {fault.words} "
                         f"({fault.detail}) — {todo} (TRUCBAN_DATA_DIR)")


def unusable(exc: BaseException, path: str | Path, what: str = "data_dir") -> DataDirUnusable | None:
    """``exc`` as a one-line :class:`DataDirUnusable` when it is a disk fault, else None."""
    if isinstance(exc, DataDirUnusable):
        return exc
    fault = disk_fault(exc, path)
    return DataDirUnusable(fault, what) if fault is not None else None



def check_data_dir(directory: str | Path, min_free_bytes: int = 2**20) -> None:
    """Start-up check: ``directory`` exists (or can be made), can be written, and has room.

    Raises :class:`DataDirUnusable` (one line: the directory, full or read-only,
    what to do) instead of letting the first database open fail deep inside.
    """
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if read_only(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        probe = path / f".trucban-write-probe-{os.getpid()}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, b"\0" * PROBE_BYTES)
                os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            probe.unlink(missing_ok=True)
    except OSError as exc:
        fault = disk_fault(exc, path)
        if fault is None:
            raise
        raise DataDirUnusable(fault) from None
    left = free_bytes(path)
    if left is not None and left < min_free_bytes:
        raise DataDirUnusable(DiskFault(FULL, str(path), f"còn {left // 1024} KiB trống, "
                                                         f"cần ít nhất {min_free_bytes // 1024} KiB"))


class DiskReserve:
    """A file of ``size`` bytes kept on a disk and given back the moment that disk is full.

    The alerting database keeps one beside it: when something fills the disk,
    deleting the reserve frees room for the incidents and the outbox, so the
    watch goes on while people free space. Made again once there is plenty of room.
    """

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self.released = False

    def ensure(self) -> bool:
        """Make the reserve if missing and there is room for it three times over; never raises."""
        if self.size <= 0:
            return False
        try:
            if self.path.exists() and self.path.stat().st_size >= self.size:
                self.released = False
                return True
            left = free_bytes(self.path.parent)
            if left is None or left < 3 * self.size:
                return False
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.size)
            finally:
                os.close(fd)
        except OSError:
            self.path.unlink(missing_ok=True)
            return False
        self.released = False
        return True

    def release(self) -> bool:
        """Delete the reserve; True when it was there (room was freed)."""
        try:
            there = self.path.exists()
            self.path.unlink(missing_ok=True)
        except OSError:
            return False
        if there:
            self.released = True
        return there
