"""Inventory loading: a good file loads; each kind of bad input is named precisely."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from common.errors import InventoryError
from inventory.loader import load_inventory
from inventory.model import DeviceRole

GOOD = """\
province: "31"
credentials_file: credentials.yaml
communes:
  - code: "11311"
    command_post: Ban chỉ huy phường Hồng Bàng
    contacts:
      - {name: Nguyễn Văn A, phone: "+84901234567", email: a@example.vn}
sites:
  - {id: hq-1, name: Trụ sở UBND, kind: commune_hq, commune: "11311"}
  - {id: bts-1, name: Trạm BTS, kind: bts_site, commune: "11311"}
devices:
  - id: agg
    name: Router tập trung
    site: hq-1
    role: router
    address: 10.0.0.1
    snmp: {credential: lab}
  - id: r1
    name: Router truy nhập
    site: hq-1
    role: router
    address: 10.0.0.2
    snmp: {credential: lab}
    parents: [agg]
  - id: bts
    name: BTS
    site: bts-1
    role: bts
    address: "2001:db8::5"
    snmp: {credential: lab, port: 1161}
    hardening_level: 4
    parents: [r1]
links:
  - {id: l1, device: r1, if_index: 1, kind: primary, medium: fibre, commune: "11311"}
"""
CREDS = """\
credentials:
  lab: {kind: snmp_v2c, community: s3cr3t-community}
  v3: {kind: snmp_v3, user: nms, auth_protocol: sha, auth_key_env: TRUCBAN_TEST_AUTH}
"""


def write(tmp_path: Path, inventory: str, creds: str = CREDS, **extra: str) -> Path:
    (tmp_path / "credentials.yaml").write_text(creds, encoding="utf-8")
    for name, text in extra.items():
        (tmp_path / name.replace("_", ".")).write_text(textwrap.dedent(text), encoding="utf-8")
    path = tmp_path / "inventory.yaml"
    path.write_text(inventory, encoding="utf-8")
    return path


def problems(tmp_path: Path, inventory: str, creds: str = CREDS, **extra: str) -> str:
    path = write(tmp_path, inventory, creds, **extra)
    with pytest.raises(InventoryError) as info:
        load_inventory(path, env={"TRUCBAN_TEST_AUTH": "x" * 12})
    return str(info.value)


def test_good_inventory_loads_with_order_and_references(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, GOOD), env={"TRUCBAN_TEST_AUTH": "authkey123"})
    assert set(inv.devices) == {"agg", "r1", "bts"}
    assert inv.devices["bts"].role is DeviceRole.BTS
    assert inv.parents_first.index("agg") < inv.parents_first.index("r1") < inv.parents_first.index("bts")
    assert inv.commune_of("bts") == "11311"
    assert inv.commune_ref("11311").name == "Phường Hồng Bàng"
    assert inv.children["r1"] == ["bts"]
    assert inv.credentials["v3"].auth_key.get_secret_value() == "authkey123"  # type: ignore[attr-defined]


def test_duplicate_id_names_both_places(tmp_path: Path) -> None:
    bad = GOOD.replace("  - id: r1\n", "  - id: agg\n")
    msg = problems(tmp_path, bad)
    assert "inventory.yaml:18: id: duplicate device id (first defined at" in msg
    assert "'agg'" in msg


def test_unknown_commune_code(tmp_path: Path) -> None:
    bad = GOOD.replace('kind: bts_site, commune: "11311"', 'kind: bts_site, commune: "99999"')
    msg = problems(tmp_path, bad)
    assert "inventory.yaml:10: commune: unknown commune code (value: '99999')" in msg


def test_unknown_parent(tmp_path: Path) -> None:
    msg = problems(tmp_path, GOOD.replace("parents: [r1]", "parents: [r9]"))
    assert "inventory.yaml:32: parents.0: unknown parent device (value: 'r9')" in msg


def test_dependency_cycle(tmp_path: Path) -> None:
    bad = GOOD.replace("    role: router\n    address: 10.0.0.1\n    snmp: {credential: lab}\n",
                       "    role: router\n    address: 10.0.0.1\n    snmp: {credential: lab}\n"
                       "    parents: [bts]\n")
    msg = problems(tmp_path, bad)
    assert "dependency cycle" in msg
    assert "agg → bts → r1 → agg" in msg or "bts → r1 → agg → bts" in msg


def test_bad_ip_address(tmp_path: Path) -> None:
    msg = problems(tmp_path, GOOD.replace("10.0.0.2", "10.0.0.256"))
    assert "inventory.yaml:22: devices.1.address:" in msg
    assert "'10.0.0.256'" in msg


def test_unknown_credential_reference(tmp_path: Path) -> None:
    msg = problems(tmp_path, GOOD.replace("snmp: {credential: lab, port: 1161}",
                                          "snmp: {credential: nope, port: 1161}"))
    assert "inventory.yaml:30: snmp.credential: unknown credential reference (value: 'nope')" in msg


def test_wrong_type(tmp_path: Path) -> None:
    msg = problems(tmp_path, GOOD.replace("hardening_level: 4", "hardening_level: cao"))
    assert "inventory.yaml:31: devices.2.hardening_level:" in msg
    assert "'cao'" in msg


def test_unknown_role_is_named(tmp_path: Path) -> None:
    msg = problems(tmp_path, GOOD.replace("role: bts", "role: toaster"))
    assert "devices.2.role" in msg and "'toaster'" in msg


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    msg = problems(tmp_path, GOOD.replace("  - id: r1\n", "  - id: [r1\n"))
    assert "inventory.yaml:" in msg and "invalid YAML" in msg


def test_all_problems_reported_at_once_and_nothing_loaded(tmp_path: Path) -> None:
    bad = GOOD.replace("parents: [r1]", "parents: [r9]").replace('commune: "11311"}\ndevices',
                                                                 'commune: "00000"}\ndevices')
    msg = problems(tmp_path, bad)
    assert "2 problem(s)" in msg


def test_secret_never_in_error_text(tmp_path: Path) -> None:
    creds = "credentials:\n  lab: {kind: snmp_v2c, community: [s3cr3t-community]}\n"
    msg = problems(tmp_path, GOOD, creds=creds)
    assert "credentials.yaml:2" in msg
    assert "s3cr3t" not in msg


def test_missing_env_secret_names_variable_not_value(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    with pytest.raises(InventoryError) as info:
        load_inventory(path, env={})
    assert "credentials.yaml:3: credentials.v3.auth_key_env: environment variable is not set" in str(
        info.value
    )


def test_csv_devices_with_line_numbers(tmp_path: Path) -> None:
    inv_text = GOOD.replace("credentials_file: credentials.yaml\n",
                            "credentials_file: credentials.yaml\ndevices_csv: devices.csv\n")
    csv_text = (
        "id,name,site,role,address,snmp_credential,snmp_port,parents\n"
        "sw1,Switch 1,hq-1,switch,10.0.0.10,lab,161,r1\n"
        "sw2,Switch 2,hq-1,switch,10.0.0.300,lab,161,r1\n"
        "sw3,Switch 3,hq-x,switch,10.0.0.12,lab,161,r1;agg\n"
    )
    msg = problems(tmp_path, inv_text, devices_csv=csv_text)
    assert "devices.csv:3: address:" in msg and "'10.0.0.300'" in msg
    assert "devices.csv:4: site: unknown site (value: 'hq-x')" in msg
    good_csv = csv_text.replace("10.0.0.300", "10.0.0.11").replace("hq-x", "hq-1")
    inv = load_inventory(write(tmp_path, inv_text, devices_csv=good_csv),
                         env={"TRUCBAN_TEST_AUTH": "k" * 10})
    assert inv.devices["sw3"].parents == ("r1", "agg")
    assert inv.devices["sw1"].snmp is not None and inv.devices["sw1"].snmp.port == 161
