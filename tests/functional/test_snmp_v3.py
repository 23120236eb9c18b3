"""SNMP v1/v2c/v3 against net-snmp's snmpd: every security level, SHA/SHA-2, AES-128/256, wrong keys."""

from __future__ import annotations

import pytest

from collectors.snmp.collector import SnmpCollector
from tests.functional.snmp_peers import CREDENTIALS, Snmpd, snmpd  # noqa: F401 - fixture

pytestmark = [pytest.mark.functional, pytest.mark.asyncio(loop_scope="session")]
TAGS = {"device": "snmpd"}


@pytest.fixture
async def collector() -> SnmpCollector:
    c = SnmpCollector(CREDENTIALS)
    yield c  # type: ignore[misc]
    await c.close()


LEVELS = ["v1", "v2", "sha1-aes128", "sha256-aes256", "sha512-auth", "plain-user"]


@pytest.mark.parametrize("credential", LEVELS)
async def test_every_version_and_security_level(
    snmpd: Snmpd, collector: SnmpCollector, credential: str  # noqa: F811
) -> None:
    result = await collector.poll(snmpd.device(credential), TAGS)
    assert result.ok, result.error
    by = {s.measurement: s for s in result.samples}
    assert by["snmp_system"].fields["uptime_ticks"] > 0
    assert by["snmp_system_info"].fields["object_id"].startswith("1.3.6.1.4.1.8072")
    ifaces = [s for s in result.samples if s.measurement == "snmp_if"]
    assert ifaces and all(s.tags["if_index"] for s in ifaces)
    # a real HOST-RESOURCES agent: the server profile's CPU and storage tables come back
    assert any(s.measurement == "hr_storage" for s in result.samples)
    assert by["hr_system"].fields["processes"] > 0


@pytest.mark.parametrize("credential", ["wrong-auth", "wrong-priv"])
async def test_wrong_key_is_a_clear_auth_error_naming_the_device(
    snmpd: Snmpd, collector: SnmpCollector, credential: str  # noqa: F811
) -> None:
    device = snmpd.device(credential)
    result = await collector.poll(device, TAGS)
    assert not result.ok
    assert result.error_kind == "auth", result.error
    assert result.error is not None and result.error.startswith(f"{device.id}: SNMP authentication failed")
    assert "not-the" not in result.error and "key-sha" not in result.error  # never the secret


async def test_v3_and_v2c_give_the_same_samples(snmpd: Snmpd, collector: SnmpCollector) -> None:  # noqa: F811
    v2 = await collector.poll(snmpd.device("v2", profile="base"), TAGS)
    v3 = await collector.poll(snmpd.device("sha256-aes256", profile="base"), TAGS)
    assert v2.ok and v3.ok
    names = lambda r: {(s.measurement, s.tags.get("if_index")): s.fields.get("name") for s in r.samples}  # noqa: E731
    assert names(v2) == names(v3)
