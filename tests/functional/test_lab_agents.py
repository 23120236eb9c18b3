"""Functional tests of the simulated SNMP lab (snmpsim + trucban_state).

Why: pollers, collectors and demos rely on the lab to behave like real
devices — answer by community on one port, follow staged state (silence,
link down, mains loss with a draining battery) and keep hundreds of agents
answering round-robin. These tests start one real snmpsim per module.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    bulk_walk_cmd,
    get_cmd,
)
from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD

from common.errors import LabError
from lab.runner import LabAgents, clear, read_state, stage
from lab.snmpdata import ROLE_PROFILES, ROLES, write_snmprec

pytestmark = pytest.mark.functional

AGENTS = 300
IF_NAMES = ["GigabitEthernet0/0/0", "GigabitEthernet0/0/1", "Loopback0"]

SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
IF_NUMBER = "1.3.6.1.2.1.2.1.0"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_HC_IN = "1.3.6.1.2.1.31.1.1.1.6"
UPS_STATUS = "1.3.6.1.2.1.33.1.2.1.0"
UPS_SECONDS_ON_BATTERY = "1.3.6.1.2.1.33.1.2.2.0"
UPS_MINUTES = "1.3.6.1.2.1.33.1.2.3.0"
UPS_CHARGE = "1.3.6.1.2.1.33.1.2.4.0"
UPS_LINE_BADS = "1.3.6.1.2.1.33.1.3.1.0"
UPS_IN_VOLTAGE = "1.3.6.1.2.1.33.1.3.3.1.3.1"
UPS_OUTPUT_SOURCE = "1.3.6.1.2.1.33.1.4.1.0"


def device_id(index: int) -> str:
    """Community / device id of the index-th lab agent."""
    return f"lab-{ROLES[index % len(ROLES)]}-{index:04d}"


def first_of(role: str, nth: int = 0) -> str:
    """Device id of the nth agent with ``role``."""
    return device_id(ROLES.index(role) + nth * len(ROLES))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabAgents]:
    """One snmpsim serving AGENTS devices of every role, for the whole module."""
    root = tmp_path_factory.mktemp("lab")
    for i in range(AGENTS):
        role = ROLES[i % len(ROLES)]
        write_snmprec(
            root / "data",
            device_id(i),
            role,
            sys_name=f"{device_id(i)}.hn.trucban",
            sys_descr=f"{role} tại xã {i}",
            if_names=IF_NAMES,
            seed=i,
        )
    agents = LabAgents(root / "data", root / "state", root / "cache", log_level="info")
    started = time.monotonic()
    agents.start(timeout=60)
    print(f"lab of {AGENTS} agents ready in {time.monotonic() - started:.1f} s (cold index)")
    yield agents
    agents.stop()


@pytest.fixture(autouse=True)
def healthy(lab: LabAgents) -> Iterator[None]:
    """Every test starts and ends with all devices healthy."""
    clear(lab.state_dir)
    yield
    clear(lab.state_dir)


class Client:
    """Small SNMPv2c GET client over one pysnmp engine."""

    def __init__(self, port: int) -> None:
        self.engine = SnmpEngine()
        self.port = port
        self._targets: dict[tuple[float, int], UdpTransportTarget] = {}

    async def target(self, timeout: float, retries: int) -> UdpTransportTarget:
        """The agent address with these timeout/retries (one object per pair)."""
        key = (timeout, retries)
        if key not in self._targets:
            self._targets[key] = await UdpTransportTarget.create(
                ("127.0.0.1", self.port), timeout=timeout, retries=retries
            )
        return self._targets[key]

    async def get(
        self, community: str, *oids: str, timeout: float = 1.5, retries: int = 1
    ) -> dict[str, Any] | None:
        """GET ``oids`` from one agent; ``{oid: value}``, or None on timeout."""
        target = await self.target(timeout, retries)
        err, status, _, var_binds = await get_cmd(
            self.engine,
            CommunityData(community, mpModel=1),
            target,
            ContextData(),
            *(ObjectType(ObjectIdentity(oid)) for oid in oids),
            lookupMib=False,
        )
        if err:
            return None
        assert not status, f"{community}: {status.prettyPrint()}"
        return {str(name): value for name, value in var_binds}

    async def walk(self, community: str, oid: str, timeout: float = 1.5) -> list[str] | None:
        """OIDs returned by a GETBULK walk under ``oid``, or None on timeout."""
        names: list[str] = []
        async for err, status, _, var_binds in bulk_walk_cmd(
            self.engine,
            CommunityData(community, mpModel=1),
            await self.target(timeout, 0),
            ContextData(),
            0,
            25,
            ObjectType(ObjectIdentity(oid)),
            lexicographicMode=False,
            lookupMib=False,
        ):
            if err:
                return None
            assert not status, status.prettyPrint()
            names += [str(name) for name, _ in var_binds]
        return names

    async def value(self, community: str, oid: str) -> Any:
        """One value that must be there."""
        answer = await self.get(community, oid)
        assert answer is not None, f"{community} did not answer"
        return answer[oid]

    async def warm(self, communities: list[str], timeout: float, retries: int) -> None:
        """Register every community with the engine before polling.

        pysnmp rebuilds its community cache (O(communities)) each time a new
        one is added (or a new timeout/retries pair), so adding them one by one
        while polling is quadratic. Use the same timeout/retries as the polls.
        """
        target = await self.target(timeout, retries)
        for community in communities:
            LCD.configure(
                self.engine, CommunityData(community, mpModel=1), target, ContextData().contextName
            )


@contextlib.asynccontextmanager
async def client(lab: LabAgents) -> AsyncIterator[Client]:
    """A fresh SNMP client, closed in the test's own event loop."""
    snmp = Client(lab.port)
    try:
        yield snmp
    finally:
        snmp.engine.close_dispatcher()


async def test_agents_answer_by_community(lab: LabAgents) -> None:
    """Each role's agent answers with its own sysName, vendor OID and interfaces."""
    async with client(lab) as snmp:
        for role in ROLES:
            device = first_of(role, 1)
            answer = await snmp.get(
                device, SYS_NAME, SYS_OBJECT_ID, SYS_UPTIME, IF_NUMBER, f"{IF_OPER}.1", f"{IF_NAME}.2"
            )
            assert answer is not None, device
            assert answer[SYS_NAME].asOctets().decode() == f"{device}.hn.trucban"
            assert str(answer[SYS_OBJECT_ID]) == ROLE_PROFILES[role].sys_object_id
            assert int(answer[SYS_UPTIME]) > 0
            assert int(answer[IF_NUMBER]) == len(IF_NAMES)
            assert int(answer[f"{IF_OPER}.1"]) == 1
            assert answer[f"{IF_NAME}.2"].asOctets().decode() == IF_NAMES[1]


async def test_power_system_on_mains(lab: LabAgents) -> None:
    """A healthy power system reports mains output, full battery, input voltage."""
    async with client(lab) as snmp:
        answer = await snmp.get(
            first_of("power"), UPS_STATUS, UPS_CHARGE, UPS_OUTPUT_SOURCE, UPS_IN_VOLTAGE,
            UPS_SECONDS_ON_BATTERY, UPS_MINUTES,
        )
        assert answer is not None
        assert int(answer[UPS_OUTPUT_SOURCE]) == 3
        assert int(answer[UPS_STATUS]) == 2
        assert int(answer[UPS_CHARGE]) == 100
        assert int(answer[UPS_SECONDS_ON_BATTERY]) == 0
        assert int(answer[UPS_MINUTES]) == 100
        assert 200 < int(answer[UPS_IN_VOLTAGE]) < 240
        walked = await snmp.walk(first_of("power"), "1.3.6.1.2.1")
        assert walked is not None and walked[-1] == UPS_OUTPUT_SOURCE  # sentinel unseen
        assert len(walked) == 7 + 1 + 22 * len(IF_NAMES) + 13  # system, ifNumber, rows, UPS


async def test_uptime_and_counters_grow(lab: LabAgents) -> None:
    """sysUpTime and octet counters move forward with time."""
    async with client(lab) as snmp:
        device = first_of("router")
        before = await snmp.get(device, SYS_UPTIME, f"{IF_HC_IN}.1")
        await asyncio.sleep(1.1)
        after = await snmp.get(device, SYS_UPTIME, f"{IF_HC_IN}.1")
        assert before is not None and after is not None
        assert int(after[SYS_UPTIME]) - int(before[SYS_UPTIME]) >= 100
        assert int(after[f"{IF_HC_IN}.1"]) > int(before[f"{IF_HC_IN}.1"])


async def test_silent_agent_times_out_while_others_answer(lab: LabAgents) -> None:
    """A silenced device sends nothing back; its neighbours keep answering."""
    async with client(lab) as snmp:
        quiet, loud = first_of("bts"), first_of("bts", 1)
        stage(lab.state_dir, quiet, silent=True)
        started = time.monotonic()
        assert await snmp.get(quiet, SYS_NAME, timeout=1.0, retries=0) is None
        assert time.monotonic() - started >= 0.9
        assert await snmp.walk(quiet, IF_OPER, timeout=0.5) is None  # GETBULK dropped too
        assert await snmp.get(quiet, "1.3.6.1.2.1.99.0", timeout=0.5, retries=0) is None
        assert await snmp.value(loud, SYS_NAME) is not None
        clear(lab.state_dir, quiet)
        assert (await snmp.value(quiet, SYS_NAME)).asOctets().decode() == f"{quiet}.hn.trucban"


async def test_interface_down_is_per_device(lab: LabAgents) -> None:
    """if_down=[2] downs ifIndex 2 of that device only and freezes its counter."""
    async with client(lab) as snmp:
        device, other = first_of("switch"), first_of("switch", 1)
        stage(lab.state_dir, device, if_down=[2])
        assert int(await snmp.value(device, f"{IF_OPER}.2")) == 2
        assert int(await snmp.value(device, f"{IF_OPER}.1")) == 1
        assert int(await snmp.value(other, f"{IF_OPER}.2")) == 1
        frozen = int(await snmp.value(device, f"{IF_HC_IN}.2"))
        await asyncio.sleep(0.5)
        assert int(await snmp.value(device, f"{IF_HC_IN}.2")) == frozen
        clear(lab.state_dir, device)
        assert int(await snmp.value(device, f"{IF_OPER}.2")) == 1
        assert int(await snmp.value(device, f"{IF_HC_IN}.2")) > frozen


async def test_mains_loss_drains_battery(lab: LabAgents) -> None:
    """On battery the charge falls at drain_per_min and the output source is battery."""
    async with client(lab) as snmp:
        device, other = first_of("power"), first_of("power", 1)
        bads_before = int(await snmp.value(device, UPS_LINE_BADS))
        stage(lab.state_dir, device, mains=False, battery_charge=80, drain_per_min=60)
        first = await snmp.get(device, UPS_CHARGE, UPS_OUTPUT_SOURCE, UPS_MINUTES, UPS_IN_VOLTAGE)
        assert first is not None
        assert int(first[UPS_OUTPUT_SOURCE]) == 5
        assert int(first[UPS_IN_VOLTAGE]) == 0
        assert 78 <= int(first[UPS_CHARGE]) <= 80
        assert int(first[UPS_MINUTES]) == 1  # ~80 % at 60 %/min
        await asyncio.sleep(2.2)
        second = await snmp.get(device, UPS_CHARGE, UPS_STATUS, UPS_SECONDS_ON_BATTERY, UPS_LINE_BADS)
        assert second is not None
        assert int(second[UPS_CHARGE]) <= int(first[UPS_CHARGE]) - 2
        assert int(second[UPS_STATUS]) == 3  # batteryLow: under 10 minutes left
        assert int(second[UPS_SECONDS_ON_BATTERY]) >= 2
        assert int(second[UPS_LINE_BADS]) == bads_before + 1
        assert int(await snmp.value(other, UPS_OUTPUT_SOURCE)) == 3
        clear(lab.state_dir, device)
        assert int(await snmp.value(device, UPS_OUTPUT_SOURCE)) == 3
        assert int(await snmp.value(device, UPS_CHARGE)) == 100


def test_stage_merges_and_clears(tmp_path: Path) -> None:
    """stage() merges atomically, stamps since, carries the charge; clear() resets."""
    state = stage(tmp_path, "dev-1", mains=False, battery_charge=50, drain_per_min=30)
    assert state["since"] == pytest.approx(time.time(), abs=2)
    time.sleep(0.2)
    state = stage(tmp_path, "dev-1", if_down=[3, 1])
    assert state["if_down"] == [1, 3]
    assert state["mains"] is False
    assert 49.8 < state["battery_charge"] < 50  # drained ~0.1 % in 0.2 s
    assert read_state(tmp_path, "dev-1") == state
    stage(tmp_path, "dev-2", silent=True)
    clear(tmp_path, "dev-1")
    assert read_state(tmp_path, "dev-1") == {}
    assert read_state(tmp_path, "dev-2")["silent"] is True
    clear(tmp_path)
    assert read_state(tmp_path, "dev-2") == {}
    with pytest.raises(LabError):
        stage(tmp_path, "dev-1", slient=True)


def test_start_without_data_files_fails_clearly(tmp_path: Path) -> None:
    """An empty data dir is a LabError, not a hang."""
    with pytest.raises(LabError, match="no \\*.snmprec"):
        LabAgents(tmp_path / "data", tmp_path / "state", tmp_path / "cache").start(timeout=5)


def test_second_lab_on_a_busy_port_is_refused(lab: LabAgents, tmp_path: Path) -> None:
    """pysnmp binds with SO_REUSEADDR, so the runner must refuse a taken port itself."""
    twin = LabAgents(lab.data_dir, tmp_path / "state", lab.cache_dir, port=lab.port)
    with pytest.raises(LabError, match="already in use"):
        twin.start(timeout=5)
    assert not twin.running


async def test_round_robin_over_all_agents(lab: LabAgents) -> None:
    """Polling every agent twice in turn works: the 31-open-files cap is lifted."""
    async with client(lab) as snmp:
        devices = [device_id(i) for i in range(AGENTS)]
        await snmp.warm(devices, timeout=3, retries=1)
        limit = asyncio.Semaphore(32)

        async def poll(device: str) -> bool:
            async with limit:
                answer = await snmp.get(device, SYS_NAME, f"{IF_HC_IN}.1", timeout=3, retries=1)
            return answer is not None and answer[SYS_NAME].asOctets().decode().startswith(device)

        for round_no in range(2):
            started = time.monotonic()
            results = await asyncio.gather(*(poll(d) for d in devices))
            rate = AGENTS / (time.monotonic() - started)
            print(f"round {round_no}: {sum(results)}/{AGENTS} answered, {rate:.0f} GET/s")
            assert all(results), [d for d, ok in zip(devices, results, strict=True) if not ok]
        log = lab.log_path.read_text(encoding="utf-8", errors="replace")
        caps = re.findall(r"max_open_data_files=(\d+)", log)
        assert caps and int(caps[-1]) >= AGENTS
        assert "Closing " not in log  # snmpsim never evicted an open data file
