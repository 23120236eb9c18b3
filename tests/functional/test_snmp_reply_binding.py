"""SNMP replies are bound to their request (issue 18, item 5), on real UDP sockets.

A spoofer on another port (or another loopback address) sends well-formed
Responses carrying an observed or guessed request id to the fast engine's
socket while the real agent (snmpsim, silenced) says nothing: the poll must
time out, never complete. Replies with another community or version, and
malformed ones, are ignored too. Request ids are random, not 1, 2, 3…
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from collectors.snmp import ber
from collectors.snmp.engine import Target
from collectors.snmp.fast import FastEngine
from common.errors import DeviceProtocolError, PollTimeout
from inventory.credentials import SnmpCommunity
from lab.runner import stage
from tests.functional.conftest import Lab

pytestmark = [pytest.mark.functional, pytest.mark.asyncio(loop_scope="session")]
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
TIMEOUT_S = 0.6


def lab_target(lab: Lab, device_id: str, retries: int = 1) -> Target:
    """The fast engine's view of a lab device (as the collector builds it)."""
    device = lab.inventory.devices[device_id]
    assert device.snmp is not None
    name = device.snmp.credential
    return Target(device.id, str(device.address), device.snmp.port, name,
                  lab.inventory.credentials[name], TIMEOUT_S, retries)


def engine_port(engine: FastEngine) -> int:
    """The UDP port of the engine's IPv4 socket (what an observer sees as the source of requests)."""
    transport = engine._transports[socket.AF_INET]
    return int(transport.get_extra_info("sockname")[1])


async def in_flight(engine: FastEngine) -> list[int]:
    """Request ids of the polls in flight (what an on-path observer reads off the wire)."""
    for _ in range(200):
        if engine._pending:
            return list(engine._pending)
        await asyncio.sleep(0.005)
    raise AssertionError("the poll never sent its request")


def forged(community: bytes, request_id: int, version: int = 1) -> bytes:
    """A well-formed Response saying the device is up."""
    return ber.message(version, community, ber.RESPONSE, request_id, 0, 0, [(SYS_UPTIME, 123456)])


class Agent(asyncio.DatagramProtocol):
    """A scripted agent on a real UDP port: ``answer(request)`` gives the datagrams to send back."""

    def __init__(self, answer: Callable[[ber.Pdu], list[bytes]]) -> None:
        self.answer = answer
        self.seen: list[ber.Pdu] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        request = ber.decode(data)
        self.seen.append(request)
        assert self.transport is not None
        for reply in self.answer(request):
            self.transport.sendto(reply, addr)


async def start_agent(answer: Callable[[ber.Pdu], list[bytes]], host: str = "127.0.0.1"
                      ) -> tuple[Agent, asyncio.DatagramTransport, int]:
    """A scripted agent on ``host``:<free port>."""
    loop = asyncio.get_running_loop()
    transport, agent = await loop.create_datagram_endpoint(lambda: Agent(answer), local_addr=(host, 0))
    return agent, transport, int(transport.get_extra_info("sockname")[1])


def community_target(port: int, community: str = "right", retries: int = 0, host: str = "127.0.0.1"
                     ) -> Target:
    """A v2c target on ``host``:``port``."""
    cred = SnmpCommunity(kind="snmp_v2c", community=SecretStr(community))
    return Target("scripted", host, port, "scripted", cred, TIMEOUT_S, retries)


@pytest.fixture()
def engine() -> Iterator[FastEngine]:
    """A fresh fast engine, closed afterwards."""
    eng = FastEngine()
    yield eng
    eng.close()


# ---------------------------------------------------------------- spoofing against the real lab agent


async def test_a_spoofed_reply_does_not_make_a_silent_device_answer(healthy_lab: Lab,
                                                                    engine: FastEngine) -> None:
    device_id = f"c{healthy_lab.inventory.watched_communes[0]}-bts1"
    target = lab_target(healthy_lab, device_id)
    community = str(target.credential.community.get_secret_value()).encode()  # type: ignore[attr-defined]
    assert (await engine.get(target, [SYS_UPTIME])).binds[0][0] == SYS_UPTIME  # alive and reachable first
    stage(healthy_lab.layout.state_dir, device_id, silent=True)

    spoofer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    spoofer.bind(("127.0.0.1", 0))  # another port than the agent's
    assert spoofer.getsockname()[1] != target.port
    try:
        poll = asyncio.ensure_future(engine.get(target, [SYS_UPTIME]))
        observed = await in_flight(engine)
        victim = ("127.0.0.1", engine_port(engine))
        for _ in range(3):  # across the first try and the retry
            for rid in [*observed, *range(1, 65)]:  # the observed id, and the ids a sequential engine used
                spoofer.sendto(forged(community, rid), victim)
                spoofer.sendto(forged(community, rid, version=0), victim)
            await asyncio.sleep(TIMEOUT_S / 2)
        with pytest.raises(PollTimeout, match="no SNMP answer"):
            await poll
    finally:
        spoofer.close()
    assert engine.ignored["wrong_source"] >= 6
    assert observed[0] not in engine._pending  # nothing left behind


async def test_a_reply_from_another_address_with_the_agents_port_is_ignored(engine: FastEngine) -> None:
    agent, transport, port = await start_agent(lambda request: [])  # a silent agent on 127.0.0.1
    spoofer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    spoofer.bind(("127.0.0.2", port))  # same port, another (loopback) address
    try:
        poll = asyncio.ensure_future(engine.get(community_target(port), [SYS_UPTIME]))
        (rid,) = await in_flight(engine)
        spoofer.sendto(forged(b"right", rid), ("127.0.0.1", engine_port(engine)))
        with pytest.raises(PollTimeout):
            await poll
    finally:
        spoofer.close()
        transport.close()
    assert len(agent.seen) == 1 and engine.ignored["wrong_source"] == 1


# ---------------------------------------------------------------- the agent's own port, wrong contents


async def test_a_reply_with_the_wrong_community_is_ignored(engine: FastEngine) -> None:
    agent, transport, port = await start_agent(
        lambda request: [forged(b"wrong", request.request_id), forged(b"", request.request_id)])
    try:
        with pytest.raises(PollTimeout):
            await engine.get(community_target(port, retries=1), [SYS_UPTIME])
    finally:
        transport.close()
    assert len(agent.seen) == 2 and engine.ignored["wrong_community"] == 4


async def test_a_reply_with_the_wrong_version_is_ignored(engine: FastEngine) -> None:
    agent, transport, port = await start_agent(
        lambda request: [forged(b"right", request.request_id, version=0)])
    try:
        with pytest.raises(PollTimeout):
            await engine.get(community_target(port), [SYS_UPTIME])
    finally:
        transport.close()
    assert engine.ignored["wrong_community"] == 1


async def test_the_right_reply_after_ignored_ones_completes_the_poll(engine: FastEngine) -> None:
    def answer(request: ber.Pdu) -> list[bytes]:
        rid = request.request_id
        return [forged(b"wrong", rid), b"\x30\x80junk", forged(b"right", rid + 1),
                ber.message(1, b"right", ber.GET, rid, 0, 0, [(SYS_UPTIME, None)]),
                ber.message(1, b"right", ber.RESPONSE, rid, 0, 0, [(SYS_UPTIME, 42)])]

    agent, transport, port = await start_agent(answer)
    try:
        response = await engine.get(community_target(port), [SYS_UPTIME])
    finally:
        transport.close()
    assert response.binds == [(SYS_UPTIME, 42)]
    assert engine.ignored["wrong_community"] == 1 and engine.ignored["wrong_pdu"] == 1
    assert engine.ignored["unknown_request_id"] == 2  # the junk and the neighbouring id


async def test_a_device_that_only_sends_garbage_gets_a_protocol_error_after_the_timeout(
        engine: FastEngine) -> None:
    def answer(request: ber.Pdu) -> list[bytes]:  # well framed, but an IpAddress of three octets
        bind = ber.tlv(0x30, ber.enc_oid(SYS_UPTIME) + b"\x40\x03\x0a\x00\x00")
        pdu = ber.enc_int(request.request_id) + ber.enc_int(0) + ber.enc_int(0) + ber.tlv(0x30, bind)
        return [ber.tlv(0x30, ber.enc_int(1) + ber.tlv(0x04, b"right") + ber.tlv(ber.RESPONSE, pdu))]

    agent, transport, port = await start_agent(answer)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(DeviceProtocolError, match="malformed SNMP answer: IpAddress of 3 octets"):
            await engine.get(community_target(port), [SYS_UPTIME])
        assert loop.time() - started >= TIMEOUT_S * 0.9  # it waited for a good answer first
    finally:
        transport.close()


# ---------------------------------------------------------------- request ids


async def test_request_ids_are_random_per_request_and_per_engine() -> None:
    agent, transport, port = await start_agent(lambda request: [forged(b"right", request.request_id)])
    engines = [FastEngine(), FastEngine()]
    try:
        for eng in engines:
            await asyncio.gather(*(eng.get(community_target(port), [SYS_UPTIME]) for _ in range(20)))
    finally:
        for eng in engines:
            eng.close()
        transport.close()
    first, second = ([p.request_id for p in agent.seen[i:i + 20]] for i in (0, 20))
    for ids in (first, second):
        assert len(set(ids)) == 20 and all(0 < i < 2**31 for i in ids)
        assert sorted(ids) != list(range(min(ids), min(ids) + 20))  # not sequential
    assert not set(first) & set(second)
    assert min(first + second) > 1000  # not counting up from 1
