"""IPv6 management addresses and dual-stack devices (``address6``) in the inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.loader import load_inventory
from inventory.model import Device
from tests.unit.inventory.test_loader import GOOD, problems, write

ENV = {"TRUCBAN_TEST_AUTH": "authkey123"}


def _dual(address6: str, address: str = "10.0.0.2") -> str:
    return GOOD.replace("    address: 10.0.0.2\n", f"    address: {address}\n    address6: \"{address6}\"\n")


def test_ipv6_only_device_and_dual_stack_device_load(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, _dual("fd00:7b::2")), env=ENV)
    r1, bts = inv.devices["r1"], inv.devices["bts"]
    assert str(r1.address6) == "fd00:7b::2"
    assert r1.families == {"ipv4": "10.0.0.2", "ipv6": "fd00:7b::2"}
    assert bts.families == {"ipv6": "2001:db8::5"}  # IPv6-only management
    assert inv.devices["agg"].address6 is None


def test_address6_equal_to_an_ipv6_address_is_accepted() -> None:
    fields = {"id": "d", "name": "d", "site": "s", "role": "router"}
    fields |= {"address": "fd00::2", "address6": "fd00::2"}
    dev = Device.model_validate(fields)
    assert dev.families == {"ipv6": "fd00::2"}


@pytest.mark.parametrize(("value", "message"), [
    ("10.0.0.9", "must be an IPv6 address"),
    ("fe80::1", "not IPv4-mapped, multicast, :: or link-local"),
    ("::ffff:10.0.0.9", "not IPv4-mapped"),
    ("ff02::1", "multicast"),
    ("::", "multicast, ::"),
    ("fd00::zz", "not a valid IPv4 or IPv6 address"),
])
def test_bad_address6_names_file_line_field_and_value(tmp_path: Path, value: str, message: str) -> None:
    msg = problems(tmp_path, _dual(value))
    assert "inventory.yaml:23: devices.1.address6:" in msg
    assert message in msg and repr(value) in msg


def test_address6_beside_a_different_ipv6_address_is_refused(tmp_path: Path) -> None:
    msg = problems(tmp_path, _dual("fd00::9", address='"fd00::2"'))
    assert "devices.1.address6" in msg
    assert "address is already IPv6 (fd00::2)" in msg


def test_address6_from_a_devices_csv(tmp_path: Path) -> None:
    inv_text = GOOD.replace("credentials_file: credentials.yaml\n",
                            "credentials_file: credentials.yaml\ndevices_csv: devices.csv\n")
    csv_text = ("id,name,site,role,address,address6,snmp_credential\n"
                "sw1,Switch 1,hq-1,switch,10.0.0.10,fd00:7b::10,lab\n"
                "sw2,Switch 2,hq-1,switch,10.0.0.11,,lab\n"
                "sw3,Switch 3,hq-1,switch,10.0.0.12,10.0.0.13,lab\n")
    msg = problems(tmp_path, inv_text, devices_csv=csv_text)
    assert "devices.csv:4: address6:" in msg and "'10.0.0.13'" in msg
    inv = load_inventory(write(tmp_path, inv_text, devices_csv=csv_text.replace(",10.0.0.13,", ",,")),
                         env=ENV)
    assert str(inv.devices["sw1"].address6) == "fd00:7b::10"
    assert inv.devices["sw2"].address6 is None
