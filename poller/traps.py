"""SNMP trap and inform receiver: link and BTS power alarms trigger an immediate re-poll.

Why: a poll every 30–60 s is too slow to learn that a commune's fibre went down
or its BTS switched to battery; devices say so at once with a trap. The
receiver (pysnmp, asyncio) listens on a configurable UDP port (unprivileged by
default), accepts SNMPv1/v2c traps and informs for the inventory's communities
and SNMPv3 informs (and traps from configured engine IDs) for its v3 users,
finds the device (source address, narrowed by community or user), maps the
trap OID to an event kind, and hands a :class:`TrapEvent` to a callback — the
service stores it and re-polls that device.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto.api import v2c

from collectors.snmp.auth import AUTH, PRIV
from collectors.snmp.pysnmp_engine import plain
from collectors.snmp.values import field_value
from common.errors import ConfigError, Problem
from inventory.credentials import SnmpCommunity, SnmpV3User
from inventory.model import Device

log = logging.getLogger(__name__)
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
IF_INDEX_PREFIX = "1.3.6.1.2.1.2.2.1.1."
# trap OID → event kind (SNMPv2-MIB generic traps, IF-MIB, UPS-MIB RFC 1628); data, extend freely
TRAP_KINDS: dict[str, str] = {
    "1.3.6.1.6.3.1.1.5.1": "cold_start",
    "1.3.6.1.6.3.1.1.5.2": "warm_start",
    "1.3.6.1.6.3.1.1.5.3": "link_down",
    "1.3.6.1.6.3.1.1.5.4": "link_up",
    "1.3.6.1.2.1.33.2.1": "ups_on_battery",
    "1.3.6.1.2.1.33.2.2": "ups_test_completed",
    "1.3.6.1.2.1.33.2.3": "ups_alarm",
    "1.3.6.1.2.1.33.2.4": "ups_alarm_cleared",
}
REPOLL_KINDS = frozenset({"cold_start", "warm_start", "link_down", "link_up", "ups_on_battery", "ups_alarm",
                          "ups_alarm_cleared"})


@dataclass(frozen=True)
class TrapEvent:
    """One received notification, attributed to a device when possible."""

    ts: int
    kind: str  # a TRAP_KINDS value, or "other"
    trap_oid: str
    source: str  # sender address
    device: str | None
    confirmed: bool  # an inform (acknowledged) rather than a trap
    if_index: int | None = None
    varbinds: dict[str, str] = field(default_factory=dict)

    @property
    def wants_repoll(self) -> bool:
        """True for events after which the device's state should be read again now."""
        return self.device is not None and self.kind in REPOLL_KINDS


TrapCallback = Callable[[TrapEvent], None]


def sender_address(raw: str) -> str:
    """The sender as the inventory writes it: no ``%scope``, IPv4-mapped (``::ffff:a.b.c.d``) → IPv4.

    A receiver on ``::`` (dual-stack) sees IPv4 senders as IPv4-mapped IPv6 addresses.
    """
    try:
        addr = ipaddress.ip_address(raw.split("%", 1)[0])
    except ValueError:
        return raw
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


class TrapReceiver:
    """Listens for notifications on ``host:port`` and calls ``on_event`` for each."""

    def __init__(self, devices: Iterable[Device], credentials: dict[str, object], on_event: TrapCallback,
                 host: str = "127.0.0.1", port: int = 16162, v3_engine_ids: Iterable[bytes] = ()) -> None:
        """Accept the communities/users of ``credentials`` that ``devices`` use."""
        self.host, self.port = host.strip().removeprefix("[").removesuffix("]"), port  # "[::1]" → "::1"
        self.on_event = on_event
        self.received = 0
        self._engine: Any = None
        self._by_address: dict[str, list[Device]] = {}
        self._by_security: dict[str, set[str]] = {}
        used: dict[str, object] = {}
        for device in devices:
            for address in device.families.values():  # a dual-stack device may send from either
                self._by_address.setdefault(address, []).append(device)
            if device.snmp is not None and device.snmp.credential in credentials:
                cred = credentials[device.snmp.credential]
                used[device.snmp.credential] = cred
                key = cred.user if isinstance(cred, SnmpV3User) else device.snmp.credential
                self._by_security.setdefault(key, set()).add(device.id)
        self._credentials = used
        self._engine_ids = list(v3_engine_ids)

    async def start(self) -> None:
        """Bind the UDP port and start receiving; a busy port is a clear ConfigError."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        if family == socket.AF_INET6 and self.host in ("::", "::0", "0:0:0:0:0:0:0:0"):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # "::" takes IPv4 senders too
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ConfigError([Problem("settings", None, "trap_port", self.port,
                                       f"cannot listen for SNMP traps on {self.host}:{self.port}: {exc}")],
                              "trap receiver") from None
        self.port = int(sock.getsockname()[1])
        snmp_engine = engine.SnmpEngine()
        transport = (udp6.Udp6AsyncioTransport() if family == socket.AF_INET6 else udp.UdpAsyncioTransport())
        domain = udp6.DOMAIN_NAME if family == socket.AF_INET6 else udp.DOMAIN_NAME
        config.add_transport(snmp_engine, domain, transport.open_server_mode(sock=sock))
        self._configure_security(snmp_engine)
        ntfrcv.NotificationReceiver(snmp_engine, self._received)
        self._engine = snmp_engine
        log.info("SNMP trap receiver on udp://%s:%d (%d credentials)", self.host, self.port,
                 len(self._credentials))

    def stop(self) -> None:
        """Close the port."""
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    def _configure_security(self, snmp_engine: Any) -> None:
        for name, cred in self._credentials.items():
            if isinstance(cred, SnmpCommunity) and cred.community is not None:
                config.add_v1_system(snmp_engine, name, cred.community.get_secret_value())
            elif isinstance(cred, SnmpV3User):
                keys = {
                    "authProtocol": AUTH[cred.auth_protocol], "privProtocol": PRIV[cred.priv_protocol],
                    "authKey": cred.auth_key.get_secret_value() if cred.auth_key else None,
                    "privKey": cred.priv_key.get_secret_value() if cred.priv_key else None,
                }
                config.add_v3_user(snmp_engine, cred.user, **keys)  # informs: we are authoritative
                for engine_id in self._engine_ids:  # traps: the sender is authoritative
                    config.add_v3_user(snmp_engine, cred.user, securityEngineId=v2c.OctetString(engine_id),
                                       **keys)

    def _received(self, snmp_engine: Any, state_reference: Any, context_engine_id: Any, context_name: Any,
                  var_binds: Any, cb_ctx: Any) -> None:
        try:
            ctx = snmp_engine.observer.get_execution_context("rfc3412.receiveMessage:request")
            source = sender_address(str(ctx["transportAddress"][0]))
            security = str(ctx["securityName"])
            pdu_tag = ctx["pdu"].getTagSet()
            event = self._event(source, security, var_binds,
                                confirmed=pdu_tag == v2c.InformRequestPDU.tagSet)
        except Exception:  # a malformed trap must never stop the receiver
            log.exception("could not read an SNMP notification")
            return
        self.received += 1
        log.info("trap %s from %s (%s)", event.kind, event.device or source, event.trap_oid)
        try:
            self.on_event(event)
        except Exception:
            log.exception("trap handler failed for %s", event)

    def _event(self, source: str, security: str, var_binds: Any, confirmed: bool) -> TrapEvent:
        values: dict[str, str] = {}
        trap_oid, if_index = "", None
        for name, val in var_binds:
            oid = ".".join(map(str, tuple(name)))
            shown = field_value(plain(val))
            values[oid] = "" if shown is None else str(shown)
            if oid == SNMP_TRAP_OID:
                trap_oid = values[oid]
            elif oid.startswith(IF_INDEX_PREFIX):
                if_index = int(shown) if isinstance(shown, int) else None
        return TrapEvent(int(time.time()), TRAP_KINDS.get(trap_oid, "other"), trap_oid, source,
                         self._device(source, security), confirmed, if_index, values)

    def _device(self, source: str, security: str) -> str | None:
        """The sending device: by address, narrowed by community/user when several share it."""
        at = [d.id for d in self._by_address.get(source, [])]
        allowed = self._by_security.get(security, set())
        matches = [d for d in at if d in allowed] if len(at) != 1 else at
        return matches[0] if len(matches) == 1 else None
