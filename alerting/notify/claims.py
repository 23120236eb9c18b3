"""Who holds an outbox claim: the identity of a process, and whether it still runs.

A claimed outbox row carries ``claimed_by``, the string form of a
:class:`ProcessIdentity` (host, boot id, pid, process start, random token). At
start the outbox takes back at once the rows claimed by a process of this node
that no longer runs — another boot, no such pid, or a pid reused by another
process — instead of waiting for their lease to expire.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path


def _boot_id() -> str:
    """This machine's boot id ('' where the kernel does not tell)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> str | None:
    """A process's start time (clock ticks since boot, /proc); None if it does not run, '' if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def _pid_gone(pid: int) -> bool:
    """Without /proc: ask the kernel whether ``pid`` exists (False when it cannot tell)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    """Who holds a claim: host, boot, pid, process start and a random token, as one string."""

    host: str
    boot: str
    pid: int
    start: str
    token: str = field(default_factory=lambda: secrets.token_hex(6))

    @classmethod
    def current(cls) -> ProcessIdentity:
        """The identity of this process (a new token each time: each Outbox is its own claimer)."""
        pid = os.getpid()
        return cls(socket.gethostname()[:64], _boot_id(), pid, _start_ticks(pid) or "")

    def __str__(self) -> str:
        return f"{self.host}|{self.boot}|{self.pid}|{self.start}|{self.token}"

    @classmethod
    def parse(cls, text: str | None) -> ProcessIdentity | None:
        """The identity written in ``claimed_by``; None if missing or malformed."""
        parts = (text or "").split("|")
        if len(parts) != 5 or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]), parts[3], parts[4])

    def holder_gone(self, holder: ProcessIdentity) -> bool:
        """Is the process that wrote ``holder`` certainly not running any more?

        Only decidable on this node (same host): another boot, no such pid, or
        a pid reused by another process (other start time). A claim by another
        host is left to its lease.
        """
        if holder.host != self.host or str(holder) == str(self):
            return False
        if holder.boot and self.boot and holder.boot != self.boot:
            return True
        if not self.start:  # no /proc here: ask the kernel whether the pid exists
            return _pid_gone(holder.pid)
        start = _start_ticks(holder.pid)
        if start is None:
            return True
        return bool(start and holder.start and start != holder.start)
