"""DNS serial consistency and IPv6 view; ICMP's no-reply state (unreachable hosts cannot be pinged here)."""

from __future__ import annotations

from unittest import mock

from icmplib import Host

from collectors.dns.collector import DnsCollector, _ipv6_sample, _qname
from collectors.dns.probe import ProbeOutcome
from collectors.icmp.collector import IcmpCollector
from inventory.model import Device


def _soa(serial: int | None, ok: bool = True, family: str = "ipv4") -> ProbeOutcome:
    return ProbeOutcome(family, "udp", "z.vn.", "SOA", 1.0, rcode="NOERROR" if ok else None,
                        answers=1 if ok else 0, serial=serial, error_kind=None if ok else "timeout")


def test_lagging_secondary_is_stale_and_leader_is_not() -> None:
    dns = DnsCollector(default_queries=())
    (primary,) = dns._zone_samples("ns1", "z.vn.", [_soa(2026010105)], {"device": "ns1"}, 1)
    (secondary,) = dns._zone_samples("ns2", "z.vn.", [_soa(2026010101)], {"device": "ns2"}, 1)
    assert primary.fields["stale"] is False
    assert secondary.fields["stale"] is True and secondary.fields["serial_lag"] == 4
    assert dns.zone_serials("z.vn") == {"ns1": 2026010105, "ns2": 2026010101}


def test_names_relative_to_zone() -> None:
    assert _qname("@", "z.vn.") == "z.vn." and _qname("www", "z.vn.") == "www.z.vn."
    assert _qname("other.vn.", "z.vn.") == "other.vn."


def test_ipv6_ready_needs_aaaa_and_v6_reachability() -> None:
    aaaa = ProbeOutcome("ipv6", "udp", "z.vn.", "AAAA", 1.0, rcode="NOERROR", answers=1)
    ready = _ipv6_sample({"ipv6": "::1"}, [aaaa], {}, 1)
    assert ready.fields["ready"] is True
    lost = _ipv6_sample({"ipv6": "::1"}, [aaaa, _soa(None, ok=False, family="ipv6")], {}, 1)
    assert lost.fields["reachable_ipv6"] is False and lost.fields["ready"] is False


async def test_no_echo_reply_is_a_named_state() -> None:
    silent = Host("10.9.9.9", 3, [])
    device = Device(id="bts9", name="BTS", site="s", role="bts", address="10.9.9.9")  # type: ignore[arg-type]
    with mock.patch("collectors.icmp.collector.async_ping", return_value=silent) as ping:
        result = await IcmpCollector(privileged=True, engine="icmplib").poll(device, {"device": "bts9"})
    ping.assert_called_once()
    assert not result.ok and result.error_kind == "no_reply"
    assert result.samples[0].fields == {"sent": 3, "received": 0, "loss": 1.0}


async def test_icmp_off_for_device_is_not_pinged() -> None:
    device = Device(id="x", name="x", site="s", role="bts", address="10.9.9.9", icmp=False)  # type: ignore[arg-type]
    with mock.patch("collectors.icmp.collector.async_ping") as ping:
        result = await IcmpCollector().poll(device, {})
    ping.assert_not_called()
    assert result.error_kind == "disabled"


def test_a_tcp_server_closing_mid_answer_is_a_failed_probe_not_a_crash() -> None:
    """bench.collectors crashed on dnspython's EOFError: a real loopback TCP server that reads the
    question and closes the connection gives a ``no_reply`` outcome instead."""
    import asyncio

    from collectors.dns.probe import probe

    async def go() -> ProbeOutcome:
        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(2)
            writer.write(b"\x00\x30")  # announces 48 bytes, sends none
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await probe("127.0.0.1", port, "ipv4", "tcp", "z.vn.", "SOA", 2.0)
        finally:
            server.close()

    outcome = asyncio.run(go())
    assert not outcome.ok and outcome.error_kind == "no_reply"
