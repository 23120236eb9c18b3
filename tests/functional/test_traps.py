"""Trap receiver with real senders (net-snmp snmptrap/snmpinform): events and immediate re-polls."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from collectors.base import PollResult
from inventory.credentials import SnmpV3User
from inventory.model import Device
from lab.runner import free_udp_port
from poller.scheduler import Poller, snmp_plans
from poller.traps import TrapEvent, TrapReceiver
from tests.functional.conftest import Lab
from tests.functional.test_poller_scheduler import MemoryStore, registry

pytestmark = [pytest.mark.functional, pytest.mark.asyncio(loop_scope="session"),
              pytest.mark.skipif(shutil.which("snmptrap") is None, reason="net-snmp tools not installed")]
V3 = SnmpV3User(kind="snmp_v3", user="trap-user", auth_protocol="sha256", auth_key=SecretStr("trap-auth-key"),
                priv_protocol="aes128", priv_key=SecretStr("trap-priv-key"))


class Harness:
    """A receiver wired to a poller over the lab, recording events and re-poll results."""

    def __init__(self, lab: Lab) -> None:
        self.events: list[TrapEvent] = []
        self.repolled: list[PollResult] = []
        creds = {**lab.inventory.credentials, "trap-v3": V3}
        self.v3_device = Device.model_validate({"id": "leo-v3", "name": "LEO", "site": "s", "role": "leo",
                                                "address": "127.0.0.1", "snmp": {"credential": "trap-v3"}})
        self.poller = Poller(lab.inventory, registry(), MemoryStore(), lambda r: None,
                             snmp_plans(lab.inventory.credentials, 60, 60, 60))
        self.receiver = TrapReceiver([*lab.inventory.devices.values(), self.v3_device], creds, self.on_event,
                                     port=free_udp_port())
        self.tasks: list[asyncio.Task[list[PollResult]]] = []

    def on_event(self, event: TrapEvent) -> None:
        self.events.append(event)
        if event.wants_repoll and event.device:
            self.tasks.append(asyncio.ensure_future(self.poller.poll_now(event.device, event.kind)))

    async def send(self, *args: str) -> None:
        env = {"MIBS": "", "PATH": "/usr/bin:/bin"}
        proc = await asyncio.create_subprocess_exec(*args, env=env, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()

    async def wait_events(self, n: int) -> list[TrapEvent]:
        for _ in range(100):
            if len(self.events) >= n:
                break
            await asyncio.sleep(0.05)
        return self.events


@pytest.fixture
async def harness(healthy_lab: Lab) -> AsyncIterator[Harness]:
    h = Harness(healthy_lab)
    await h.receiver.start()
    yield h
    h.receiver.stop()
    await h.poller.close()


async def test_v2c_link_down_trap_repolls_that_device(harness: Harness, healthy_lab: Lab) -> None:
    router = f"c{healthy_lab.inventory.watched_communes[0]}-r1"
    await harness.send("snmptrap", "-v", "2c", "-c", router, f"127.0.0.1:{harness.receiver.port}", "",
                       "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.2", "i", "2",
                       "1.3.6.1.2.1.2.2.1.8.2", "i", "2")
    (event,) = await harness.wait_events(1)
    assert (event.kind, event.device, event.if_index, event.confirmed) == ("link_down", router, 2, False)
    results = await asyncio.wait_for(harness.tasks[0], 10)
    assert {r.device for r in results} == {router} and all(r.ok for r in results)
    assert len(results) == len(harness.poller.cycles)  # every plan covering the device re-polled it


async def test_ups_on_battery_inform_and_unknown_community(harness: Harness, healthy_lab: Lab) -> None:
    power = f"c{healthy_lab.inventory.watched_communes[1]}-pwr1"
    await harness.send("snmpinform", "-v", "2c", "-c", power, f"127.0.0.1:{harness.receiver.port}", "",
                       "1.3.6.1.2.1.33.2.1", "1.3.6.1.2.1.33.1.2.3.0", "i", "42")
    await harness.send("snmptrap", "-v", "2c", "-c", "not-a-known-community", "-t", "1",
                       f"127.0.0.1:{harness.receiver.port}", "", "1.3.6.1.6.3.1.1.5.3")
    await asyncio.sleep(0.3)
    events = await harness.wait_events(1)
    assert [(e.kind, e.device, e.confirmed) for e in events] == [("ups_on_battery", power, True)]
    assert events[0].varbinds["1.3.6.1.2.1.33.1.2.3.0"] == "42"


async def test_v3_authpriv_inform_is_attributed_by_user(harness: Harness) -> None:
    await harness.send("snmpinform", "-v", "3", "-u", "trap-user", "-l", "authPriv", "-a", "SHA-256",
                       "-A", "trap-auth-key", "-x", "AES", "-X", "trap-priv-key",
                       f"127.0.0.1:{harness.receiver.port}", "", "1.3.6.1.6.3.1.1.5.4",
                       "1.3.6.1.2.1.2.2.1.1.1", "i", "1")
    (event,) = await harness.wait_events(1)
    assert (event.kind, event.device, event.if_index, event.confirmed) == ("link_up", "leo-v3", 1, True)


async def test_busy_port_is_a_clear_error(harness: Harness, healthy_lab: Lab) -> None:
    from common.errors import ConfigError

    other = TrapReceiver(healthy_lab.inventory.devices.values(), healthy_lab.inventory.credentials,
                         lambda e: None, port=harness.receiver.port)
    with pytest.raises(ConfigError, match=f"trap_port.*{harness.receiver.port}"):
        await other.start()
