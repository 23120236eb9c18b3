"""IPv6 bits of the poller: trap sender addresses, per-family checks on loopback (127.0.0.1 and ::1)."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from inventory.model import Device
from poller.families import MEASUREMENT, FamilyCollector, family_plans, is_dual_stack
from poller.traps import TrapReceiver, sender_address

DUAL = Device(id="r1", name="Router", site="s", role="router", address="127.0.0.1", address6="::1")


@pytest.mark.parametrize(("raw", "shown"), [
    ("::ffff:127.0.0.1", "127.0.0.1"),
    ("fd00:7b:0::2", "fd00:7b::2"),
    ("fe80::1%eth0", "fe80::1"),
    ("192.0.2.7", "192.0.2.7"),
    ("not-an-address", "not-an-address"),
])
def test_sender_address_matches_the_inventory_spelling(raw: str, shown: str) -> None:
    assert sender_address(raw) == shown


def test_trap_receiver_knows_a_dual_stack_device_by_either_address() -> None:
    receiver = TrapReceiver([DUAL], {}, lambda _e: None, host="[::]")
    assert receiver.host == "::"
    assert receiver._device("127.0.0.1", "x") == "r1" and receiver._device("::1", "x") == "r1"


def test_family_plan_covers_dual_stack_devices_only() -> None:
    (plan,) = family_plans(5.0, {})
    single = DUAL.model_copy(update={"address6": None})
    no_checks = DUAL.model_copy(update={"icmp": False})
    assert plan.selector(DUAL) and not plan.selector(single) and not is_dual_stack(no_checks)
    assert plan.feeds_state is not None and not plan.feeds_state(DUAL)  # never decides up/down


async def test_both_loopback_families_answer_ping() -> None:
    collector = FamilyCollector(icmp={"count": 1, "timeout_s": 1.0})
    try:
        result = await collector.poll(DUAL, {"device": "r1"})
    finally:
        await collector.close()
    assert result.ok, result.error
    by_family = {s.tags["family"]: s for s in result.samples}
    assert set(by_family) == {"ipv4", "ipv6"} and {s.measurement for s in result.samples} == {MEASUREMENT}
    assert by_family["ipv6"].fields["icmp_up"] == 1 and by_family["ipv6"].fields["address"] == "::1"
    assert "snmp_up" not in by_family["ipv4"].fields  # no SNMP access configured


def test_failure_streak_counts_and_resets() -> None:
    collector = FamilyCollector()
    assert collector._streak("r1", "ipv6", False, 100) == (1, 100)
    assert collector._streak("r1", "ipv6", False, 130) == (2, 100)
    assert collector._streak("r1", "ipv4", True, 130) == (0, 0)
    assert collector._streak("r1", "ipv6", True, 160) == (0, 0)
    assert collector._streak("r1", "ipv6", False, 190) == (1, 190)
    assert isinstance(DUAL.address6, IPv6Address)
