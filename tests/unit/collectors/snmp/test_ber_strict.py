"""The BER decoder is strict: each malformed shape is rejected with the codec's error and a clear reason."""

from __future__ import annotations

import pytest

from collectors.snmp import ber

OID = (1, 3, 6, 1, 2, 1, 1, 3, 0)


def good(binds: list | None = None, version: int = 1) -> bytes:
    """A valid Response with one varbind."""
    return ber.message(version, b"public", ber.RESPONSE, 4242, 0, 0, binds or [(OID, 7)])


def wrap_pdu(pdu_body: bytes, version: int = 1, pdu_tag: int = ber.RESPONSE) -> bytes:
    """A message around a hand-made PDU body."""
    return ber.tlv(0x30, ber.enc_int(version) + ber.tlv(0x04, b"public") + ber.tlv(pdu_tag, pdu_body))


HEAD_INTS = ber.enc_int(4242) + ber.enc_int(0) + ber.enc_int(0)


def one_bind(value_tlv: bytes, oid_tlv: bytes | None = None) -> bytes:
    """A PDU body with one hand-made varbind."""
    bind = ber.tlv(0x30, (oid_tlv if oid_tlv is not None else ber.enc_oid(OID)) + value_tlv)
    return HEAD_INTS + ber.tlv(0x30, bind)


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "truncated"),
    (b"\x30", "truncated"),
    (b"\x30\x80" + good()[2:] + b"\x00\x00", "indefinite length"),
    (b"\x30\x85\x00\x00\x00\x00\x10" + b"\x00" * 16, "length of 5 octets"),
    (b"\x30\x84\x7f\xff\xff\xff\x02\x01\x01", "runs past"),
    (b"\x30\x82\x01", "length octets"),
    (good() + b"\x00", "1 bytes after the end of the message"),
    (b"\x1f\x01\x00", "multi-octet tag"),
    (b"\x02\x01\x00", "not an SNMP message"),
    (ber.tlv(0x30, ber.enc_int(3) + ber.tlv(0x04, b"x")), "version 3"),
    (ber.tlv(0x30, ber.tlv(0x04, b"\x01") + ber.tlv(0x04, b"x")), "version: expected INTEGER"),
    (ber.tlv(0x30, ber.tlv(0x02, b"") + ber.tlv(0x04, b"x")), "INTEGER of 0 octets"),
    (ber.tlv(0x30, ber.enc_int(1) + ber.enc_int(5) + ber.tlv(0xA2, b"")), "community: expected OCTET STRING"),
    (wrap_pdu(HEAD_INTS + ber.tlv(0x30, b""), pdu_tag=ber.TRAP_V1), "unsupported PDU 0xa4"),
    (wrap_pdu(HEAD_INTS + ber.tlv(0x30, b""), pdu_tag=0xA9), "unsupported PDU 0xa9"),
    (wrap_pdu(ber.enc_int(1) + ber.enc_int(0)), "truncated"),
    (wrap_pdu(ber.tlv(0x02, b"\x01" * 6) + HEAD_INTS[3:]), "request-id: INTEGER of 6 octets"),
    (wrap_pdu(HEAD_INTS + ber.tlv(0x31, b"")), "variable-bindings: expected SEQUENCE"),
    (wrap_pdu(HEAD_INTS + ber.tlv(0x30, b"") + b"\x05\x00"), "bytes after the variable-bindings"),
    (wrap_pdu(HEAD_INTS + ber.tlv(0x30, b"\x04\x00")), "variable-binding 0: expected SEQUENCE"),
    (wrap_pdu(HEAD_INTS + ber.tlv(0x30, ber.tlv(0x30, b"\x04\x01\x2b\x05\x00"))), "not an OID"),
    (wrap_pdu(HEAD_INTS + ber.tlv(0x30, ber.tlv(0x30, ber.enc_oid(OID) + b"\x05\x00\x05\x00"))),
     "bytes after its value"),
    # a child whose length runs past its parent, though not past the datagram
    (wrap_pdu(HEAD_INTS + ber.tlv(0x30, b"\x30\x09" + ber.enc_oid((1, 3)) + b"\x05\x00")) + b"",
     "runs past its container"),
    (wrap_pdu(one_bind(b"\x02\x00")), "INTEGER of 0 octets"),
    (wrap_pdu(one_bind(ber.tlv(0x02, b"\x01" * 10))), "INTEGER of 10 octets"),
    (wrap_pdu(one_bind(ber.tlv(0x41, b"\x01\x00\x00\x00\x00"))), "Counter32 4294967296 out of range"),
    (wrap_pdu(one_bind(ber.tlv(0x41, b"\x00" * 6))), "Counter32 of 6 octets"),
    (wrap_pdu(one_bind(ber.tlv(0x46, b"\x01" + b"\x00" * 8))), "Counter64 18446744073709551616 out of range"),
    (wrap_pdu(one_bind(ber.tlv(0x43, b""))), "TimeTicks of 0 octets"),
    (wrap_pdu(one_bind(ber.tlv(0x40, b"\x0a\x00\x00"))), "IpAddress of 3 octets"),
    (wrap_pdu(one_bind(b"\x05\x01\x00")), "NULL-like value 0x05"),
    (wrap_pdu(one_bind(b"\x81\x01\x00")), "NULL-like value 0x81"),
    (wrap_pdu(one_bind(b"\x47\x01\x00")), "unknown value tag 0x47"),
    (wrap_pdu(one_bind(b"\x05\x00", b"\x06\x00")), "empty OBJECT IDENTIFIER"),
    (wrap_pdu(one_bind(b"\x05\x00", b"\x06\x02\x2b\x86")), "ends inside a sub-identifier"),
    (wrap_pdu(one_bind(b"\x05\x00", b"\x06\x03\x2b\x80\x01")), "leading 0x80"),
    (wrap_pdu(one_bind(b"\x05\x00", b"\x06\x07\x2b\x90\x80\x80\x80\x80\x00")), "above 4294967295"),
    (wrap_pdu(one_bind(b"\x05\x00", ber.tlv(0x06, b"\x2b" + b"\x01" * 127))), "129 arcs"),
], ids=lambda v: v if isinstance(v, str) else "msg")
def test_malformed_messages_are_rejected_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ber.BerError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        ber.decode(data)


def test_the_codec_error_is_a_value_error() -> None:
    assert issubclass(ber.BerError, ValueError)


def test_long_form_lengths_up_to_four_octets_are_accepted() -> None:
    data = good()
    body = data[2:]
    for k in (1, 2, 3, 4):  # non-minimal but definite long forms are valid BER
        longer = b"\x30" + bytes((0x80 | k,)) + len(body).to_bytes(k, "big") + body
        assert ber.decode(longer).binds == [(OID, 7)]


def test_request_id_of_is_as_strict_as_decode() -> None:
    assert ber.request_id_of(good()) == 4242
    assert ber.request_id_of(good() + b"\x00") is None  # trailing bytes
    assert ber.request_id_of(b"\x30\x80" + good()[2:] + b"\x00\x00") is None  # indefinite
    assert ber.request_id_of(wrap_pdu(ber.tlv(0x04, b"\x01") + HEAD_INTS[3:])) is None  # not an INTEGER
    assert ber.request_id_of(b"\x30\x03\x02\x01") is None


def test_an_oid_of_128_arcs_is_accepted() -> None:
    oid = (1, 3, *([1] * 126))
    assert ber.decode(good([(oid, None)])).binds == [(oid, None)]


@pytest.mark.parametrize("oid", [(2, 999, 1), (2, 4294967215, 7), (0, 39), (1, 3, 4294967295)])
def test_oids_with_wide_first_arcs_round_trip(oid: tuple[int, ...]) -> None:
    assert ber.decode(good([(oid, oid)])).binds == [(oid, oid)]


@pytest.mark.parametrize("oid", [(3, 1), (1, 40), (1, 3, -1), (1,)])
def test_invalid_oids_are_not_encoded(oid: tuple[int, ...]) -> None:
    with pytest.raises(ber.BerError):
        ber.enc_oid(oid)
