"""The demo lab's parts without processes: generated services, the DNS pair, NETCONF data, ports, probe.

Why: ``trucban run`` must show every collector, so the lab has DNS servers
(a primary and a secondary that copies it by AXFR), NETCONF routers and
SSH-only switches. These tests check what each part answers in-process, on
loopback sockets; the functional test ``test_demo_lab`` runs them for real.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path
from typing import Any

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import pytest
from lxml import etree

from collectors.netconf.decode import decode_alarms, decode_interfaces
from inventory.loader import load_inventory
from lab.dns_server import ZoneServer, default_serial
from lab.generator import generate_lab
from lab.netconf_server import operational_data
from lab.ports import busy, holder, tcp_port_free, udp_port_free
from lab.probe import run_blocking, snmp_get
from lab.runner import state_model
from lab.services import ServicesSpec

ZONE = "tslcd.haiphong.vn."


def test_generated_demo_lab_has_dns_netconf_and_ssh_devices(tmp_path: Path) -> None:
    layout = generate_lab(tmp_path, "31", 29200, 3, services=True)
    spec = ServicesSpec.read(layout.services)
    assert [(s.kind, s.device, s.port) for s in spec.servers] == [
        ("dns", "p31-dns1", 29201), ("dns", "p31-dns2", 29202), ("netconf", "p31-pe1", 29203),
        ("netconf", "p31-pe2", 29204), ("ssh", "c10507-sw0", 29205), ("ssh", "c10525-sw0", 29206)]
    assert spec.servers[1].primary_port == 29201 and oct(layout.services.stat().st_mode & 0o777) == "0o600"
    inv = load_inventory(layout.inventory)
    dns1, pe1, sw0 = inv.devices["p31-dns1"], inv.devices["p31-pe1"], inv.devices["c10507-sw0"]
    assert dns1.snmp is not None and dns1.dns is not None and dns1.dns.port == 29201
    assert pe1.snmp is None and pe1.netconf is not None and not pe1.icmp  # NETCONF decides its state
    assert sw0.snmp is None and sw0.ssh is not None and not sw0.icmp and sw0.parents == ("c10507-r1",)
    login: Any = inv.credentials["lab-login"]
    assert login.username == spec.username and login.password.get_secret_value() == spec.password
    again = ServicesSpec.read(generate_lab(tmp_path, "31", 29200, 3, services=True).services)
    assert again.password == spec.password  # a running lab keeps working after a regeneration
    plain = generate_lab(tmp_path, "31", 29200, 3)
    assert not plain.services.exists() and "p31-pe1" not in load_inventory(plain.inventory).devices


async def _ask(port: int, qname: str, qtype: str, tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(qname, qtype)
    ask = dns.asyncquery.tcp if tcp else dns.asyncquery.udp
    return await ask(query, "127.0.0.1", port=port, timeout=1.0)


def _free_pair() -> int:
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if all(udp_port_free("127.0.0.1", p) and tcp_port_free("127.0.0.1", p) for p in (port, port + 1)):
            return port
    raise RuntimeError("no two free ports in a row")


async def test_dns_primary_and_secondary() -> None:
    states: dict[str, dict[str, Any]] = {"ns1": {}, "ns2": {}}
    port = _free_pair()
    primary = ZoneServer("ns1", port, ZONE, states.__getitem__)
    secondary = ZoneServer("ns2", port + 1, ZONE, states.__getitem__, primary_port=port, refresh_s=3600)
    await primary.start()
    await secondary.start()
    try:
        for p in (port, port + 1):
            for qtype in ("SOA", "NS", "A", "AAAA"):
                for tcp in (False, True):
                    reply = await _ask(p, ZONE, qtype, tcp)
                    assert reply.rcode() == dns.rcode.NOERROR and reply.answer, (p, qtype, tcp)
        soa = (await _ask(port + 1, ZONE, "SOA")).answer[0][0]
        assert soa.serial == default_serial()
        assert (await _ask(port, "nope." + ZONE, "A")).rcode() == dns.rcode.NXDOMAIN
        assert (await _ask(port, "example.com.", "A")).rcode() == dns.rcode.REFUSED

        states["ns1"]["zone_serial"] = 2099010101  # the primary's zone changes …
        assert (await _ask(port, ZONE, "SOA")).answer[0][0].serial == 2099010101
        assert await secondary.refresh()  # … and the secondary copies it (AXFR)
        assert (await _ask(port + 1, ZONE, "SOA")).answer[0][0].serial == 2099010101
        states["ns2"]["transfer"] = False
        states["ns1"]["zone_serial"] = 2099010102
        assert not await secondary.refresh()  # transfers stopped: the secondary lags (stale serial)
        assert (await _ask(port + 1, ZONE, "SOA")).answer[0][0].serial == 2099010101

        states["ns1"]["silent"] = True
        for tcp in (False, True):
            with pytest.raises(dns.exception.Timeout):
                await _ask(port, ZONE, "SOA", tcp)
    finally:
        await secondary.stop()
        await primary.stop()


async def test_a_secondary_without_its_primary_answers_servfail() -> None:
    port = _free_pair()
    secondary = ZoneServer("ns2", port + 1, ZONE, lambda _d: {}, primary_port=port, refresh_s=3600)
    await secondary.start()
    try:
        await asyncio.sleep(0.3)  # its first refresh finds nobody
        assert (await _ask(port + 1, ZONE, "SOA")).rcode() == dns.rcode.SERVFAIL
    finally:
        await secondary.stop()


def test_netconf_data_follows_the_staged_state() -> None:
    names = ["xe-0/0/0", "xe-0/0/1"]
    now = time.time()
    healthy = etree.fromstring(operational_data(names, {}, now, state_model))
    rows = decode_interfaces(healthy, {"device": "pe"}, 0)
    assert [(r.tags["if_index"], r.fields["oper_status"]) for r in rows] == [("1", 1), ("2", 1)]
    assert decode_alarms(healthy, {}, 0)[-1].fields == {"active": 0}
    down = {"if_down": [2], "since": now - 10}
    later = etree.fromstring(operational_data(names, down, now + 60, state_model))
    rows = decode_interfaces(later, {}, 0)
    assert rows[1].fields["oper_status"] == 2
    frozen = decode_interfaces(etree.fromstring(operational_data(names, down, now + 120, state_model)), {}, 0)
    assert frozen[1].fields["in_octets"] == rows[1].fields["in_octets"]  # a down link carries nothing
    assert int(frozen[0].fields["in_octets"]) > int(rows[0].fields["in_octets"])
    alarms = decode_alarms(later, {}, 0)
    assert alarms[-1].fields == {"active": 1} and "xe-0/0/1" in str(alarms[0].fields["resource"])


def test_a_busy_port_names_its_holder() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
        udp.bind(("127.0.0.1", 0))
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        uport, tport = udp.getsockname()[1], tcp.getsockname()[1]
        assert not udp_port_free("127.0.0.1", uport) and not tcp_port_free("127.0.0.1", tport)
        for proto, port in (("udp", uport), ("tcp", tport)):
            who = holder(proto, port)
            assert who is not None and who.startswith(f"process {os.getpid()} (")
        assert busy("udp", "127.0.0.1", uport).startswith(f"UDP 127.0.0.1:{uport} is already in use (held by")
    assert udp_port_free("127.0.0.1", uport) and holder("udp", uport) is None


def test_probe_uses_the_collectors_engine_and_gives_none_on_silence() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        started = time.monotonic()
        assert run_blocking(snmp_get("127.0.0.1", silent.getsockname()[1], "public", "1.3.6.1.2.1.1.5.0",
                                     0.2, 0)) is None
        assert time.monotonic() - started < 2


def test_missing_lab_extra_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from common.errors import LabError
    from lab.services import LabServices

    layout = generate_lab(tmp_path, "31", 29300, 1, services=True)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "fakenos" else real(name))
    services = LabServices(layout.services)
    with pytest.raises(LabError, match=r"fakenos not installed .*install the 'lab' extra"):
        services.start(timeout=5)
    assert not services.running
