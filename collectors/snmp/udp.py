"""A UDP client socket on the event loop that reads every waiting datagram at each wake-up.

Why not asyncio's datagram transport: it reads one datagram per socket per
loop iteration. On a loop also serving pages and evaluations, iterations are
few, and a national poll cycle brings more answers a second than that; the rest
waited in the receive buffer until it overflowed, and answered polls timed out
(bench.national: 24,000 "timeouts" in a cycle of 26,819 devices that all
answered). Here a wake-up drains the socket (up to ``MAX_PER_WAKE``), and sends
that would block wait in order for the socket to be writable again.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from typing import Any, Protocol

MAX_PER_WAKE = 4096  # datagrams read per wake-up before the loop gets its turn again


class DatagramSink(Protocol):
    """What receives the datagrams (an :class:`asyncio.DatagramProtocol` fits)."""

    def datagram_received(self, data: bytes, addr: Any) -> None:
        """One datagram from ``addr``."""

    def error_received(self, exc: Exception) -> None:
        """A socket error (an ICMP error reported on the socket, a refused send)."""


class DrainingEndpoint:
    """Owns ``sock`` (non-blocking, bound): reads it dry on each wake-up, sends in order."""

    def __init__(self, sock: socket.socket, sink: DatagramSink, loop: asyncio.AbstractEventLoop) -> None:
        """Starts reading at once."""
        self.sock, self.sink, self.loop = sock, sink, loop
        self._backlog: deque[tuple[bytes, Any]] = deque()
        self._closed = False
        loop.add_reader(sock.fileno(), self._drain)

    def _drain(self) -> None:
        recvfrom, sink = self.sock.recvfrom, self.sink
        for _ in range(MAX_PER_WAKE):
            try:
                data, addr = recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # reported for an earlier send; the poll will time out
                sink.error_received(exc)
                continue
            sink.datagram_received(data, addr)

    def sendto(self, data: bytes, addr: Any) -> None:
        """Send now, or after the datagrams already waiting when the socket's buffer is full."""
        if self._closed:
            return
        if not self._backlog:
            try:
                self.sock.sendto(data, addr)
                return
            except (BlockingIOError, InterruptedError):
                self.loop.add_writer(self.sock.fileno(), self._flush)
            except OSError as exc:
                self.sink.error_received(exc)
                return
        self._backlog.append((data, addr))

    def _flush(self) -> None:
        while self._backlog:
            data, addr = self._backlog[0]
            try:
                self.sock.sendto(data, addr)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.sink.error_received(exc)
            self._backlog.popleft()
        self.loop.remove_writer(self.sock.fileno())

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """As asyncio transports answer it: ``sockname``, ``socket``."""
        if name == "sockname":
            return self.sock.getsockname()
        return self.sock if name == "socket" else default

    def is_closing(self) -> bool:
        """True once closed."""
        return self._closed

    def close(self) -> None:
        """Stop reading and writing and close the socket (pending polls time out)."""
        if self._closed:
            return
        self._closed = True
        self.loop.remove_reader(self.sock.fileno())
        if self._backlog:
            self.loop.remove_writer(self.sock.fileno())
            self._backlog.clear()
        self.sock.close()
