"""SSH CLI collector against fakenos Cisco IOS devices over SSH on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import ntc_templates
import pytest
from pydantic import SecretStr

from collectors.ssh.collector import SshCollector
from collectors.ssh.platforms import load_platforms
from inventory.credentials import Login
from inventory.model import Device
from tests.functional.collector_peers import CLI_PASSWORD, CLI_USER, FakenosPeer, free_port

pytestmark = pytest.mark.functional
TAGS = {"province": "31", "commune": "11311", "site": "hq-11311", "device": "r1", "role": "router"}
CREDS = {"cli": Login(kind="login", username=CLI_USER, password=SecretStr(CLI_PASSWORD)),
         "wrong": Login(kind="login", username=CLI_USER, password=SecretStr("wrong-pass-42"))}
# A platform whose "show interfaces" step actually runs "show clock": real output that cannot parse.
BROKEN = """\
name: broken_ios
device_type: cisco_ios
enable: true
commands:
  - command: show clock
    template: TEMPLATE
    measurement: snmp_if
    fields: {name: interface}
"""


@pytest.fixture(scope="module")
def peer() -> Iterator[FakenosPeer]:
    devices = FakenosPeer(count=2).start()
    try:
        yield devices
    finally:
        devices.stop()


@pytest.fixture()
async def collector(tmp_path: Path) -> AsyncIterator[SshCollector]:
    template = Path(ntc_templates.__file__).parent / "templates" / "cisco_ios_show_interfaces.textfsm"
    (tmp_path / "broken.yaml").write_text(BROKEN.replace("TEMPLATE", str(template)), encoding="utf-8")
    from collectors.ssh.platforms import builtin_platform_dir
    cli = SshCollector(CREDS, platforms=load_platforms(builtin_platform_dir(), tmp_path))
    yield cli
    await cli.close()


def _device(port: int, cred: str = "cli", dev_id: str = "r1", platform: str = "cisco_ios") -> Device:
    return Device.model_validate({"id": dev_id, "name": "Router CLI", "site": "hq-11311", "role": "router",
                                  "address": "127.0.0.1",
                                  "ssh": {"credential": cred, "port": port, "platform": platform,
                                          "timeout_s": 5}})


async def test_show_commands_parse_into_samples_on_a_reused_session(
        peer: FakenosPeer, collector: SshCollector) -> None:
    device = _device(peer.ports[0])
    first = await collector.poll(device, TAGS)
    assert first.ok, first.error
    info = next(s for s in first.samples if s.measurement == "device_info")
    assert info.fields["hostname"] == "r0" and dict(info.tags) == TAGS
    ifs = {s.tags["if_name"]: s.fields for s in first.samples if s.measurement == "snmp_if"}
    assert ifs["FastEthernet1"]["oper_status"] == 2 and ifs["TenGigabitEthernet1/1/1"]["oper_status"] == 1
    second = await collector.poll(device, TAGS)
    assert second.ok and second.duration_ms < first.duration_ms  # no second login
    assert collector.reconnects["r1"] == 0


async def test_two_devices_polled_concurrently_and_diagnostics_reuse_the_session(
        peer: FakenosPeer, collector: SshCollector) -> None:
    import asyncio
    a, b = _device(peer.ports[0], dev_id="a"), _device(peer.ports[1], dev_id="b")
    ra, rb = await asyncio.gather(collector.poll(a, TAGS), collector.poll(b, TAGS))
    assert ra.ok and rb.ok
    text = await collector.run_diagnostic(a, "show clock")
    assert "UTC" in text and collector.reconnects["a"] == 0
    with pytest.raises(PermissionError):
        await collector.run_diagnostic(a, "reload")


async def test_unparseable_output_is_named_and_raw_text_kept(
        peer: FakenosPeer, collector: SshCollector) -> None:
    result = await collector.poll(_device(peer.ports[0], dev_id="x", platform="broken_ios"), TAGS)
    assert not result.ok and result.error_kind == "unparseable"
    (raw,) = result.samples
    assert raw.measurement == "cli_unparsed" and "UTC" in str(raw.fields["text"])


async def test_auth_failure_and_refused_port_are_distinct(peer: FakenosPeer, collector: SshCollector) -> None:
    auth = await collector.poll(_device(peer.ports[0], cred="wrong", dev_id="w"), TAGS)
    assert not auth.ok and auth.error_kind == "auth" and "wrong-pass-42" not in (auth.error or "")
    refused = await collector.poll(_device(free_port(), dev_id="gone"), TAGS)
    assert not refused.ok and refused.error_kind == "unreachable", refused.error
