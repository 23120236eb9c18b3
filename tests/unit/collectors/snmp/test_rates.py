"""Counter rates: wrap, reboot, reset, utilisation."""

from __future__ import annotations

from collectors.snmp.profile import Table, Utilisation
from collectors.snmp.rates import RateTracker, counter_delta, rebooted
from collectors.snmp.values import Counter32, Counter64
from store.base import Sample

TAGS = {"device": "r1", "if_index": "1"}
IF = Table("snmp_if", "if_index", {}, (Utilisation("in_util_pct", "in_octets", "high_speed_mbps"),))


def sample(in32: int, in64: int, speed: int = 1000) -> Sample:
    return Sample("snmp_if", TAGS, {"in32": Counter32(in32), "in_octets": Counter64(in64),
                                    "high_speed_mbps": speed}, 0)


def test_counter32_wrap_and_counter64_reset() -> None:
    assert counter_delta(2**32 - 100, 50, 32) == 150
    assert counter_delta(10, 20, 64) == 10
    assert counter_delta(2**40, 5, 64) is None


def test_uptime_backwards_is_a_reboot_but_its_own_wrap_is_not() -> None:
    assert rebooted(500_000, 1_000, 10)
    assert not rebooted(2**32 - 300, 700, 10)  # 497-day TimeTicks wrap, 10 s apart
    assert not rebooted(100, 1100, 10)


def test_rates_utilisation_wrap_and_reboot() -> None:
    tracker = RateTracker()
    first = tracker.apply("r1", 100_000, [sample(2**32 - 1_000_000, 10**12)], 0.0, (IF,))
    assert "in_octets_per_s" not in first[0].fields  # nothing to compare with yet
    second = tracker.apply("r1", 101_000, [sample(1_500_000, 10**12 + 12_500_000)], 10.0, (IF,))
    fields = second[0].fields
    assert fields["in32_per_s"] == 250_000.0  # wrapped: (1.5e6 + 1e6) / 10 s
    assert fields["in_octets_per_s"] == 1_250_000.0
    assert fields["in_util_pct"] == 1.0  # 10 Mbit/s of 1000
    assert fields["in_octets"] == 10**12 + 12_500_000  # raw counter kept
    after_reboot = tracker.apply("r1", 300, [sample(5_000, 6_000)], 20.0, (IF,))
    assert "in_octets_per_s" not in after_reboot[0].fields and "in32_per_s" not in after_reboot[0].fields
    later = tracker.apply("r1", 1_300, [sample(15_000, 16_000)], 30.0, (IF,))
    assert later[0].fields["in_octets_per_s"] == 1_000.0


def test_counter64_going_back_without_reboot_gives_no_spike() -> None:
    tracker = RateTracker()
    tracker.apply("r1", 100, [sample(10, 10**9)], 0.0)
    again = tracker.apply("r1", 1_100, [sample(20, 5)], 10.0)
    assert "in_octets_per_s" not in again[0].fields
    assert again[0].fields["in32_per_s"] == 1.0
