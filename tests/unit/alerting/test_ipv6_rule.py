"""The ipv6_path_down rule and the IPv6 readiness indicators, from per-family samples."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address

from sqlalchemy.engine import Engine

from alerting.core import AlertingCore
from alerting.incidents import IncidentKind, Severity
from alerting.rules.ipv6 import FAILS_TO_RAISE, family_state, ipv6_readiness
from inventory.inventory import Inventory
from inventory.model import DnsProbeSpec
from store.base import Sample
from store.sqlite import SqliteMetricStore
from tests.unit.alerting.helpers import results

T0 = 1_790_000_000
STEP = 30
DEV = "p31-core2"


def dual_stack(inv: Inventory) -> Inventory:
    """The lab with one dual-stack core router, one IPv6-only switch and an IPv6-ready DNS server."""
    devices = dict(inv.devices)
    devices[DEV] = devices[DEV].model_copy(update={"address6": IPv6Address("fd00:7b::2")})
    switch = next(d for d in devices if d.endswith("-sw1"))
    devices[switch] = devices[switch].model_copy(update={"address": IPv6Address("fd00:7b::10")})
    devices["p31-dns1"] = devices["p31-dns1"].model_copy(update={"dns": DnsProbeSpec(zone="hp.gov.vn")})
    return replace(inv, devices=devices)


def family(store: SqliteMetricStore, ts: int, v4_up: bool, v6_up: bool, fails: int = 0) -> None:
    tags = {"device": DEV, "commune": "x"}
    store.write([
        Sample("family_reachability", {**tags, "family": "ipv4"},
               {"up": int(v4_up), "icmp_up": int(v4_up), "snmp_up": int(v4_up), "fails": 0, "down_since": 0,
                "address": "127.0.0.1"}, ts),
        Sample("family_reachability", {**tags, "family": "ipv6"},
               {"up": int(v6_up), "icmp_up": int(v6_up), "snmp_up": int(v6_up), "fails": fails,
                "down_since": 0 if v6_up else T0 + STEP, "address": "fd00:7b::2"}, ts),
    ])


def test_ipv6_down_while_ipv4_answers_is_one_warning(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    inv = dual_stack(lab_inventory)
    core = AlertingCore(inv, store, db)
    core(results(inv, T0))
    family(store, T0 + STEP, v4_up=True, v6_up=False, fails=FAILS_TO_RAISE - 1)
    assert core(results(inv, T0 + STEP)) == []  # one miss is not a broken path yet
    family(store, T0 + 2 * STEP, v4_up=True, v6_up=False, fails=FAILS_TO_RAISE)
    (change,) = core(results(inv, T0 + 2 * STEP))
    incident = change.incident
    assert (incident.kind, incident.severity, incident.key) == (
        IncidentKind.IPV6_PATH_DOWN, Severity.WARNING, f"ipv6_path_down:{DEV}")
    assert "fd00:7b::2" in incident.why and "IPv4 127.0.0.1 vẫn trả lời" in incident.why
    assert incident.opened_at == T0 + STEP and incident.details["ipv6"] == "fd00:7b::2"
    assert incident.runbook.endswith("ipv6_path_down.md")
    state = family_state(store, T0 + 2 * STEP)[DEV]
    assert state["ipv4"]["up"] is True and state["ipv6"]["up"] is False
    assert state["ipv6"]["since"] == T0 + STEP and state["ipv6"]["fails"] == FAILS_TO_RAISE
    family(store, T0 + 3 * STEP, v4_up=True, v6_up=True)
    (change,) = core(results(inv, T0 + 3 * STEP))
    assert change.kind.value == "resolved" and change.incident.key == f"ipv6_path_down:{DEV}"


def test_both_families_down_is_the_availability_rules_business(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    inv = dual_stack(lab_inventory)
    core = AlertingCore(inv, store, db)
    core(results(inv, T0))
    family(store, T0 + STEP, v4_up=False, v6_up=False, fails=5)
    kinds = {c.incident.kind for c in core(results(inv, T0 + STEP, silent={DEV}))}
    assert IncidentKind.IPV6_PATH_DOWN not in kinds


def test_stale_family_readings_raise_nothing(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    inv = dual_stack(lab_inventory)
    core = AlertingCore(inv, store, db)
    family(store, T0, v4_up=True, v6_up=False, fails=9)
    assert core(results(inv, T0 + 3600)) == []


def test_readiness_counts_devices_and_dns_servers(lab_inventory: Inventory, store: SqliteMetricStore) -> None:
    inv = dual_stack(lab_inventory)
    family(store, T0, v4_up=True, v6_up=True)
    store.write([Sample("dns_ipv6", {"device": "p31-dns1"},
                        {"reachable_ipv6": True, "answers_aaaa": True, "ready": True}, T0),
                 Sample("dns_ipv6", {"device": "p31-dns2"},
                        {"reachable_ipv6": True, "answers_aaaa": False, "ready": False}, T0)])
    ready = ipv6_readiness(inv, store, T0 + 10)
    assert (ready.devices, ready.managed_ipv6, ready.ipv6_only) == (len(inv.devices), 2, 1)
    assert (ready.dual_stack, ready.dual_stack_ipv6_up) == (1, 1)
    dns = (ready.dns_servers, ready.dns_reachable_ipv6, ready.dns_answers_aaaa, ready.dns_ready)
    assert dns == (2, 2, 1, 1)
    data = ready.as_dict()
    assert data["share_managed_ipv6"] == round(2 / len(inv.devices), 4) and data["share_dns_ready"] == 0.5
    commune = inv.sites[inv.devices[DEV].site].commune
    only = ipv6_readiness(inv, store, T0 + 10, communes={commune})
    assert only.dual_stack == 1 and only.devices < ready.devices
    assert ipv6_readiness(inv, store, T0 + 10_000).dns_servers == 0  # stale readings do not count
