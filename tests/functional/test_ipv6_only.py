"""Trucban on an IPv6-only network: every collector, a trap, an outage and the dashboard over IPv6.

The peers live in a network namespace with no IPv4 address (see ``ipv6_fixtures``);
Trucban polls them from the root namespace over a veth pair.
"""

from __future__ import annotations

import asyncio
import sys

import httpx
import pytest

from alerting.incidents import IncidentKind
from alerting.states import ANSWERING, Status
from collectors.snmp.collector import SnmpCollector
from lab.outages import cut
from lab.runner import clear
from poller.cycle import device_tags
from tests.functional.conftest import wait_for
from tests.functional.ipv6_fixtures import (  # noqa: F401 - fixtures
    V6Network,
    V6Service,
    netns_ok,
    v6net,
    v6service,
)
from tests.functional.web_peers import login

pytestmark = pytest.mark.functional
PLANS = ("snmp-reachability", "snmp-health", "snmp-inventory", "icmp", "netconf", "dns", "ssh")


def test_the_namespace_has_no_ipv4_at_all(v6net: V6Network) -> None:  # noqa: F811
    assert v6net.ns.ipv4_addresses() == ""
    assert {str(d.address) for d in v6net.inventory.devices.values()} == {v6net.ns.ns6}


def test_every_collector_polls_over_ipv6(v6service: V6Service) -> None:  # noqa: F811
    poller = v6service.service.cycle

    def all_plans_clean() -> dict[str, tuple[int, int]] | None:
        reports = poller.reports()
        seen = {name: (r.ok, r.devices) for name, r in reports.items() if r is not None}
        done = set(seen) >= set(PLANS) and all(ok == n > 0 for ok, n in seen.values())
        return seen if done else None

    try:
        seen = wait_for(all_plans_clean, timeout=40)
    except AssertionError:
        raise AssertionError(f"plans not all clean over IPv6: {poller.reports()}") from None
    assert seen["netconf"] == (1, 1) and seen["ssh"] == (1, 1) and seen["dns"] == (1, 1)
    tracker = v6service.service.alerting.tracker
    wait_for(lambda: all(s.status in ANSWERING for s in tracker.states.values()), timeout=10)
    store = v6service.service.store
    (ready,) = store.latest("dns_ipv6", {"device": "dns6"})
    assert ready.fields["reachable_ipv6"] and ready.fields["answers_aaaa"] and ready.fields["ready"]
    probes = store.latest("dns_probe", {"device": "dns6"})
    assert probes and {p.tags["family"] for p in probes} == {"ipv6"} and all(p.fields["ok"] for p in probes)
    (v3,) = store.latest("reachability", {"device": "v3r6"})  # SNMPv3 authPriv through pysnmp over UDP6
    assert v3.fields["up"] == 1
    pings = store.latest("icmp", {"device": "nc6"})  # ICMPv6 echo
    assert pings and pings[0].fields["received"] > 0


async def test_fast_and_pysnmp_engines_agree_over_udp6(v6net: V6Network) -> None:  # noqa: F811
    inv = v6net.inventory
    device = inv.devices["p31-core1"]
    tags = device_tags(inv, device)
    fast = SnmpCollector(inv.credentials, engine="fast", classes=["reachability"])
    slow = SnmpCollector(inv.credentials, engine="pysnmp", classes=["reachability"])
    try:
        a, b = await asyncio.gather(fast.poll(device, tags), slow.poll(device, tags))
    finally:
        await fast.close()
        await slow.close()
    assert a.ok and b.ok, (a.error, b.error)
    assert sorted((s.measurement, dict(s.fields)) for s in a.samples if s.measurement != "snmp_system") == \
        sorted((s.measurement, dict(s.fields)) for s in b.samples if s.measurement != "snmp_system")


def test_a_trap_arrives_over_ipv6_from_the_namespace(v6net: V6Network, v6service: V6Service) -> None:  # noqa: F811
    router = next(d for d in v6net.inventory.devices if d.endswith("-r1"))
    target = f"udp6:[{v6net.ns.host6}]:{v6service.trap_port}"
    v6net.ns.run("snmptrap", "-v", "2c", "-c", router, target, "", "1.3.6.1.6.3.1.1.5.3",
                 "1.3.6.1.2.1.2.2.1.1.2", "i", "2", env={"MIBS": "", "PATH": "/usr/bin:/bin"})
    store = v6service.service.store
    (trap,) = wait_for(lambda: store.latest("snmp_trap", {"device": router}), timeout=10)
    assert trap.tags["source"] == v6net.ns.ns6 and trap.tags["kind"] == "link_down"
    assert trap.fields["if_index"] == 2


def test_staged_outage_is_detected_over_ipv6(v6net: V6Network, v6service: V6Service) -> None:  # noqa: F811
    router = next(d for d in v6net.inventory.devices if d.endswith("-r1"))
    tracker = v6service.service.alerting.tracker
    incidents = v6service.service.alerting.incidents
    wait_for(lambda: tracker.states[router].status is Status.UP, timeout=20)
    cut(v6net.layout.state_dir, v6net.inventory, router)  # the router and what hangs behind it go quiet
    try:
        wait_for(lambda: tracker.states[router].status is Status.DOWN, timeout=20)
        children = v6net.inventory.children[router]
        assert children
        wait_for(lambda: all(tracker.states[c].status is Status.UNREACHABLE for c in children), timeout=20)
        key = f"device_down:{router}"
        opened = wait_for(lambda: [i for k, i in incidents.active().items() if k == key], 10)
        assert opened[0].kind is IncidentKind.DEVICE_DOWN
    finally:
        clear(v6net.layout.state_dir, router)


def test_dashboard_and_api_over_ipv6(v6net: V6Network, v6service: V6Service) -> None:  # noqa: F811
    ns = v6net.ns
    # from inside the IPv6-only network: the login page over the veth
    code = (f"import httpx; r = httpx.get({v6service.url(ns.host6) + '/login'!r}, timeout=10); "
            "print(r.status_code); print(r.text)")
    out = ns.run(sys.executable, "-c", code, timeout=30).stdout
    status, _, page = out.partition("\n")
    assert status == "200" and "<form" in page
    # from the root namespace: logged in over ::1, and the dual-stack socket still takes IPv4
    client = login(v6service.url("::1"), "operator6")
    try:
        devices = client.get("/api/devices").json()
        assert {d["address"] for d in devices} == {ns.ns6}
    finally:
        client.close()
    health = httpx.get(v6service.url("127.0.0.1") + "/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"  # same socket, over IPv4
