"""DNS probe collector against Debian's nsd on a high port of 127.0.0.1 and ::1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collectors.dns.collector import DnsCollector
from inventory.model import Device
from tests.functional.collector_peers import BROKEN_ZONE, ZONE, NsdPeer, SilentUdp

pytestmark = pytest.mark.functional


def _tags(dev_id: str) -> dict[str, str]:
    return {"province": "31", "commune": "11311", "site": "dns-hp", "device": dev_id, "role": "dns"}


@pytest.fixture(scope="module")
def primary() -> Iterator[NsdPeer]:
    server = NsdPeer(serial=2026010101).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def secondary() -> Iterator[NsdPeer]:
    server = NsdPeer(serial=2026010101).start()
    try:
        yield server
    finally:
        server.stop()


def _device(dev_id: str, port: int, zone: str = ZONE, **extra: object) -> Device:
    dns = {"zone": zone, "port": port, "ipv4": "127.0.0.1", "ipv6": "::1", "timeout_s": 1.0, **extra}
    return Device.model_validate({"id": dev_id, "name": "Máy chủ DNS", "site": "dns-hp", "role": "dns",
                                  "address": "127.0.0.1", "dns": dns})


async def test_soa_ns_a_aaaa_over_udp_tcp_ipv4_ipv6(primary: NsdPeer) -> None:
    result = await DnsCollector().poll(_device("ns1", primary.port), _tags("ns1"))
    assert result.ok, result.error
    probes = [s for s in result.samples if s.measurement == "dns_probe"]
    assert len(probes) == 16  # 4 questions × udp/tcp × ipv4/ipv6
    assert {(s.tags["family"], s.tags["transport"]) for s in probes} == {
        ("ipv4", "udp"), ("ipv4", "tcp"), ("ipv6", "udp"), ("ipv6", "tcp")}
    assert all(s.fields["rcode"] == "NOERROR" and s.fields["latency_ms"] > 0 for s in probes)
    v6 = next(s for s in result.samples if s.measurement == "dns_ipv6")
    assert v6.fields["ready"] is True and dict(v6.tags) == _tags("ns1")


async def test_stale_secondary_is_seen_after_primary_reload(primary: NsdPeer, secondary: NsdPeer) -> None:
    dns = DnsCollector()
    ns1, ns2 = _device("ns1", primary.port), _device("ns2", secondary.port)
    primary.set_serial(2026010102)
    try:
        for _ in range(20):  # nsd reloads in the background
            r1 = await dns.poll(ns1, _tags("ns1"))
            zone1 = next(s for s in r1.samples if s.measurement == "dns_zone")
            if zone1.fields["serial"] == 2026010102:
                break
        r2 = await dns.poll(ns2, _tags("ns2"))
        zone2 = next(s for s in r2.samples if s.measurement == "dns_zone")
        assert zone1.fields["serial"] == 2026010102 and zone1.fields["stale"] is False
        assert zone2.fields["stale"] is True and zone2.fields["serial_lag"] == 1
        assert dns.zone_serials(ZONE) == {"ns1": 2026010102, "ns2": 2026010101}
    finally:
        primary.set_serial(2026010101)


@pytest.mark.parametrize(("zone", "kind", "rcode"), [(BROKEN_ZONE, "servfail", "SERVFAIL"),
                                                     ("example.com", "refused", "REFUSED")])
async def test_servfail_and_refused_are_named(primary: NsdPeer, zone: str, kind: str, rcode: str) -> None:
    result = await DnsCollector().poll(_device("ns1", primary.port, zone=zone, tcp=False), _tags("ns1"))
    assert not result.ok and result.error_kind == kind
    assert f"answered {rcode}" in (result.error or "")
    assert {s.fields.get("error_kind") for s in result.samples if s.measurement == "dns_probe"} == {kind}


async def test_silent_server_is_a_timeout() -> None:
    silent = SilentUdp()
    try:
        device = Device.model_validate({"id": "ns9", "name": "DNS", "site": "dns-hp", "role": "dns",
                                        "address": "127.0.0.1", "dns": {"zone": ZONE, "port": silent.port,
                                                                        "tcp": False, "timeout_s": 0.3}})
        result = await DnsCollector().poll(device, _tags("ns9"))
    finally:
        silent.stop()
    assert not result.ok and result.error_kind == "timeout"
    assert result.duration_ms < 2000  # probes run concurrently
