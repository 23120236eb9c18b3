"""The BER codec against pysnmp's own encoder/decoder (the reference implementation)."""

from __future__ import annotations

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from collectors.snmp import ber
from collectors.snmp.pysnmp_engine import plain
from collectors.snmp.values import (
    END_OF_MIB_VIEW,
    NO_SUCH_INSTANCE,
    Counter32,
    Counter64,
    Gauge32,
    IpAddress,
    TimeTicks,
)

P = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


def test_getbulk_request_matches_pysnmp_encoding() -> None:
    oids = [(1, 3, 6, 1, 2, 1, 1, 3), (1, 3, 6, 1, 2, 1, 2, 2, 1, 8), (1, 3, 6, 1, 4, 1, 200000, 1)]
    ours = ber.request(1, b"c-1", ber.GETBULK, oids, 1, 5).message(1234567)
    msg, _ = decoder.decode(ours, asn1Spec=P.Message())
    pdu = P.apiMessage.get_pdu(msg)
    assert P.apiMessage.get_community(msg) == b"c-1"
    assert P.apiBulkPDU.get_request_id(pdu) == 1234567
    assert P.apiBulkPDU.get_non_repeaters(pdu) == 1
    assert P.apiBulkPDU.get_max_repetitions(pdu) == 5
    assert [tuple(o) for o, _ in P.apiBulkPDU.get_varbinds(pdu)] == oids
    assert ber.request_id_of(ours) == 1234567


def test_response_decoding_matches_pysnmp_values() -> None:
    binds = [
        ("1.3.6.1.2.1.1.5.0", P.OctetString("Router lõi".encode())),
        ("1.3.6.1.2.1.1.3.0", P.TimeTicks(4294967295)),
        ("1.3.6.1.2.1.1.2.0", P.ObjectIdentifier("1.3.6.1.4.1.2011.2.23.95")),
        ("1.3.6.1.2.1.2.2.1.10.1", P.Counter32(4294967295)),
        ("1.3.6.1.2.1.31.1.1.1.6.1", P.Counter64(2**64 - 1)),
        ("1.3.6.1.2.1.31.1.1.1.15.1", P.Gauge32(10000)),
        ("1.3.6.1.2.1.4.20.1.1.10.0.0.1", P.IpAddress("10.0.0.1")),
        ("1.3.6.1.2.1.33.1.2.5.0", P.Integer(-42)),
        ("1.3.6.1.2.1.99", P.NoSuchInstance()),
        ("1.3.6.1.2.1.100", P.EndOfMibView()),
    ]
    pdu = P.GetResponsePDU()
    P.apiPDU.set_defaults(pdu)
    P.apiPDU.set_request_id(pdu, 99)
    P.apiPDU.set_varbinds(pdu, binds)
    msg = P.Message()
    P.apiMessage.set_defaults(msg)
    P.apiMessage.set_community(msg, "x")
    P.apiMessage.set_pdu(msg, pdu)
    decoded = ber.decode(encoder.encode(msg))
    assert decoded.tag == ber.RESPONSE and decoded.request_id == 99
    ours = [v for _, v in decoded.binds]
    theirs = [plain(v) for _, v in binds]
    assert ours == theirs
    assert [type(v) for v in ours[:7]] == [bytes, TimeTicks, tuple, Counter32, Counter64, Gauge32, IpAddress]
    assert ours[8] is NO_SUCH_INSTANCE and ours[9] is END_OF_MIB_VIEW


@pytest.mark.parametrize("value", [0, 1, -1, 127, 128, -129, 2**31 - 1, -(2**31)])
def test_integers_round_trip(value: int) -> None:
    data = ber.message(1, b"c", ber.RESPONSE, 1, 0, 0, [((1, 3, 6, 1), value)])
    assert ber.decode(data).binds == [((1, 3, 6, 1), value)]


def test_large_arcs_and_long_lengths_round_trip() -> None:
    oid = (1, 3, 6, 1, 4, 1, 4294967295, 128, 16384)
    payload = b"x" * 70_000  # three-byte length
    data = ber.message(1, b"c", ber.RESPONSE, 7, 0, 0, [(oid, payload)])
    assert ber.decode(data).binds == [(oid, payload)]


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(ber.BerError):
        ber.decode(b"\x30\x05\x02\x01")
    assert ber.request_id_of(b"junk") is None
