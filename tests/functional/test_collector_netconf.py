"""NETCONF collector against a real NETCONF/SSH server on 127.0.0.1 (PyPI ``netconf``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import SecretStr

from collectors.netconf.collector import NetconfCollector
from inventory.credentials import Login
from inventory.model import Device
from tests.functional.collector_peers import (
    ALARMS_XML,
    HARDWARE_XML,
    NC_PASSWORD,
    NC_USER,
    NetconfPeer,
    interfaces_xml,
)

pytestmark = pytest.mark.functional
TAGS = {"province": "31", "commune": "11311", "site": "hq-11311", "device": "r1", "role": "router"}
CREDS = {"nc": Login(kind="login", username=NC_USER, password=SecretStr(NC_PASSWORD)),
         "wrong": Login(kind="login", username=NC_USER, password=SecretStr("not-the-password"))}


@pytest.fixture(scope="module")
def peer() -> Iterator[NetconfPeer]:
    server = NetconfPeer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
async def collector(peer: NetconfPeer) -> AsyncIterator[NetconfCollector]:
    peer.set_mode("normal")
    peer.set_data(interfaces_xml([("ge-0/0/0", 1, "up", 1000, 2000), ("ge-0/0/1", 2, "up", 5, 6)])
                  + HARDWARE_XML + ALARMS_XML)
    nc = NetconfCollector(CREDS)
    yield nc
    await nc.close()


def _device(peer: NetconfPeer, cred: str = "nc", dev_id: str = "r1") -> Device:
    return Device.model_validate({"id": dev_id, "name": "Router NETCONF", "site": "hq-11311",
                                  "role": "router", "address": "127.0.0.1",
                                  "netconf": {"credential": cred, "port": peer.port, "timeout_s": 3}})


def _if(result, index: str):  # type: ignore[no-untyped-def]
    return next(s for s in result.samples if s.measurement == "snmp_if" and s.tags["if_index"] == index)


async def test_polls_interfaces_hardware_alarms_and_sees_a_port_go_down(
        peer: NetconfPeer, collector: NetconfCollector) -> None:
    device = _device(peer)
    first = await collector.poll(device, TAGS)
    assert first.ok, first.error
    assert _if(first, "2").fields["oper_status"] == 1
    assert {s.measurement for s in first.samples} >= {"snmp_if", "hardware", "alarm", "alarm_summary"}
    assert all(s.tags["commune"] == "11311" and s.tags["device"] == "r1" for s in first.samples)
    peer.set_data(interfaces_xml([("ge-0/0/0", 1, "up", 1500, 2500), ("ge-0/0/1", 2, "down", 5, 6)]))
    second = await collector.poll(device, TAGS)
    assert second.ok and _if(second, "2").fields["oper_status"] == 2
    assert _if(second, "1").fields["in_octets"] == 1500
    # the three modules were announced at connect, so all three filters ran on the reused session
    session = next(s for s in second.samples if s.measurement == "netconf_session")
    assert session.fields["reconnects"] == 0 and session.fields["filters"] == 3


async def test_session_is_reused_then_reestablished_after_the_server_restarts(
        peer: NetconfPeer, collector: NetconfCollector) -> None:
    device = _device(peer)
    assert (await collector.poll(device, TAGS)).ok
    assert (await collector.poll(device, TAGS)).ok
    assert collector.reconnects["r1"] == 0
    peer.stop_process()
    down = await collector.poll(device, TAGS)
    assert not down.ok and down.error_kind == "unreachable"
    peer.start()
    back = await collector.poll(device, TAGS)
    assert back.ok, back.error
    assert collector.reconnects["r1"] == 1


async def test_rpc_error_is_named_with_the_servers_message(
        peer: NetconfPeer, collector: NetconfCollector) -> None:
    peer.set_mode("rpc_error")
    result = await collector.poll(_device(peer), TAGS)
    assert not result.ok and result.error_kind == "rpc_error"
    assert "operation-failed" in (result.error or "") and "Bộ nhớ đầy" in (result.error or "")


async def test_malformed_xml_is_named_and_next_poll_recovers(
        peer: NetconfPeer, collector: NetconfCollector) -> None:
    device = _device(peer)
    peer.set_mode("malformed")
    bad = await collector.poll(device, TAGS)
    assert not bad.ok and bad.error_kind == "malformed_xml", bad.error
    peer.set_mode("normal")
    assert (await collector.poll(device, TAGS)).ok


async def test_wrong_password_is_auth_and_never_shown(peer: NetconfPeer, collector: NetconfCollector) -> None:
    result = await collector.poll(_device(peer, cred="wrong", dev_id="r2"), TAGS)
    assert not result.ok and result.error_kind == "auth"
    assert "not-the-password" not in (result.error or "")
