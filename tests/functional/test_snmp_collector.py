"""The SNMP collector against real snmpsim agents: engine parity, bulk walks, timeouts, wrap, reboot."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from collectors.base import PollResult
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import builtin_profile_dir, load_profiles
from lab.runner import stage
from poller.cycle import device_tags
from store.base import Sample
from tests.functional.conftest import Lab

pytestmark = [pytest.mark.functional, pytest.mark.asyncio(loop_scope="session")]
LIVE = {"uptime_ticks", "in_octets", "out_octets", "value", "load_pct", "used_units", "processes",
        "in_errors", "out_errors", "in_discards", "out_discards"}
IF32 = """name: if32
extends: base
roles: [router]
tables:
  snmp_if32:
    index_tag: if_index
    columns:
      in_octets: 1.3.6.1.2.1.2.2.1.10
      hc_in_octets: 1.3.6.1.2.1.31.1.1.1.6
"""


def static_view(samples: list[Sample]) -> dict[tuple, dict]:
    """Samples without the values that move between two polls (counters, uptime, gauges)."""
    return {(s.measurement, tuple(sorted(s.tags.items()))):
            {k: (v if k not in LIVE and not k.endswith(("_per_s", "_pct")) else "~")
             for k, v in s.fields.items()}
            for s in samples}


async def poll_all(lab: Lab, collector: SnmpCollector) -> dict[str, PollResult]:
    devices = list(lab.inventory.devices.values())
    results = await asyncio.gather(*(collector.poll(d, device_tags(lab.inventory, d)) for d in devices))
    return {r.device: r for r in results}


async def test_fast_and_pysnmp_engines_give_identical_samples(healthy_lab: Lab) -> None:
    fast, slow = SnmpCollector(healthy_lab.inventory.credentials, engine="fast"), \
        SnmpCollector(healthy_lab.inventory.credentials, engine="pysnmp")
    try:
        for _ in range(2):  # the second round uses sysObjectID-selected profiles and adapted repetitions
            a, b = await poll_all(healthy_lab, fast), await poll_all(healthy_lab, slow)
        assert all(r.ok for r in a.values()), [r.error for r in a.values() if not r.ok]
        for device, result in a.items():
            assert static_view(result.samples) == static_view(b[device].samples), device
        power = next(r for d, r in a.items() if d.endswith("-pwr1"))
        ups = next(s for s in power.samples if s.measurement == "ups")
        assert ups.fields["output_source"] == 3 and ups.fields["charge_pct"] == 100
        router = a["p31-core1"]
        ifs = [s for s in router.samples if s.measurement == "snmp_if"]
        assert ifs and all("in_util_pct" in s.fields and s.fields["in_octets_per_s"] > 0 for s in ifs)
    finally:
        await fast.close()
        await slow.close()


async def test_long_tables_are_continued_with_more_getbulks(healthy_lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text("name: tiny\nextends: base\nroles: [router]\nmax_repetitions: 1\n"
                                        "sys_object_ids: [1.3.6.1.4.1.9]\n", encoding="utf-8")
    profiles = load_profiles(builtin_profile_dir(), tmp_path)
    collector = SnmpCollector(healthy_lab.inventory.credentials, profiles, classes=["inventory"])
    try:
        agg = healthy_lab.inventory.devices["p31-agg01"]
        await collector.poll(agg, {"device": agg.id})  # learns sysObjectID → tiny profile
        result = await collector.poll(agg, {"device": agg.id})
        names = [s.fields["name"] for s in result.samples if s.measurement == "snmp_if_info"]
        assert names == ["core-1", "core-2", "down-1", "down-2", "down-3", "down-4"]
    finally:
        await collector.close()


async def test_a_silent_device_times_out_while_the_others_answer_on_time(healthy_lab: Lab) -> None:
    quiet = healthy_lab.inventory.watched_communes[1]
    stage(healthy_lab.layout.state_dir, f"c{quiet}-bts1", silent=True)
    collector = SnmpCollector(healthy_lab.inventory.credentials)
    try:
        started = time.monotonic()
        results = await poll_all(healthy_lab, collector)
        elapsed = time.monotonic() - started
    finally:
        await collector.close()
    bad = results.pop(f"c{quiet}-bts1")
    assert not bad.ok and bad.error_kind == "timeout" and f"c{quiet}-bts1" in (bad.error or "")
    assert all(r.ok for r in results.values())
    assert max(r.duration_ms for r in results.values()) < 1500  # nobody waited for the silent one
    assert elapsed < 2 * 2.0 + 1.5  # one timeout × (1 + 1 retry), in parallel


async def test_counter32_wrap_and_reboot(healthy_lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "if32.yaml").write_text(IF32, encoding="utf-8")
    profiles = load_profiles(builtin_profile_dir(), tmp_path)
    collector = SnmpCollector(healthy_lab.inventory.credentials, profiles)
    core = healthy_lab.inventory.devices["p31-core1"]
    assert core.snmp is not None
    router = core.model_copy(update={"snmp": core.snmp.model_copy(update={"profile": "if32"})})

    async def rows() -> dict[str, dict]:
        result = await collector.poll(router, {"device": router.id})
        assert result.ok, result.error
        return {s.tags["if_index"]: dict(s.fields) for s in result.samples if s.measurement == "snmp_if32"}

    try:
        stage(healthy_lab.layout.state_dir, router.id, wrap_at=time.time() + 1.2)
        before = await rows()
        await asyncio.sleep(2.0)
        after = await rows()
        for index, row in after.items():
            assert row["in_octets"] < before[index]["in_octets"]  # it did wrap
            assert row["in_octets_per_s"] == pytest.approx(row["hc_in_octets_per_s"], rel=0.05)
        stage(healthy_lab.layout.state_dir, router.id, rebooted_at=time.time(), wrap_at=None)
        rebooted = await rows()
        assert all("in_octets_per_s" not in r and "hc_in_octets_per_s" not in r for r in rebooted.values())
        await asyncio.sleep(1.0)
        again = await rows()
        assert all(r["hc_in_octets_per_s"] > 0 for r in again.values())
    finally:
        await collector.close()
