"""Fast SNMP v1/v2c engine: own BER codec, one shared UDP socket, request-id demux.

Why: at national scale the poller's CPU per device is the limit. This engine
encodes each distinct request once (only the request-id changes), keeps a
single non-blocking UDP socket per address family with a large receive buffer
(many replies arrive at once at high concurrency), matches replies to waiting
polls by request-id and decodes them straight into plain values.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import socket
from typing import Any

from collectors.snmp import ber
from collectors.snmp.engine import Response, Target
from collectors.snmp.values import Oid
from common.errors import DeviceProtocolError, PollTimeout

RCVBUF_BYTES = 4 * 1024 * 1024


def _community(target: Target) -> bytes:
    secret = getattr(target.credential, "community", None)
    if secret is None:
        raise DeviceProtocolError(target.device, f"credential {target.credential_name!r} has no community")
    return str(secret.get_secret_value()).encode("utf-8")


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, pending: dict[int, asyncio.Future[bytes | None]]) -> None:
        self.pending = pending

    def datagram_received(self, data: bytes, addr: Any) -> None:
        rid = ber.request_id_of(data)
        fut = self.pending.get(rid) if rid is not None else None
        if fut is not None and not fut.done():
            fut.set_result(data)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.: a timeout will follow
        pass


def _expire(fut: asyncio.Future[bytes | None]) -> None:
    if not fut.done():
        fut.set_result(None)


def make_socket(family: int, rcvbuf: int = RCVBUF_BYTES) -> socket.socket:
    """A non-blocking UDP client socket with a large receive buffer."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    try:
        sock.setsockopt(socket.SOL_SOCKET, force or socket.SO_RCVBUF, rcvbuf)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
    sock.setblocking(False)
    return sock


class FastEngine:
    """SNMP v1/v2c over the BER codec; one socket per address family, shared by all polls."""

    name = "fast"

    def __init__(self) -> None:
        self._pending: dict[int, asyncio.Future[bytes | None]] = {}
        self._transports: dict[int, asyncio.DatagramTransport] = {}
        self._ids = itertools.count(1)
        self._templates: dict[tuple, ber.RequestTemplate] = {}

    def supports(self, target: Target) -> bool:
        """v1 and v2c communities only."""
        return target.version in (0, 1)

    async def get(self, target: Target, oids: list[Oid]) -> Response:
        """One GET."""
        return await self._request(target, ber.GET, oids, 0, 0)

    async def next(self, target: Target, oids: list[Oid]) -> Response:
        """One GETNEXT."""
        return await self._request(target, ber.GETNEXT, oids, 0, 0)

    async def bulk(self, target: Target, non_repeaters: list[Oid], repeaters: list[Oid],
                   max_repetitions: int) -> Response:
        """One GETBULK (v2c)."""
        return await self._request(target, ber.GETBULK, [*non_repeaters, *repeaters],
                                   len(non_repeaters), max_repetitions)

    def close(self) -> None:
        """Close the sockets; pending polls time out."""
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()

    async def _transport(self, host: str) -> asyncio.DatagramTransport:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        transport = self._transports.get(family)
        if transport is None or transport.is_closing():
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self._pending), sock=make_socket(family))
            self._transports[family] = transport
        return transport

    async def _request(self, target: Target, tag: int, oids: list[Oid], a: int, b: int) -> Response:
        key = (target.credential_name, target.version, tag, tuple(oids), a, b)
        template = self._templates.get(key)
        if template is None:
            template = ber.request(target.version, _community(target), tag, oids, a, b)
            if len(self._templates) > 100_000:
                self._templates.clear()
            self._templates[key] = template
        transport = self._transports.get(socket.AF_INET) if ":" not in target.host else None
        if transport is None or transport.is_closing():
            transport = await self._transport(target.host)
        rid = next(self._ids) & 0x7FFFFFFF
        msg = template.message(rid)
        loop = asyncio.get_running_loop()
        addr = (target.host, target.port)
        try:
            for _ in range(target.retries + 1):
                fut: asyncio.Future[bytes | None] = loop.create_future()
                self._pending[rid] = fut
                transport.sendto(msg, addr)
                timer = loop.call_later(target.timeout_s, _expire, fut)
                data = await fut
                timer.cancel()
                if data is not None:
                    return self._response(target, data)
        finally:
            self._pending.pop(rid, None)
        raise PollTimeout(target.device, f"no SNMP answer from {target.host}:{target.port} "
                                         f"(timeout {target.timeout_s:g} s × {target.retries + 1})")

    def _response(self, target: Target, data: bytes) -> Response:
        try:
            pdu = ber.decode(data)
        except ber.BerError as exc:
            raise DeviceProtocolError(target.device, f"malformed SNMP answer: {exc}") from None
        if pdu.tag != ber.RESPONSE:
            raise DeviceProtocolError(target.device, f"unexpected PDU type 0x{pdu.tag:02x}")
        return Response(pdu.error_status, pdu.error_index, pdu.binds)  # type: ignore[arg-type]
