"""NETCONF answers become samples with SNMP's interface fields; vendor filters are checked data."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from collectors.netconf.decode import decode_alarms, decode_hardware, decode_interfaces
from collectors.netconf.vendors import load_vendors
from common.errors import ConfigError
from tests.functional.collector_peers import ALARMS_XML, HARDWARE_XML, interfaces_xml

TAGS = {"province": "31", "commune": "11311", "site": "hq", "device": "r1", "role": "router"}


def _data(xml: str) -> etree._Element:
    return etree.fromstring(f'<data xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">{xml}</data>')


def test_interfaces_map_to_if_mib_numbers_and_keep_device_tags() -> None:
    data = _data(interfaces_xml([("ge-0/0/0", 7, "up", 5, 6), ("ge-0/0/1", 9, "lower-layer-down", 0, 0)]))
    up, down = decode_interfaces(data, TAGS, 100)
    assert up.measurement == "snmp_if" and dict(up.tags) == {**TAGS, "if_index": "7"}
    assert up.fields["oper_status"] == 1 and up.fields["in_octets"] == 5
    assert up.fields["high_speed_mbps"] == 1000
    assert down.fields["oper_status"] == 7 and down.fields["name"] == "ge-0/0/1"


def test_legacy_interfaces_state_without_if_index_uses_position() -> None:
    xml = ('<interfaces-state xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"><interface><name>e0</name>'
           "<oper-status>down</oper-status></interface></interfaces-state>")
    (sample,) = decode_interfaces(_data(xml), TAGS, 1)
    assert sample.tags["if_index"] == "1" and sample.fields == {"name": "e0", "oper_status": 2}


def test_hardware_sensor_and_active_alarms() -> None:
    chassis, sensor = decode_hardware(_data(HARDWARE_XML), TAGS, 1)
    assert chassis.fields["oper_state"] == "enabled" and sensor.fields["sensor_value"] == 47
    alarm, summary = decode_alarms(_data(ALARMS_XML), TAGS, 1)
    assert alarm.tags["alarm_type"] == "link-down" and alarm.fields["severity"] == 4
    assert alarm.fields["text"] == "Mất tín hiệu quang" and summary.fields == {"active": 1}


def test_builtin_vendor_filters_load_and_check_capabilities() -> None:
    ietf = load_vendors()["ietf"]
    assert [f.decoder for f in ietf] == ["interfaces", "hardware", "alarms"]
    caps = ["urn:ietf:params:xml:ns:yang:ietf-interfaces?module=ietf-interfaces"]
    assert [f.supported_by(caps) for f in ietf] == [True, False, False]


def test_bad_vendor_file_names_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text("name: acme\nfilters:\n  - decoder: bgp\n    subtree: <x/>\n")
    with pytest.raises(ConfigError) as info:
        load_vendors(tmp_path)
    assert "acme.yaml:3: filters.0.decoder" in str(info.value)
