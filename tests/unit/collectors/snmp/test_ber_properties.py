"""Property tests of the BER codec: differential against pysnmp, and fuzzing.

- Differential: random valid SNMP v1/v2c Response messages are built and
  encoded with pysnmp (its v1/v2c protocol modules and pyasn1's BER encoder,
  the reference implementation); the fast decoder must return exactly the
  values that went in (same Python types), and pysnmp's own decoder must agree.
  The other direction too: what the fast encoder writes, pysnmp reads back.
- Fuzz: random bytes and mutated valid messages; the decoder may only return
  a message or raise :class:`collectors.snmp.ber.BerError`, and quickly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from collectors.snmp import ber
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

V1 = api.PROTOCOL_MODULES[api.SNMP_VERSION_1]
V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
U32 = 2**32 - 1
I32 = (-(2**31), 2**31 - 1)
MAX_DECODE_S = 1.0  # per input, on a shared and busy machine; typical is well under a millisecond
PROPS = settings(max_examples=300, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---------------------------------------------------------------- strategies


@st.composite
def oids(draw: st.DrawFn) -> Oid:
    """Any valid OBJECT IDENTIFIER: 0.x/1.x with x < 40 or 2.x, arcs up to 2^32-1, at most 128 arcs."""
    first = draw(st.integers(0, 2))
    second = draw(st.integers(0, 39) if first < 2 else st.integers(0, U32 - 80))
    small = st.integers(0, 200)
    rest = draw(st.lists(st.one_of(small, st.integers(0, U32)), max_size=126))
    return (first, second, *rest)


def _const(factory: Callable[[], Any], plain: Value | None) -> st.SearchStrategy[tuple[Any, Value | None]]:
    """A value-less type: a fresh pysnmp object per example (schema objects are not hashable)."""
    return st.just(0).map(lambda _: (factory(), plain))


def _v1_values() -> st.SearchStrategy[tuple[Any, Value | None]]:
    """(pysnmp v1 object, the plain value the fast decoder must give)."""
    return st.one_of(
        st.integers(-(2**63), 2**63 - 1).map(lambda v: (V1.Integer(v), v)),
        st.binary(max_size=300).map(lambda v: (V1.OctetString(v), v)),
        oids().map(lambda v: (V1.ObjectIdentifier(v), v)),
        st.binary(min_size=4, max_size=4).map(
            lambda v: (V1.IpAddress(v), IpAddress(".".join(map(str, v))))),
        st.integers(0, U32).map(lambda v: (V1.Counter(v), Counter32(v))),
        st.integers(0, U32).map(lambda v: (V1.Gauge(v), Gauge32(v))),
        st.integers(0, U32).map(lambda v: (V1.TimeTicks(v), TimeTicks(v))),
        st.binary(max_size=40).map(lambda v: (V1.Opaque(v), Opaque(v))),
        _const(lambda: V1.Null(""), None),
    )


def _v2c_values() -> st.SearchStrategy[tuple[Any, Value | None]]:
    """(pysnmp v2c object, the plain value the fast decoder must give)."""
    return st.one_of(
        st.integers(*I32).map(lambda v: (V2C.Integer(v), v)),
        st.binary(max_size=300).map(lambda v: (V2C.OctetString(v), v)),
        oids().map(lambda v: (V2C.ObjectIdentifier(v), v)),
        st.binary(min_size=4, max_size=4).map(
            lambda v: (V2C.IpAddress(v), IpAddress(".".join(map(str, v))))),
        st.integers(0, U32).map(lambda v: (V2C.Counter32(v), Counter32(v))),
        st.integers(0, 2**64 - 1).map(lambda v: (V2C.Counter64(v), Counter64(v))),
        st.integers(0, U32).map(lambda v: (V2C.Gauge32(v), Gauge32(v))),
        st.integers(0, U32).map(lambda v: (V2C.Unsigned32(v), Gauge32(v))),
        st.integers(0, U32).map(lambda v: (V2C.TimeTicks(v), TimeTicks(v))),
        st.binary(max_size=40).map(lambda v: (V2C.Opaque(v), Opaque(v))),
        _const(lambda: V2C.Null(""), None),
        _const(lambda: V2C.NoSuchObject(""), NO_SUCH_OBJECT),
        _const(lambda: V2C.NoSuchInstance(""), NO_SUCH_INSTANCE),
        _const(lambda: V2C.EndOfMibView(""), END_OF_MIB_VIEW),
    )


@st.composite
def responses(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    """A Response message encoded by pysnmp, and what it carries."""
    version = draw(st.sampled_from([0, 1]))
    mod = V1 if version == 0 else V2C
    binds = draw(st.lists(st.tuples(oids(), _v1_values() if version == 0 else _v2c_values()), max_size=20))
    expected = {
        "version": version,
        "community": draw(st.binary(max_size=64)),
        "request_id": draw(st.integers(*I32)),
        "error_status": draw(st.integers(0, 5 if version == 0 else 18)),
        "error_index": draw(st.integers(0, 1000)),
        "binds": [(oid, plain) for oid, (_, plain) in binds],
    }
    pdu = mod.GetResponsePDU()
    mod.apiPDU.set_defaults(pdu)
    mod.apiPDU.set_request_id(pdu, expected["request_id"])
    mod.apiPDU.set_error_status(pdu, expected["error_status"])
    mod.apiPDU.set_error_index(pdu, expected["error_index"])
    mod.apiPDU.set_varbinds(pdu, [(oid, obj) for oid, (obj, _) in binds])
    msg = mod.Message()
    mod.apiMessage.set_defaults(msg)
    mod.apiMessage.set_community(msg, expected["community"])
    mod.apiMessage.set_pdu(msg, pdu)
    return encoder.encode(msg), expected


def typed(binds: list[tuple[Oid, Value | None]]) -> list[tuple[Oid, type, Any]]:
    """Varbinds with each value's exact type (Counter32(5) and 5 must not pass for each other)."""
    return [(oid, type(val), val) for oid, val in binds]


# ---------------------------------------------------------------- differential


@PROPS
@given(responses())
def test_fast_decoder_returns_what_pysnmp_encoded(case: tuple[bytes, dict[str, Any]]) -> None:
    wire, expected = case
    pdu = ber.decode(wire)
    assert pdu.tag == ber.RESPONSE
    assert (pdu.version, pdu.community, pdu.request_id, pdu.error_status, pdu.error_index) == (
        expected["version"], expected["community"], expected["request_id"],
        expected["error_status"], expected["error_index"])
    assert typed(pdu.binds) == typed(expected["binds"])
    assert ber.request_id_of(wire) == expected["request_id"]
    # and the reference reads its own bytes the same way (guards the generator itself)
    mod = V1 if expected["version"] == 0 else V2C
    msg, rest = decoder.decode(wire, asn1Spec=mod.Message())
    assert rest == b""
    theirs = mod.apiPDU.get_varbinds(mod.apiMessage.get_pdu(msg))
    assert [tuple(o) for o, _ in theirs] == [o for o, _ in pdu.binds]


@PROPS
@given(st.sampled_from([0, 1]), st.binary(max_size=64), st.integers(*I32),
       st.lists(st.tuples(oids(), _v2c_values()), max_size=20))
def test_pysnmp_decodes_what_the_fast_encoder_wrote(version: int, community: bytes, request_id: int,
                                                    binds: list[tuple[Oid, tuple[Any, Value | None]]]
                                                    ) -> None:
    plain = [(oid, val) for oid, (_, val) in binds]
    mod = V1 if version == 0 else V2C
    if version == 0:  # v2c-only values have no v1 spec to decode against
        plain = [(o, v) for o, v in plain if not isinstance(v, Counter64) and v not in
                 (NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW)]
    wire = ber.message(version, community, ber.RESPONSE, request_id, 0, 0, plain)
    msg, rest = decoder.decode(wire, asn1Spec=mod.Message())
    assert rest == b""
    assert bytes(mod.apiMessage.get_community(msg)) == community
    pdu = mod.apiMessage.get_pdu(msg)
    assert int(mod.apiPDU.get_request_id(pdu)) == request_id
    theirs = mod.apiPDU.get_varbinds(pdu)
    assert [tuple(o) for o, _ in theirs] == [o for o, _ in plain]
    for (_, val), (_, ref) in zip(plain, theirs, strict=True):
        if val is None:
            assert type(ref).__name__ == "Null"
        elif isinstance(val, int):
            assert int(ref) == val
        elif isinstance(val, tuple):
            assert tuple(ref) == val
        elif isinstance(val, IpAddress):
            assert ".".join(str(b) for b in ref.asOctets()) == val
        elif isinstance(val, bytes):
            assert ref.asOctets() == val
        else:
            assert type(ref).__name__.lower() == repr(val).lower()


# ---------------------------------------------------------------- fuzzing


def decode_or_reject(data: bytes) -> ber.Pdu | None:
    """Decode; allow only BerError; bounded time; an accepted message must survive a round trip."""
    started = time.perf_counter()
    try:
        pdu: ber.Pdu | None = ber.decode(data)
    except ber.BerError as exc:
        assert isinstance(exc, ValueError) and str(exc)
        pdu = None
    rid = ber.request_id_of(data)
    assert time.perf_counter() - started < MAX_DECODE_S
    assert rid is None or isinstance(rid, int)
    if pdu is not None:
        assert rid == pdu.request_id
        again = ber.decode(ber.message(pdu.version, pdu.community, pdu.tag, pdu.request_id,
                                       pdu.error_status, pdu.error_index, pdu.binds))
        assert typed(again.binds) == typed(pdu.binds) and again.community == pdu.community
    return pdu


@PROPS
@given(st.binary(max_size=4096))
def test_random_bytes_only_raise_the_codec_error(data: bytes) -> None:
    decode_or_reject(data)


@PROPS
@given(st.binary(max_size=600).map(lambda body: b"\x30\x82" + len(body).to_bytes(2, "big") + body))
def test_random_bodies_behind_a_sequence_header_only_raise_the_codec_error(data: bytes) -> None:
    decode_or_reject(data)


_INTERESTING = [0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x1F, 0x30, 0x40, 0x41, 0x46, 0x7F, 0x80, 0x81,
                0x82, 0x84, 0x85, 0x88, 0xA2, 0xFF]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid pysnmp-encoded message with a few bytes flipped, set, inserted, removed or cut."""
    data = bytearray(draw(responses())[0])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "extend"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.sampled_from(_INTERESTING) | st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=6))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 6))]
        elif op == "truncate":
            del data[at:]
        else:
            data += draw(st.binary(min_size=1, max_size=6))
    return bytes(data)


@PROPS
@given(mutated())
def test_mutated_messages_only_raise_the_codec_error(data: bytes) -> None:
    decode_or_reject(data)


@pytest.mark.parametrize("data", [
    b"\x30\x82\xff\xf9" + b"\x02\x01\x01\x04\x00\xa2\x82\xff\xf0" + b"\x30" * 65520,  # nested junk
    b"\x30\x82\xff\xf0" + b"\x02\x01\x01\x04\x00\xa2\x82\xff\xe7\x02\x01\x01\x02\x01\x00\x02\x01\x00"
    b"\x30\x82\xff\xda\x30\x82\xff\xd6\x06\x82\xff\xd2" + b"\x81" * 65490,  # one endless OID arc
    b"\x30\x82\xff\xf0" + b"\x02\x01\x01\x04\x00\xa2\x82\xff\xe7\x02\x01\x01\x02\x01\x00\x02\x01\x00"
    b"\x30\x82\xff\xda" + b"\x30\x05\x06\x01\x2b\x05\x00" * 9362,  # ~9,000 tiny varbinds (valid-ish)
    b"\x30\x84\xff\xff\xff\xff" + b"\x00" * 60000,  # a 4 GiB claim
    b"\x30\x88" + b"\xff" * 8,  # an 8-octet length
    b"\x30\x80\x02\x01\x01\x00\x00",  # indefinite
])
def test_pathological_datagrams_are_rejected_or_decoded_quickly(data: bytes) -> None:
    decode_or_reject(data)
