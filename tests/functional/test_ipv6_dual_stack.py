"""Dual-stack device: checked on IPv4 and IPv6; the IPv6 path breaks while IPv4 works → ipv6_path_down.

A namespace whose veth carries an IPv4 and an IPv6 address; snmpsim inside
listens on both. The test drives the poll plans itself (no scheduler), so each
step is one cycle: the per-family plan, then the reachability plan whose
results run the rules.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from alerting.incidents import IncidentKind, Severity
from alerting.rules.ipv6 import FAILS_TO_RAISE
from alerting.states import Status
from api.context import ApiContext
from inventory.loader import load_inventory
from lab.runner import LabAgents
from lab.snmpdata import write_snmprec
from tests.functional.ipv6_fixtures import netns_ok  # noqa: F401 - fixture
from tests.functional.netns import NetNs
from trucban.service import Service, build_service
from trucban.settings import load_settings

pytestmark = [pytest.mark.functional, pytest.mark.asyncio(loop_scope="session")]
DEV = "ds-r1"


@dataclass
class DualStack:
    """The dual-stack namespace and Trucban's service over an inventory with one dual-stack router."""

    ns: NetNs
    service: Service

    def context(self) -> ApiContext:
        """What the API reads (the dashboard shows the per-family state from it)."""
        s = self.service
        return ApiContext(s.inventory, s.alerting.tracker, s.store, s.cycle, ZoneInfo("Asia/Ho_Chi_Minh"),
                          s.alerting)

    async def cycle(self) -> None:
        """One per-family cycle, then one reachability cycle (which evaluates the rules)."""
        await self.service.cycle.run("family")
        await self.service.cycle.run("snmp-reachability")


def _write_inventory(root: Path, ns: NetNs) -> Path:
    data = root / "snmprec"
    write_snmprec(data, DEV, "router", sys_name=DEV, sys_descr="Router hai ngăn xếp", if_names=["wan", "lan"],
                  seed=7)
    (root / "credentials.yaml").write_text(yaml.safe_dump(
        {"credentials": {"lab": {"kind": "snmp_v2c", "community": DEV}}}), encoding="utf-8")
    doc = {"province": "31", "credentials_file": "credentials.yaml",
           "sites": [{"id": "hq", "name": "Trụ sở UBND", "kind": "commune_hq", "commune": "11311"}],
           "devices": [{"id": DEV, "name": "Router hai ngăn xếp", "site": "hq", "role": "router",
                        "address": ns.ns4, "address6": ns.ns6,
                        "snmp": {"credential": "lab", "port": 161, "timeout_s": 0.5, "retries": 0}}]}
    path = root / "inventory.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def dual(netns_ok: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DualStack]:  # noqa: F811
    """Namespace with IPv4 + IPv6, snmpsim on both, and a service (not serving HTTP) polling it."""
    root = tmp_path_factory.mktemp("dual-stack")
    ns = NetNs("ds", 2, ipv4=True)
    try:
        ns.create()
        assert ns.ns4 is not None
        inventory = load_inventory(_write_inventory(root, ns))
        agents = LabAgents(root / "snmprec", root / "state", root / "cache", port=161, host=ns.ns4,
                           extra_hosts=(ns.ns6,), netns=ns.name)
        agents.start(timeout=60)
        settings = load_settings(env={}, data_dir=root / "data", poll_interval_s=5, trap_port=0,
                                 notify_enabled=False)
        service = build_service(settings, inventory)
        try:
            yield DualStack(ns, service)
        finally:
            agents.stop()
            service.store.close()
            service.alerting.engine.dispose()
    finally:
        ns.destroy()


async def test_both_families_are_checked_and_tagged(dual: DualStack) -> None:
    assert "family" in dual.service.cycle.plans
    await dual.cycle()
    state = dual.context().family_state()[DEV]
    assert state["ipv4"]["up"] and state["ipv6"]["up"]
    assert (state["ipv4"]["address"], state["ipv6"]["address"]) == (dual.ns.ns4, dual.ns.ns6)
    assert state["ipv6"]["icmp_up"] and state["ipv6"]["snmp_up"] and state["ipv4"]["snmp_up"]
    families = {p.tags["family"] for p in dual.service.store.latest("family_reachability", {"device": DEV})}
    assert families == {"ipv4", "ipv6"}
    ready = dual.context().ipv6_readiness()
    assert (ready.devices, ready.managed_ipv6, ready.dual_stack_ipv6_up) == (1, 1, 1)


async def test_ipv6_path_down_while_ipv4_answers_is_its_own_incident(dual: DualStack) -> None:
    core, tracker = dual.service.alerting, dual.service.alerting.tracker
    key = f"ipv6_path_down:{DEV}"
    await dual.cycle()
    dual.ns.drop_ipv6()
    try:
        started = time.monotonic()
        for _ in range(FAILS_TO_RAISE):
            await dual.cycle()
        incident = core.incidents.active().get(key)
        assert incident is not None, f"no {key} after {FAILS_TO_RAISE} cycles: {core.incidents.active()}"
        assert (incident.kind, incident.severity) == (IncidentKind.IPV6_PATH_DOWN, Severity.WARNING)
        assert dual.ns.ns6 in incident.why and dual.ns.ns4 in incident.why
        assert tracker.states[DEV].status is Status.UP  # the device answers over IPv4: not down
        assert f"device_down:{DEV}" not in core.incidents.active()
        state = dual.context().family_state()[DEV]
        assert state["ipv4"]["up"] and not state["ipv6"]["up"]
        assert state["ipv6"]["fails"] >= FAILS_TO_RAISE and state["ipv6"]["since"] is not None
        assert time.monotonic() - started < 20
    finally:
        dual.ns.restore_ipv6()
    dual.ns.wait_reachable()
    await dual.cycle()
    assert key not in core.incidents.active()
    assert dual.context().family_state()[DEV]["ipv6"]["up"]
