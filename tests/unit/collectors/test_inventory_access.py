"""NETCONF/SSH/DNS access blocks on devices: they load, and bad credential references are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import InventoryError
from inventory.loader import load_inventory

INVENTORY = """\
province: "31"
credentials_file: credentials.yaml
sites:
  - {id: hq-1, name: Trụ sở UBND, kind: commune_hq, commune: "11311"}
devices:
  - id: r1
    name: Router NETCONF
    site: hq-1
    role: router
    address: 10.0.0.2
    netconf: {credential: NC, port: 830, vendor: ietf}
  - id: r2
    name: Router CLI
    site: hq-1
    role: router
    address: 10.0.0.3
    ssh: {credential: CLI, platform: cisco_ios}
    icmp: false
  - id: ns1
    name: Máy chủ DNS
    site: hq-1
    role: dns
    address: 10.0.0.53
    dns: {zone: tslcd.haiphong.vn, ipv6: "2001:db8::53", queries: [{name: "@", type: SOA}]}
"""
CREDS = """\
credentials:
  lab: {kind: snmp_v2c, community: s3cr3t-community}
  nc: {kind: login, username: nms, password: nc-s3cr3t}
  cli: {kind: login, username: nms, password: cli-s3cr3t}
"""


def _load(tmp_path: Path, nc: str, cli: str) -> object:
    (tmp_path / "credentials.yaml").write_text(CREDS, encoding="utf-8")
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY.replace("NC", nc).replace("CLI", cli), encoding="utf-8")
    return load_inventory(path, env={})


def test_access_blocks_load(tmp_path: Path) -> None:
    inv = _load(tmp_path, "nc", "cli")
    r1, r2, ns1 = (inv.devices[d] for d in ("r1", "r2", "ns1"))  # type: ignore[attr-defined]
    assert r1.netconf.port == 830 and r1.icmp is True
    assert r2.ssh.platform == "cisco_ios" and r2.icmp is False
    assert str(ns1.dns.ipv6) == "2001:db8::53" and ns1.dns.queries[0].type == "SOA"


def test_unknown_credential_reference_is_named(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as info:
        _load(tmp_path, "nope", "cli")
    expected = "inventory.yaml:11: netconf.credential: unknown credential reference (value: 'nope')"
    assert expected in str(info.value)


def test_snmp_credential_cannot_log_in(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as info:
        _load(tmp_path, "nc", "lab")
    text = str(info.value)
    assert "ssh.credential: credential is not a login (kind: login) (value: 'lab')" in text
    assert "s3cr3t" not in text
