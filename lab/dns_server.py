"""An authoritative DNS server for the demo lab, on dnspython: a primary and its secondary.

Why: the demo must show the DNS collector at work without Debian's nsd. Each
:class:`ZoneServer` answers UDP and TCP on one loopback port for one zone
(SOA, NS, A, AAAA …; NXDOMAIN inside the zone, REFUSED outside it). The
primary builds the zone itself, with the SOA serial staged for it
(``zone_serial``, default today's ``YYYYMMDD01``); a secondary starts empty
(SERVFAIL) and copies the zone from its primary by a real AXFR whenever the
primary's serial is newer, checked every ``refresh_s``. A secondary staged
``transfer: false`` stops copying, so its serial falls behind and the
collector's ``dns_zone.stale`` check has something to find. A ``silent``
server reads questions and never answers (the probe times out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable
from typing import Any

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

log = logging.getLogger(__name__)
HOST = "127.0.0.1"
StateOf = Callable[[str], dict[str, Any]]  # device id → its staged lab state

ZONE_TEMPLATE = """$TTL 300
@     IN SOA ns1 hostmaster ({serial} 3600 600 86400 300)
      IN NS  ns1
      IN NS  ns2
      IN A   127.0.0.1
      IN AAAA ::1
ns1   IN A   127.0.0.1
ns2   IN A   127.0.0.1
www   IN A   127.0.0.1
www   IN AAAA ::1
cong  IN A   127.0.0.1
mail  IN A   127.0.0.1
      IN MX  10 mail
"""


def default_serial(now: float | None = None) -> int:
    """Today's first serial in the usual ``YYYYMMDDnn`` form."""
    return int(time.strftime("%Y%m%d01", time.localtime(now)))


def build_zone(origin: str, serial: int) -> dns.zone.Zone:
    """The lab's zone under ``origin`` with SOA ``serial``."""
    return dns.zone.from_text(ZONE_TEMPLATE.format(serial=serial), origin=origin, relativize=False)


def zone_serial(zone: dns.zone.Zone | None) -> int | None:
    """The SOA serial of ``zone`` (None for no zone yet)."""
    if zone is None or zone.origin is None:
        return None
    soa = zone.find_rdataset(zone.origin, dns.rdatatype.SOA)
    return int(soa[0].serial)


class ZoneServer:
    """One authoritative server (primary, or secondary of ``primary_port``) for one zone."""

    def __init__(self, device: str, port: int, zone: str, state_of: StateOf, *,
                 primary_port: int | None = None, refresh_s: float = 10.0) -> None:
        """Remember what to serve; :meth:`start` binds the sockets."""
        self.device = device
        self.port = port
        self.origin = dns.name.from_text(zone)
        self.state_of = state_of
        self.primary_port = primary_port
        self.refresh_s = refresh_s
        self.zone: dns.zone.Zone | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def silent(self) -> bool:
        """The device is staged silent: questions go unanswered."""
        return bool(self.state_of(self.device).get("silent"))

    async def start(self) -> None:
        """Bind UDP and TCP on 127.0.0.1:port; a secondary starts pulling from its primary."""
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=(HOST, self.port))
        self._tcp = await asyncio.start_server(self._serve_tcp, HOST, self.port, reuse_address=True)
        if self.primary_port is None:
            self._primary_zone()
        else:
            self._spawn(self._refresh_loop())

    async def stop(self) -> None:
        """Close the sockets and stop refreshing."""
        for task in list(self._tasks):
            task.cancel()
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()

    # -- answering

    def answer(self, wire: bytes, tcp: bool) -> list[bytes]:
        """The reply messages (wire form) to one query; none for silence or garbage."""
        if self.silent:
            return []
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return []
        if self.primary_port is None:
            self._primary_zone()  # follows a newly staged serial
        reply = dns.message.make_response(query)
        reply.flags |= dns.flags.AA
        if not query.question:
            reply.set_rcode(dns.rcode.FORMERR)
            return [reply.to_wire()]
        question = query.question[0]
        zone = self.zone
        if not question.name.is_subdomain(self.origin):
            reply.flags &= ~dns.flags.AA
            reply.set_rcode(dns.rcode.REFUSED)
        elif zone is None:
            reply.set_rcode(dns.rcode.SERVFAIL)
        elif question.rdtype == dns.rdatatype.AXFR:
            if not tcp:
                reply.set_rcode(dns.rcode.REFUSED)
            else:
                soa = zone.find_rrset(self.origin, dns.rdatatype.SOA)
                rest = [r for r in _rrsets(zone) if r.rdtype != dns.rdatatype.SOA]
                reply.answer = [soa, *rest, soa]
        else:
            node = zone.get_node(question.name)
            if node is None:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            rdataset = node.get_rdataset(dns.rdataclass.IN, question.rdtype) if node else None
            if rdataset is not None:
                reply.answer.append(dns.rrset.from_rdata_list(question.name, rdataset.ttl, list(rdataset)))
            else:
                reply.authority.append(zone.find_rrset(self.origin, dns.rdatatype.SOA))
        return [reply.to_wire(max_size=65535 if tcp else 1232)]

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
                replies = self.answer(await reader.readexactly(size), tcp=True)
                if not replies:
                    continue  # silent: the client waits for its own timeout
                for reply in replies:
                    writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    # -- the zone

    def _primary_zone(self) -> None:
        wanted = int(self.state_of(self.device).get("zone_serial") or default_serial())
        if zone_serial(self.zone) != wanted:
            self.zone = build_zone(self.origin.to_text(), wanted)

    async def _refresh_loop(self) -> None:
        while True:
            with contextlib.suppress(dns.exception.DNSException, OSError, EOFError):
                await self.refresh()
            await asyncio.sleep(self.refresh_s)

    async def refresh(self) -> bool:
        """Secondary: copy the zone by AXFR if the primary's serial is newer; True if copied."""
        state = self.state_of(self.device)
        if self.primary_port is None or state.get("silent") or state.get("transfer") is False:
            return False
        query = dns.message.make_query(self.origin, dns.rdatatype.SOA)
        reply = await dns.asyncquery.udp(query, HOST, port=self.primary_port, timeout=1.0)
        answers = [r for r in reply.answer if r.rdtype == dns.rdatatype.SOA]
        current = zone_serial(self.zone)
        if not answers or (current is not None and int(answers[0][0].serial) <= current):
            return False
        fresh = dns.zone.Zone(self.origin, relativize=False)
        await dns.asyncquery.inbound_xfr(HOST, fresh, port=self.primary_port, timeout=5.0, lifetime=10.0)
        self.zone = fresh
        log.info("%s: zone %s transferred, serial %s", self.device, self.origin, zone_serial(fresh))
        return True

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _rrsets(zone: dns.zone.Zone) -> list[dns.rrset.RRset]:
    return [dns.rrset.from_rdata_list(name, rds.ttl, list(rds)) for name, rds in zone.iterate_rdatasets()]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: ZoneServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        for reply in self.server.answer(data, tcp=False):
            assert self.transport is not None
            self.transport.sendto(reply, addr)
