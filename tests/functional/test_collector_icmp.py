"""ICMP collector pinging 127.0.0.1 and ::1 for real (unprivileged sockets where allowed)."""

from __future__ import annotations

import pytest

from collectors.icmp.collector import IcmpCollector
from inventory.model import Device

pytestmark = pytest.mark.functional


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
async def test_loopback_answers_with_rtt_and_no_loss(address: str) -> None:
    tags = {"province": "31", "commune": "11311", "site": "s", "device": "lo", "role": "router"}
    device = Device.model_validate({"id": "lo", "name": "lo", "site": "s", "role": "router",
                                    "address": address})
    collector = IcmpCollector(count=3, interval_s=0.05)
    result = await collector.poll(device, tags)
    assert result.ok, result.error
    (sample,) = result.samples
    assert sample.measurement == "icmp" and dict(sample.tags) == tags
    assert sample.fields["received"] == 3 and sample.fields["loss"] == 0
    assert 0 < float(sample.fields["rtt_avg_ms"]) < 100
    assert collector.privileged is not None  # the socket kind was settled on first use
