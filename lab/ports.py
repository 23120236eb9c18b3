"""Loopback ports for the lab: is one free, and if not, which process holds it.

Why: a lab left behind (a ``kill -9`` of ``trucban run``, a crashed test) keeps
its ports, and "address already in use" alone sends a newcomer hunting. The
lab checks its ports before it starts anything and names the holder read from
``/proc`` (process id and command line), so the message says what to stop.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

PROC = Path("/proc")
TCP_LISTEN = "0A"  # /proc/net/tcp state of a listening socket


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port on ``host`` (IPv4 or IPv6) that is free right now."""
    with socket.socket(_family(host), socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def udp_port_free(host: str, port: int) -> bool:
    """True if nothing is bound to UDP ``host:port`` (checked without SO_REUSEADDR)."""
    with socket.socket(_family(host), socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def tcp_port_free(host: str, port: int) -> bool:
    """True if nothing listens on TCP ``host:port``.

    SO_REUSEADDR is set as every lab server sets it, so connections of a
    previous run lingering in TIME_WAIT do not count as busy; a listener does.
    """
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _socket_inodes(proto: str, port: int) -> set[str]:
    """Inodes of sockets bound to ``port`` (any address) in ``/proc/net/<proto>[6]``."""
    inodes: set[str] = set()
    for table in (proto, proto + "6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10 or int(cols[1].rsplit(":", 1)[1], 16) != port:
                continue
            if proto == "tcp" and cols[3] != TCP_LISTEN:
                continue
            inodes.add(cols[9])
    return inodes


def holder(proto: str, port: int) -> str | None:
    """``"process 1234 (python lab/snmpsim_main.py …)"`` holding ``proto`` (udp/tcp) ``port``, if found."""
    inodes = {f"socket:[{i}]" for i in _socket_inodes(proto, port) if i != "0"}
    if not inodes:
        return None
    for pid_dir in PROC.iterdir():
        if not pid_dir.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (pid_dir / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return f"process {pid_dir.name} ({_cmdline(pid_dir)})"
    return "a process this user cannot see"


def _cmdline(pid_dir: Path, limit: int = 120) -> str:
    try:
        raw = (pid_dir / "cmdline").read_bytes().decode(errors="replace")
        text = " ".join(raw.replace("\0", " ").split())
    except OSError:
        return "?"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def busy(proto: str, host: str, port: int) -> str:
    """One line saying that ``proto`` ``host:port`` is taken, and by whom when that can be found."""
    who = holder(proto, port)
    by = f"held by {who}" if who else "held by another program"
    return f"{proto.upper()} {host}:{port} is already in use ({by})"
