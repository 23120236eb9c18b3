"""Fast SNMP v1/v2c engine: own BER codec, one shared UDP socket, request-id demux.

Why: at national scale the poller's CPU per device is the limit. This engine
encodes each distinct request once (only the request-id changes), keeps a
single non-blocking UDP socket per address family with a large receive buffer
(many replies arrive at once at high concurrency), matches replies to waiting
polls by request-id and decodes them straight into plain values.

A reply is bound to its request: it completes a poll only when it comes from
the address and port the request went to, carries the request's version and
community and is a Response-PDU. Request ids are random (from :mod:`secrets`)
per request and unique among the polls in flight, so an off-path sender
cannot guess one. Anything else is dropped and counted in
:attr:`FastEngine.ignored`; a poll that saw only such datagrams still times
out (a spoofed packet never makes a dead device look alive).
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
from collections import Counter
from typing import Any

from collectors.snmp import ber
from collectors.snmp.engine import Response, Target
from collectors.snmp.udp import DrainingEndpoint
from collectors.snmp.values import Oid
from common.errors import DeviceProtocolError, PollTimeout

RCVBUF_BYTES = 4 * 1024 * 1024


def _community(target: Target) -> bytes:
    secret = getattr(target.credential, "community", None)
    if secret is None:
        raise DeviceProtocolError(target.device, f"credential {target.credential_name!r} has no community")
    return str(secret.get_secret_value()).encode("utf-8")


class _Waiter:
    """One poll in flight: where its request went, what a valid reply must carry."""

    __slots__ = ("community", "fut", "host", "port", "rejected", "version")

    def __init__(self, host: str, port: int, version: int, community: bytes) -> None:
        self.host = host
        self.port = port
        self.version = version
        self.community = community
        self.fut: asyncio.Future[ber.Pdu | None] | None = None
        self.rejected: str | None = None  # why the device's own last reply was unusable

    def from_target(self, addr: Any) -> bool:
        """True when ``addr`` (as the socket reports a sender) is where the request went."""
        if addr[1] != self.port:
            return False
        if addr[0] == self.host:
            return True
        try:  # a differently written form of the same address
            return ipaddress.ip_address(addr[0]) == ipaddress.ip_address(self.host)
        except ValueError:
            return False


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, pending: dict[int, _Waiter], ignored: Counter[str]) -> None:
        self.pending = pending
        self.ignored = ignored

    def datagram_received(self, data: bytes, addr: Any) -> None:
        rid = ber.request_id_of(data)
        waiter = self.pending.get(rid) if rid is not None else None
        if waiter is None:
            self.ignored["unknown_request_id"] += 1
            return
        fut = waiter.fut
        if fut is None or fut.done():
            self.ignored["late"] += 1
            return
        if not waiter.from_target(addr):
            self.ignored["wrong_source"] += 1
            return
        try:
            pdu = ber.decode(data)
        except ber.BerError as exc:
            self.ignored["malformed"] += 1
            waiter.rejected = f"malformed SNMP answer: {exc}"
            return
        if pdu.version != waiter.version or pdu.community != waiter.community:
            self.ignored["wrong_community"] += 1
            return
        if pdu.tag != ber.RESPONSE:
            self.ignored["wrong_pdu"] += 1
            waiter.rejected = f"unexpected PDU type 0x{pdu.tag:02x} in answer"
            return
        fut.set_result(pdu)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.: a timeout will follow
        pass


def _expire(fut: asyncio.Future[ber.Pdu | None]) -> None:
    if not fut.done():
        fut.set_result(None)


def make_socket(family: int, rcvbuf: int = RCVBUF_BYTES) -> socket.socket:
    """A non-blocking UDP client socket with large receive and send buffers."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    for name, force in (("SO_RCVBUF", "SO_RCVBUFFORCE"), ("SO_SNDBUF", "SO_SNDBUFFORCE")):
        option = getattr(socket, name)
        try:
            sock.setsockopt(socket.SOL_SOCKET, getattr(socket, force, option), rcvbuf)
        except OSError:  # not privileged: as much as the system allows
            sock.setsockopt(socket.SOL_SOCKET, option, rcvbuf)
    sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
    sock.setblocking(False)
    return sock


class FastEngine:
    """SNMP v1/v2c over the BER codec; one socket per address family, shared by all polls."""

    name = "fast"

    def __init__(self) -> None:
        self._pending: dict[int, _Waiter] = {}
        self._transports: dict[int, DrainingEndpoint] = {}
        self._templates: dict[tuple, ber.RequestTemplate] = {}
        self._hosts: dict[str, str] = {}
        #: datagrams dropped, by reason: unknown_request_id, late, wrong_source, malformed,
        #: wrong_community (version or community differ), wrong_pdu
        self.ignored: Counter[str] = Counter()

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

    def _transport(self, host: str) -> DrainingEndpoint:
        """The family's socket, opened on first use. Synchronous on purpose: when opening awaited,
        every poll of a cycle's first burst opened its own (1,000 sockets, left open)."""
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        transport = self._transports.get(family)
        if transport is None or transport.is_closing():
            transport = DrainingEndpoint(make_socket(family), _Protocol(self._pending, self.ignored),
                                         asyncio.get_running_loop())
            self._transports[family] = transport
        return transport

    def _new_id(self) -> int:
        """A random request id in 1..2^31-1 that no poll in flight uses."""
        while True:
            rid = secrets.randbits(31)
            if rid and rid not in self._pending:
                return rid

    def _host(self, host: str) -> str:
        """``host`` written as the socket reports senders (compressed IPv6, no leading zeros)."""
        text = self._hosts.get(host)
        if text is None:
            text = str(ipaddress.ip_address(host))
            if len(self._hosts) > 100_000:
                self._hosts.clear()
            self._hosts[host] = text
        return text

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
            transport = self._transport(target.host)
        rid = self._new_id()
        msg = template.message(rid)
        loop = asyncio.get_running_loop()
        waiter = _Waiter(self._host(target.host), target.port, target.version, template.community)
        self._pending[rid] = waiter
        addr = (target.host, target.port)
        try:
            for _ in range(target.retries + 1):
                fut: asyncio.Future[ber.Pdu | None] = loop.create_future()
                waiter.fut = fut
                transport.sendto(msg, addr)
                timer = loop.call_later(target.timeout_s, _expire, fut)
                pdu = await fut
                timer.cancel()
                if pdu is not None:
                    return Response(pdu.error_status, pdu.error_index, pdu.binds)  # type: ignore[arg-type]
        finally:
            self._pending.pop(rid, None)
        if waiter.rejected is not None:
            raise DeviceProtocolError(target.device, f"{waiter.rejected} (from {target.host}:{target.port})")
        raise PollTimeout(target.device, f"no SNMP answer from {target.host}:{target.port} "
                                         f"(timeout {target.timeout_s:g} s × {target.retries + 1})")
