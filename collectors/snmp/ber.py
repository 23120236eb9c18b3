"""A small BER codec for SNMP v1/v2c messages: the collector's hot path.

Why: pysnmp spends most of its CPU per request on generic ASN.1 machinery
(schema-driven encoding, MIB-aware decoding). A poller sends the same request
to a device every cycle, so the request body is encoded once and only the
request-id changes, and responses are decoded straight into the plain values
of :mod:`collectors.snmp.values`. Only what SNMP v1/v2c messages use is
supported (RFC 1157, RFC 3416); v3 stays with pysnmp.

Decoding is strict because the bytes come off the network from anyone:
definite lengths only, long-form lengths of at most four octets, every TLV
inside its parent and every parent filled exactly, bounded integers and OID
arcs. Anything else raises :class:`BerError` (a ``ValueError``) and nothing
else; the work is linear in the datagram's size.
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


def _subid(arc: int) -> bytes:
    """One OID sub-identifier: base 128, high bit set on every octet but the last."""
    if arc < 0x80:
        return bytes((arc,))
    chunk = []
    while arc:
        chunk.append((arc & 0x7F) | 0x80)
        arc >>= 7
    chunk[0] &= 0x7F
    return bytes(reversed(chunk))


def enc_oid(oid: Oid) -> bytes:
    """An OBJECT IDENTIFIER (X.690 8.19: the first two arcs share one sub-identifier)."""
    if len(oid) < 2:
        raise BerError(f"OID too short: {oid}")
    first, second = oid[0], oid[1]
    if first not in (0, 1, 2) or second < 0 or (first < 2 and second >= 40):
        raise BerError(f"OID {oid} does not start with 0.x / 1.x (x < 40) or 2.x")
    if any(arc < 0 for arc in oid[2:]):
        raise BerError(f"OID {oid} has a negative arc")
    out = bytearray(_subid(first * 40 + second))
    for arc in oid[2:]:
        out += _subid(arc)
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
    community: bytes = b""  # what a reply must carry back

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
    return RequestTemplate(head, pdu_tag, tail, community)


def message(version: int, community: bytes, pdu_tag: int, request_id: int, a: int, b: int,
            binds: list[tuple[Oid, Value | None]]) -> bytes:
    """A complete message with values (responses, traps, informs; used by tests and the bench)."""
    pdu = tlv(pdu_tag, enc_int(request_id) + enc_int(a) + enc_int(b) + varbinds(binds))
    return tlv(0x30, enc_int(version) + tlv(0x04, community) + pdu)


# ---------------------------------------------------------------- decoding


MAX_LENGTH_OCTETS = 4  # long-form lengths up to 4 GiB; a UDP datagram is < 64 KiB anyway
MAX_OID_ARCS = 128  # RFC 2578 3.5
MAX_ARC = 0xFFFFFFFF  # RFC 2578 7.1.3: sub-identifiers are 0..2^32-1
_PDU_TAGS = frozenset((GET, GETNEXT, RESPONSE, SET, GETBULK, INFORM, TRAP_V2, REPORT))
_UINT_LIMITS = {0x41: (Counter32, 5, 0xFFFFFFFF), 0x42: (Gauge32, 5, 0xFFFFFFFF),
                0x43: (TimeTicks, 5, 0xFFFFFFFF), 0x46: (Counter64, 9, 0xFFFFFFFFFFFFFFFF)}
_ABSENT = {0x80: NO_SUCH_OBJECT, 0x81: NO_SUCH_INSTANCE, 0x82: END_OF_MIB_VIEW}


def _header(data: bytes, pos: int, limit: int) -> tuple[int, int, int]:
    """(tag, start of body, end of body) of the TLV at ``pos``, which must end by ``limit``.

    Strict: single-octet tags, definite lengths only, long form at most
    :data:`MAX_LENGTH_OCTETS` octets, and the whole TLV inside its container
    (``limit`` is the parent's end).
    """
    if pos + 2 > limit:
        raise BerError(f"truncated message: no room for a tag and length at byte {pos} "
                       f"(container ends at byte {limit})")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise BerError(f"multi-octet tag at byte {pos}: SNMP uses none")
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0:
            raise BerError(f"indefinite length at byte {pos - 1}: SNMP allows definite lengths only")
        if k > MAX_LENGTH_OCTETS:
            raise BerError(f"length of {k} octets at byte {pos - 1} (at most {MAX_LENGTH_OCTETS})")
        if pos + k > limit:
            raise BerError(f"truncated message: length octets at byte {pos - 1} run past byte {limit}")
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    end = pos + n
    if end > limit:
        raise BerError(f"length {n} at byte {pos} runs past its container "
                       f"({limit - pos} bytes left)")
    return tag, pos, end


def _integer(data: bytes, pos: int, limit: int, what: str) -> tuple[int, int]:
    """(value, end) of a header INTEGER (version, request-id, error status/index)."""
    tag, b, e = _header(data, pos, limit)
    if tag != 0x02:
        raise BerError(f"{what}: expected INTEGER, got tag 0x{tag:02x}")
    if not 0 < e - b <= 5:
        raise BerError(f"{what}: INTEGER of {e - b} octets (1 to 5 allowed)")
    return int.from_bytes(data[b:e], "big", signed=True), e


_OID_CACHE: dict[bytes, Oid] = {}
_OID_CACHE_MAX = 50_000  # a poller sees the same OIDs every cycle; cleared when full (~10 MB at most)


def decode_oid(body: bytes) -> Oid:
    """OID arcs from the body of an OBJECT IDENTIFIER (strict: minimal, bounded arcs)."""
    oid = _OID_CACHE.get(body)
    if oid is None:
        oid = _decode_oid(body)
        if len(_OID_CACHE) >= _OID_CACHE_MAX:
            _OID_CACHE.clear()
        _OID_CACHE[body] = oid
    return oid


def _decode_oid(body: bytes) -> Oid:
    if not body:
        raise BerError("empty OBJECT IDENTIFIER")
    if len(body) > MAX_OID_ARCS * 5:
        raise BerError(f"OBJECT IDENTIFIER of {len(body)} octets: more than {MAX_OID_ARCS} arcs")
    if max(body) < 0x80:  # the common case: every sub-identifier is one octet
        first = body[0]
        if len(body) > MAX_OID_ARCS - 1:
            raise BerError(f"OBJECT IDENTIFIER with {len(body) + 1} arcs (at most {MAX_OID_ARCS})")
        head = (first // 40, first % 40) if first < 80 else (2, first - 80)
        return head + tuple(body[1:])
    if body[-1] & 0x80:
        raise BerError("OBJECT IDENTIFIER ends inside a sub-identifier")
    subids: list[int] = []
    arc = 0
    fresh = True  # at the first octet of a sub-identifier
    for byte in body:
        if fresh and byte == 0x80:
            raise BerError("OBJECT IDENTIFIER sub-identifier with a leading 0x80 octet (not minimal)")
        arc = (arc << 7) | (byte & 0x7F)
        if arc > MAX_ARC + 80:  # + 80: the first sub-identifier carries 2.x
            raise BerError(f"OBJECT IDENTIFIER sub-identifier above {MAX_ARC}")
        if byte & 0x80:
            fresh = False
        else:
            subids.append(arc)
            arc = 0
            fresh = True
    if len(subids) > MAX_OID_ARCS - 1:
        raise BerError(f"OBJECT IDENTIFIER with {len(subids) + 1} arcs (at most {MAX_OID_ARCS})")
    first = subids[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    if head[1] > MAX_ARC or any(a > MAX_ARC for a in subids[1:]):
        raise BerError(f"OBJECT IDENTIFIER sub-identifier above {MAX_ARC}")
    return head + tuple(subids[1:])


def decode_value(tag: int, body: bytes) -> Value | None:
    """A plain value from one TLV (None for NULL); strict about sizes."""
    if tag == 0x04:
        return bytes(body)
    if tag == 0x02:
        if not 0 < len(body) <= 9:
            raise BerError(f"INTEGER of {len(body)} octets (1 to 9 allowed)")
        return int.from_bytes(body, "big", signed=True)
    limits = _UINT_LIMITS.get(tag)
    if limits is not None:
        cls, octets, top = limits
        if not 0 < len(body) <= octets:
            raise BerError(f"{cls.__name__} of {len(body)} octets (1 to {octets} allowed)")
        value = int.from_bytes(body, "big")
        if value > top:
            raise BerError(f"{cls.__name__} {value} out of range")
        return cls(value)
    if tag == 0x06:
        return decode_oid(body)
    if tag == 0x40:
        if len(body) != 4:
            raise BerError(f"IpAddress of {len(body)} octets (4 required)")
        return IpAddress(".".join(map(str, body)))
    if tag == 0x05 or tag in _ABSENT:
        if body:
            raise BerError(f"NULL-like value 0x{tag:02x} with {len(body)} content octets")
        return _ABSENT.get(tag)
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
    """Decode a whole v1/v2c message (not the v1 Trap-PDU, whose layout differs).

    Raises :class:`BerError` — and nothing else — for anything that is not a
    well-formed message: every length must be definite and inside its parent,
    and every parent must be filled exactly by its children.
    """
    size = len(data)
    tag, pos, end = _header(data, 0, size)
    if tag != 0x30:
        raise BerError(f"not an SNMP message: starts with tag 0x{tag:02x}, not a SEQUENCE")
    if end != size:
        raise BerError(f"{size - end} bytes after the end of the message")
    version, pos = _integer(data, pos, end, "version")
    if version not in (0, 1):
        raise BerError(f"unsupported SNMP version {version} (0 = v1 and 1 = v2c only)")
    tag, b, pos = _header(data, pos, end)
    if tag != 0x04:
        raise BerError(f"community: expected OCTET STRING, got tag 0x{tag:02x}")
    community = data[b:pos]
    pdu_tag, pos, pdu_end = _header(data, pos, end)
    if pdu_end != end:
        raise BerError(f"{end - pdu_end} bytes after the PDU inside the message")
    if pdu_tag not in _PDU_TAGS:
        raise BerError(f"unsupported PDU 0x{pdu_tag:02x}")
    request_id, pos = _integer(data, pos, pdu_end, "request-id")
    error_status, pos = _integer(data, pos, pdu_end, "error-status")
    error_index, pos = _integer(data, pos, pdu_end, "error-index")
    tag, pos, vb_end = _header(data, pos, pdu_end)
    if tag != 0x30:
        raise BerError(f"variable-bindings: expected SEQUENCE, got tag 0x{tag:02x}")
    if vb_end != pdu_end:
        raise BerError(f"{pdu_end - vb_end} bytes after the variable-bindings inside the PDU")
    binds: list[tuple[Oid, Value | None]] = []
    append = binds.append
    while pos < vb_end:
        # fast path: the usual varbind, all three lengths short-form and consistent
        if (pos + 4 <= vb_end and data[pos] == 0x30 and data[pos + 1] < 0x80 and data[pos + 2] == 0x06
                and data[pos + 3] < 0x80):
            bind_end = pos + 2 + data[pos + 1]
            oid_end = pos + 4 + data[pos + 3]
            if (oid_end + 2 <= bind_end <= vb_end and data[oid_end + 1] < 0x80
                    and oid_end + 2 + data[oid_end + 1] == bind_end):
                append((decode_oid(data[pos + 4:oid_end]),
                        decode_value(data[oid_end], data[oid_end + 2:bind_end])))
                pos = bind_end
                continue
        # anything else: step by step, with the precise error
        tag, b, bind_end = _header(data, pos, vb_end)
        if tag != 0x30:
            raise BerError(f"variable-binding {len(binds)}: expected SEQUENCE, got tag 0x{tag:02x}")
        tag, b, pos = _header(data, b, bind_end)
        if tag != 0x06:
            raise BerError(f"variable-binding {len(binds)}: name is tag 0x{tag:02x}, not an OID")
        oid = decode_oid(data[b:pos])
        tag, b, pos = _header(data, pos, bind_end)
        if pos != bind_end:
            raise BerError(f"variable-binding {len(binds)}: {bind_end - pos} bytes after its value")
        append((oid, decode_value(tag, data[b:pos])))
    return Pdu(version, bytes(community), pdu_tag, request_id, error_status, error_index, binds)


def request_id_of(data: bytes) -> int | None:
    """The request-id of a v1/v2c message without decoding the rest; None if not one."""
    try:
        size = len(data)
        tag, pos, end = _header(data, 0, size)
        if tag != 0x30 or end != size:
            return None
        _, _, pos = _header(data, pos, end)  # version
        _, _, pos = _header(data, pos, end)  # community
        _, pos, pdu_end = _header(data, pos, end)  # PDU
        tag, b, pos = _header(data, pos, pdu_end)
    except BerError:
        return None
    if tag != 0x02 or not 0 < pos - b <= 5:
        return None
    return int.from_bytes(data[b:pos], "big", signed=True)
