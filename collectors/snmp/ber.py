"""A small BER codec for SNMP v1/v2c messages: the collector's hot path.

Why: pysnmp spends most of its CPU per request on generic ASN.1 machinery
(schema-driven encoding, MIB-aware decoding). A poller sends the same request
to a device every cycle, so the request body is encoded once and only the
request-id changes, and responses are decoded straight into the plain values
of :mod:`collectors.snmp.values`. Only what SNMP v1/v2c messages use is
supported (RFC 1157, RFC 3416); v3 stays with pysnmp.
"""

from __future__ import annotations

from dataclasses import dataclass

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

GET, GETNEXT, RESPONSE, SET, TRAP_V1, GETBULK, INFORM, TRAP_V2, REPORT = (
    0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8,
)
_NULL = b"\x05\x00"


class BerError(ValueError):
    """The bytes are not a well-formed SNMP v1/v2c message."""


# ---------------------------------------------------------------- encoding


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, body: bytes) -> bytes:
    """One BER tag-length-value."""
    return bytes((tag,)) + _len(len(body)) + body


def enc_int(value: int, tag: int = 0x02) -> bytes:
    """A signed INTEGER (or an application integer type with ``tag``)."""
    size = max(1, (value.bit_length() + 8) // 8)
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def enc_uint(value: int, tag: int) -> bytes:
    """An unsigned application integer (Counter32/64, Gauge32, TimeTicks)."""
    body = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    if body[0] & 0x80:
        body = b"\x00" + body
    return tlv(tag, body)


def enc_oid(oid: Oid) -> bytes:
    """An OBJECT IDENTIFIER."""
    if len(oid) < 2:
        raise BerError(f"OID too short: {oid}")
    out = bytearray((oid[0] * 40 + oid[1],))
    for arc in oid[2:]:
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = []
        while arc:
            chunk.append((arc & 0x7F) | 0x80)
            arc >>= 7
        chunk[0] &= 0x7F
        out += bytes(reversed(chunk))
    return tlv(0x06, bytes(out))


def enc_value(value: Value | None) -> bytes:
    """Encode a plain value (None → NULL); the inverse of :func:`decode_value`."""
    if value is None:
        return _NULL
    if value is NO_SUCH_OBJECT:
        return b"\x80\x00"
    if value is NO_SUCH_INSTANCE:
        return b"\x81\x00"
    if value is END_OF_MIB_VIEW:
        return b"\x82\x00"
    for cls, tag in ((Counter32, 0x41), (Gauge32, 0x42), (TimeTicks, 0x43), (Counter64, 0x46)):
        if isinstance(value, cls):
            return enc_uint(int(value), tag)
    if isinstance(value, bool):
        return enc_int(int(value))
    if isinstance(value, int):
        return enc_int(value)
    if isinstance(value, Opaque):
        return tlv(0x44, bytes(value))
    if isinstance(value, bytes):
        return tlv(0x04, value)
    if isinstance(value, IpAddress):
        return tlv(0x40, bytes(int(p) for p in value.split(".")))
    if isinstance(value, str):
        return tlv(0x04, value.encode("utf-8"))
    if isinstance(value, tuple):
        return enc_oid(value)
    raise BerError(f"cannot encode {value!r}")


def varbinds(binds: list[tuple[Oid, Value | None]]) -> bytes:
    """The encoded VarBindList."""
    return tlv(0x30, b"".join(tlv(0x30, enc_oid(oid) + enc_value(val)) for oid, val in binds))


@dataclass(frozen=True, slots=True)
class RequestTemplate:
    """A request encoded once; :meth:`message` only adds the request-id."""

    head: bytes  # version + community
    pdu_tag: int
    tail: bytes  # the two integers after request-id, and the varbind list

    def message(self, request_id: int) -> bytes:
        """The full datagram for ``request_id``."""
        pdu = tlv(self.pdu_tag, enc_int(request_id) + self.tail)
        return tlv(0x30, self.head + pdu)


def request(version: int, community: bytes, pdu_tag: int, oids: list[Oid], a: int = 0, b: int = 0
            ) -> RequestTemplate:
    """A template for GET/GETNEXT (a=b=0) or GETBULK (a=non-repeaters, b=max-repetitions).

    ``version`` is the wire value: 0 for SNMPv1, 1 for SNMPv2c.
    """
    head = enc_int(version) + tlv(0x04, community)
    tail = enc_int(a) + enc_int(b) + varbinds([(o, None) for o in oids])
    return RequestTemplate(head, pdu_tag, tail)


def message(version: int, community: bytes, pdu_tag: int, request_id: int, a: int, b: int,
            binds: list[tuple[Oid, Value | None]]) -> bytes:
    """A complete message with values (responses, traps, informs; used by tests and the bench)."""
    pdu = tlv(pdu_tag, enc_int(request_id) + enc_int(a) + enc_int(b) + varbinds(binds))
    return tlv(0x30, enc_int(version) + tlv(0x04, community) + pdu)


# ---------------------------------------------------------------- decoding


def _header(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of body, end of body) of the TLV at ``pos``."""
    try:
        tag = data[pos]
        n = data[pos + 1]
        pos += 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(data[pos:pos + k], "big")
            pos += k
    except IndexError:
        raise BerError("truncated message") from None
    end = pos + n
    if end > len(data):
        raise BerError("truncated message")
    return tag, pos, end


def decode_oid(body: bytes) -> Oid:
    """OID arcs from the body of an OBJECT IDENTIFIER."""
    if not body:
        raise BerError("empty OID")
    first = body[0]
    arcs = [first // 40, first % 40] if first < 80 else [2, first - 80]
    arc = 0
    for byte in body[1:]:
        if byte & 0x80:
            arc = (arc << 7) | (byte & 0x7F)
        else:
            arcs.append((arc << 7) | byte)
            arc = 0
    return tuple(arcs)


def decode_value(tag: int, body: bytes) -> Value | None:
    """A plain value from one TLV (None for NULL)."""
    if tag == 0x02:
        return int.from_bytes(body, "big", signed=True)
    if tag == 0x04:
        return bytes(body)
    if tag == 0x41:
        return Counter32(int.from_bytes(body, "big"))
    if tag == 0x46:
        return Counter64(int.from_bytes(body, "big"))
    if tag == 0x42:
        return Gauge32(int.from_bytes(body, "big"))
    if tag == 0x43:
        return TimeTicks(int.from_bytes(body, "big"))
    if tag == 0x06:
        return decode_oid(body)
    if tag == 0x40:
        return IpAddress(".".join(map(str, body)))
    if tag == 0x05:
        return None
    if tag == 0x80:
        return NO_SUCH_OBJECT
    if tag == 0x81:
        return NO_SUCH_INSTANCE
    if tag == 0x82:
        return END_OF_MIB_VIEW
    if tag == 0x44:
        return Opaque(body)
    raise BerError(f"unknown value tag 0x{tag:02x}")


@dataclass(slots=True)
class Pdu:
    """A decoded SNMP v1/v2c message."""

    version: int
    community: bytes
    tag: int
    request_id: int
    error_status: int  # non-repeaters in a GETBULK
    error_index: int  # max-repetitions in a GETBULK
    binds: list[tuple[Oid, Value | None]]


def decode(data: bytes) -> Pdu:
    """Decode a whole v1/v2c message (not the v1 Trap-PDU, whose layout differs)."""
    tag, pos, end = _header(data, 0)
    if tag != 0x30:
        raise BerError("not an SNMP message")
    tag, b, pos = _header(data, pos)
    version = int.from_bytes(data[b:pos], "big")
    tag, b, pos = _header(data, pos)
    community = data[b:pos]
    pdu_tag, pos, pdu_end = _header(data, pos)
    if pdu_tag == TRAP_V1 or version > 1:
        raise BerError(f"unsupported PDU 0x{pdu_tag:02x} / version {version}")
    ints = []
    for _ in range(3):
        tag, b, pos = _header(data, pos)
        ints.append(int.from_bytes(data[b:pos], "big", signed=True))
    tag, pos, vb_end = _header(data, pos)
    binds: list[tuple[Oid, Value | None]] = []
    while pos < vb_end:
        _, pos, _bind_end = _header(data, pos)
        _, b, pos = _header(data, pos)
        oid = decode_oid(data[b:pos])
        tag, b, pos = _header(data, pos)
        binds.append((oid, decode_value(tag, data[b:pos])))
    return Pdu(version, bytes(community), pdu_tag, ints[0], ints[1], ints[2], binds)


def request_id_of(data: bytes) -> int | None:
    """The request-id of a v1/v2c message without decoding the rest; None if not one."""
    try:
        tag, pos, _ = _header(data, 0)
        _, _, pos = _header(data, pos)  # version
        _, _, pos = _header(data, pos)  # community
        _, pos, _ = _header(data, pos)  # PDU
        tag, b, pos = _header(data, pos)
    except BerError:
        return None
    return int.from_bytes(data[b:pos], "big", signed=True) if tag == 0x02 else None
