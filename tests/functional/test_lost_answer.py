"""Issue 16, observation 6: one lost SNMP answer must not open an incident.

A real snmpsim agent sits behind a lossy UDP relay on loopback (as a commune's
4G backup or a busy agent would be). Every datagram in a short window is
dropped, so one poll's request and its retry both go unanswered; the real
collector, poll cycle and alerting core run on top. With the shipped
confirmation (one re-check 0.5 s later) nothing opens; with confirmation
turned off the same loss opens ``device_down`` (the control that shows the
test can fail); a real outage is still confirmed and opened.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest

from alerting.core import AlertingCore
from alerting.db import open_database
from alerting.states import Status
from collectors.snmp.collector import SnmpCollector
from inventory.inventory import Inventory
from lab.runner import free_udp_port
from poller.confirm import Confirmation
from poller.cycle import PollCycle
from store.sqlite import SqliteMetricStore
from tests.functional.conftest import Lab

pytestmark = [pytest.mark.functional, pytest.mark.asyncio(loop_scope="session")]


class LossyRelay(asyncio.DatagramProtocol):
    """Forwards UDP to ``target`` and the answers back; drops everything until ``quiet_until``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.quiet_until = 0.0
        self.dropped = 0
        self.transport: asyncio.DatagramTransport | None = None
        self._clients: dict[int, tuple[str, int]] = {}  # upstream local port → client
        self._upstreams: dict[tuple[str, int], asyncio.DatagramTransport] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if time.monotonic() < self.quiet_until:
            self.dropped += 1
            return
        asyncio.ensure_future(self._forward(data, addr))

    async def _forward(self, data: bytes, client: tuple[str, int]) -> None:
        upstream = self._upstreams.get(client)
        if upstream is None:
            loop = asyncio.get_running_loop()
            upstream, _ = await loop.create_datagram_endpoint(
                lambda: _Back(self, client), remote_addr=self.target)
            self._upstreams[client] = upstream
        upstream.sendto(data)

    def answer(self, data: bytes, client: tuple[str, int]) -> None:
        if time.monotonic() < self.quiet_until:
            self.dropped += 1
            return
        assert self.transport is not None
        self.transport.sendto(data, client)

    def close(self) -> None:
        for upstream in self._upstreams.values():
            upstream.close()
        if self.transport is not None:
            self.transport.close()


class _Back(asyncio.DatagramProtocol):
    def __init__(self, relay: LossyRelay, client: tuple[str, int]) -> None:
        self.relay, self.client = relay, client

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.relay.answer(data, self.client)


def _behind_relay(inv: Inventory, device_id: str, port: int) -> Inventory:
    device = inv.devices[device_id]
    assert device.snmp is not None
    moved = device.model_copy(update={"snmp": device.snmp.model_copy(update={"port": port})})
    return replace(inv, devices={**inv.devices, device_id: moved})


async def _watch(lab: Lab, tmp: Path, rechecks: int) -> tuple[bool, Status, int]:
    """Poll a BTS through a relay that loses one poll's answers; (incident opened, status, dropped)."""
    bts = next(d for d in lab.inventory.devices if d.endswith("-bts1"))
    relay = LossyRelay(("127.0.0.1", lab.agents.port))
    port = free_udp_port()
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: relay, local_addr=("127.0.0.1", port))
    inv = _behind_relay(lab.inventory, bts, port)
    store = SqliteMetricStore(tmp / f"m{rechecks}.sqlite")
    core = AlertingCore(inv, store, open_database(f"sqlite:///{tmp / f'a{rechecks}.sqlite'}"))
    watched = {bts, *inv.devices[bts].parents}
    collector = SnmpCollector(inv.credentials, classes=["reachability"])
    cycle = PollCycle(inv, collector, store, core, interval_s=30, name="snmp-reachability",
                      selector=lambda d: d.id in watched, confirmation=Confirmation(rechecks, 0.5))
    try:
        await cycle.run()
        await cycle.drain()
        assert core.tracker.states[bts].status is Status.UP
        relay.quiet_until = time.monotonic() + 2.2  # the poll and its retry (1 s each) go unanswered
        await cycle.run()
        await cycle.drain()  # the confirmation goes on after the cycle's first polls
        return f"device_down:{bts}" in core.incidents.active(), core.tracker.states[bts].status, relay.dropped
    finally:
        await collector.close()
        transport.close()
        relay.close()
        store.close()


async def test_one_lost_answer_opens_nothing(healthy_lab: Lab, tmp_path: Path) -> None:
    opened, status, dropped = await _watch(healthy_lab, tmp_path, rechecks=1)
    assert dropped >= 2 and not opened and status is Status.UP


async def test_without_confirmation_the_same_loss_would_page(healthy_lab: Lab, tmp_path: Path) -> None:
    opened, status, dropped = await _watch(healthy_lab, tmp_path, rechecks=0)
    assert dropped >= 2 and opened and status is Status.DOWN
