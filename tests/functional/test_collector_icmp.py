"""ICMP collector pinging 127.0.0.1 and ::1 for real, with both engines (fping and icmplib)."""

from __future__ import annotations

import asyncio

import pytest

from collectors.icmp.collector import IcmpCollector
from collectors.icmp.fping import fping_binary
from inventory.model import Device

pytestmark = pytest.mark.functional
TAGS = {"province": "31", "commune": "11311", "site": "s", "device": "lo", "role": "router"}


def device(address: str, ident: str = "lo") -> Device:
    return Device.model_validate({"id": ident, "name": ident, "site": "s", "role": "router",
                                  "address": address})


@pytest.mark.parametrize("engine", ["fping", "icmplib"])
@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
async def test_loopback_answers_with_rtt_and_no_loss(address: str, engine: str) -> None:
    collector = IcmpCollector(count=3, interval_s=0.05, engine=engine)
    try:
        result = await collector.poll(device(address), TAGS)
    finally:
        await collector.close()
    assert result.ok, result.error
    assert collector.engine == engine
    (sample,) = result.samples
    assert sample.measurement == "icmp" and dict(sample.tags) == TAGS
    assert sample.fields["sent"] == 3 and sample.fields["received"] == 3 and sample.fields["loss"] == 0
    assert 0 < float(sample.fields["rtt_avg_ms"]) < 100
    assert float(sample.fields["rtt_min_ms"]) <= float(sample.fields["rtt_max_ms"])
    if engine == "icmplib":
        assert collector.privileged is not None  # the socket kind was settled on first use


async def test_fping_answers_a_burst_of_devices_from_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forty devices polled at once: one fping process for all of them, every one answered."""
    runs: list[tuple[str, ...]] = []
    real = asyncio.create_subprocess_exec

    async def counting(*argv: str, **kwargs: object) -> asyncio.subprocess.Process:
        runs.append(argv)
        return await real(*argv, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(asyncio, "create_subprocess_exec", counting)
    collector = IcmpCollector(count=2, interval_s=0.02, engine="fping")
    devices = [device("127.0.0.1" if n % 2 else "::1", f"d{n}") for n in range(40)]
    try:
        results = await asyncio.gather(*(collector.poll(d, {**TAGS, "device": d.id}) for d in devices))
    finally:
        await collector.close()
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert len(runs) == 1 and set(runs[0][-2:]) == {"127.0.0.1", "::1"}  # one run, each address once
    assert {r.samples[0].tags["device"] for r in results} == {d.id for d in devices}


def test_asking_for_fping_where_it_is_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("collectors.icmp.collector.fping_binary", lambda: None)
    with pytest.raises(ValueError, match="fping program is not installed"):
        IcmpCollector(engine="fping")
    assert IcmpCollector(engine="auto").engine == "icmplib"


def test_fping_is_installed_for_the_tests() -> None:
    assert fping_binary() is not None, "deploy/debian-packages.txt lists fping; bin/bootstrap dev installs it"
