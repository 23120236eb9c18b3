"""pysnmp 7 engine: every SNMP version and v3 security level (USM, SHA/SHA-2, AES).

Used for SNMPv3 and wherever the fast engine does not apply. One pysnmp
``SnmpEngine`` and one transport target per (address, port, timeout, retries)
are reused; MIB lookups are off. Answers become plain values
(:mod:`collectors.snmp.values`) so samples match the fast engine's exactly.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import (
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    bulk_cmd,
    get_cmd,
    next_cmd,
)

from collectors.snmp.auth import snmp_auth
from collectors.snmp.ber import enc_int, tlv
from collectors.snmp.engine import Response, Target
from collectors.snmp.values import (
    END_OF_MIB_VIEW,
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    Counter32,
    Counter64,
    Gauge32,
    IpAddress,
    Oid,
    Opaque,
    TimeTicks,
    Value,
)
from common.errors import DeviceAuthError, DeviceProtocolError, PollTimeout

AUTH_FAILURES = ("unknownusername", "digest", "decrypt", "unknownsecurityname",
                 "unsupportedseclevel", "authentication", "notintimewindow", "unknownengineid")
_ABSENT = {"NoSuchObject": NO_SUCH_OBJECT, "NoSuchInstance": NO_SUCH_INSTANCE,
           "EndOfMibView": END_OF_MIB_VIEW}
_UINT = {"Counter32": Counter32, "Counter64": Counter64, "Gauge32": Gauge32, "Unsigned32": Gauge32,
         "TimeTicks": TimeTicks}


def plain(val: Any) -> Value:
    """A pysnmp value as a plain value (same as the BER codec gives)."""
    kind = type(val).__name__
    if kind in _ABSENT:
        return _ABSENT[kind]
    if kind in _UINT:
        return _UINT[kind](int(val))
    if kind == "IpAddress":
        return IpAddress(".".join(str(b) for b in val.asOctets()))
    if kind == "Opaque":
        return Opaque(val.asOctets())
    if kind in ("OctetString", "Bits"):
        return bytes(val.asOctets())
    if kind == "ObjectIdentifier":
        return tuple(val)
    return int(val)


def _security(target: Target) -> str:
    cred = target.credential
    if target.version != 3:
        return f"community of credential {target.credential_name!r}"
    level = ("authPriv" if getattr(cred, "priv_protocol", "none") != "none"
             else "authNoPriv" if getattr(cred, "auth_protocol", "none") != "none" else "noAuthNoPriv")
    return f"user {getattr(cred, 'user', '?')!r} ({level}) of credential {target.credential_name!r}"


def _discovery_message() -> bytes:
    """An SNMPv3 engine-discovery request (RFC 3414 §4): unauthenticated, reportable, empty user."""
    usm = tlv(0x30, tlv(0x04, b"") + enc_int(0) + enc_int(0) + tlv(0x04, b"") * 3)
    header = tlv(0x30, enc_int(0x7A11) + enc_int(65507) + tlv(0x04, b"\x04") + enc_int(3))
    scoped = tlv(0x30, tlv(0x04, b"") + tlv(0x04, b"") + tlv(0xA0, enc_int(0x7A11) + enc_int(0) + enc_int(0)
                                                                + tlv(0x30, b"")))
    return tlv(0x30, enc_int(3) + header + tlv(0x04, usm) + scoped)


async def v3_agent_answers(target: Target) -> bool:
    """True when an SNMPv3 agent answers engine discovery at ``target`` (it is alive)."""
    loop = asyncio.get_running_loop()
    got: asyncio.Future[bool] = loop.create_future()

    class _Probe(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            if not got.done():
                got.set_result(True)

    family = socket.AF_INET6 if ":" in target.host else socket.AF_INET
    transport, _ = await loop.create_datagram_endpoint(_Probe, family=family,
                                                      remote_addr=(target.host, target.port))
    try:
        transport.sendto(_discovery_message())
        return await asyncio.wait_for(got, target.timeout_s)
    except (TimeoutError, OSError):
        return False
    finally:
        transport.close()


class PysnmpEngine:
    """SNMP v1/v2c/v3 through pysnmp's asyncio high-level API."""

    name = "pysnmp"

    def __init__(self) -> None:
        self._engine = SnmpEngine()
        self._auth: dict[str, Any] = {}
        self._targets: dict[tuple, Any] = {}

    def supports(self, target: Target) -> bool:
        """Every SNMP version."""
        return target.version in (0, 1, 3)

    async def get(self, target: Target, oids: list[Oid]) -> Response:
        """One GET."""
        return await self._call(target, get_cmd, oids)

    async def next(self, target: Target, oids: list[Oid]) -> Response:
        """One GETNEXT."""
        return await self._call(target, next_cmd, oids)

    async def bulk(self, target: Target, non_repeaters: list[Oid], repeaters: list[Oid],
                   max_repetitions: int) -> Response:
        """One GETBULK."""
        return await self._call(target, bulk_cmd, [*non_repeaters, *repeaters],
                                len(non_repeaters), max_repetitions)

    def close(self) -> None:
        """Close pysnmp's transports."""
        self._engine.close_dispatcher()

    async def _call(self, target: Target, fn: Any, oids: list[Oid], *numbers: int) -> Response:
        auth, transport = await self._session(target)
        context = ContextData(contextName=getattr(target.credential, "context", "") or "")
        err_ind, err_status, err_index, binds = await fn(
            self._engine, auth, transport, context,
            *numbers, *(ObjectType(ObjectIdentity(o)) for o in oids), lookupMib=False,
        )
        if err_ind:
            text = str(err_ind)
            flat = text.lower().replace(" ", "")
            if type(err_ind).__name__ == "RequestTimedOut" or "timedout" in flat:
                if target.version == 3 and await v3_agent_answers(target):
                    who = _security(target)
                    raise DeviceAuthError(target.device, f"SNMP authentication failed for {who}: "
                                                         f"the agent answers SNMPv3 discovery but not our "
                                                         f"requests (wrong privacy key or security level); "
                                                         f"check the user and keys")
                raise PollTimeout(target.device, f"no SNMP answer from {target.host}:{target.port} "
                                                 f"(timeout {target.timeout_s:g} s × {target.retries + 1})")
            if any(h in flat for h in AUTH_FAILURES):
                raise DeviceAuthError(target.device, f"SNMP authentication failed for {_security(target)}: "
                                                     f"{text}; check the user and keys")
            raise DeviceProtocolError(target.device, f"SNMP error: {text}")
        return Response(int(err_status or 0), int(err_index or 0),
                        [(tuple(vb[0]), plain(vb[1])) for vb in binds])

    async def _session(self, target: Target) -> tuple[Any, Any]:
        auth = self._auth.get(target.credential_name)
        if auth is None:
            try:
                auth = snmp_auth(target.credential_name, target.credential)
            except ValueError as exc:
                raise DeviceProtocolError(target.device, str(exc)) from None
            self._auth[target.credential_name] = auth
        key = (target.host, target.port, target.timeout_s, target.retries)
        transport = self._targets.get(key)
        if transport is None:
            cls = Udp6TransportTarget if ":" in target.host else UdpTransportTarget
            transport = await cls.create((target.host, target.port), timeout=target.timeout_s,
                                         retries=target.retries)
            self._targets[key] = transport
        return auth, transport
