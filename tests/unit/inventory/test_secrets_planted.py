"""Secrets planted in a credentials file with mistakes are never printed.

An entry with an unknown ``kind`` (rejected whole), a mistyped secret key and
a wrong-typed key: the load error, ``trucban inventory check`` and the logs
name file, line and field, never the value.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from common.errors import InventoryError
from inventory.loader import load_inventory
from tests.unit.inventory.test_loader import GOOD, write
from trucban.cli import app

PLANTED = ("S3cr3t-PLANT-xyz", "S3cr3t-PLANT-pw", "S3cr3t-PLANT-auth", "S3cr3t-PLANT-priv", "S3cr3t-PLANT-v1")
CREDS = """\
credentials:
  lab: {kind: snmp_v2c, community: lab-community}
  hp:
    kind: snmp_v4
    community: S3cr3t-PLANT-xyz
  cli:
    kind: login
    username: noc
    pasword: S3cr3t-PLANT-pw
  v3:
    kind: snmp_v3
    user: nms
    auth_key: S3cr3t-PLANT-auth
    privkey: S3cr3t-PLANT-priv
  old: [S3cr3t-PLANT-v1]
"""


def _clean(text: str) -> None:
    for secret in PLANTED:
        assert secret not in text and secret.lower() not in text.lower(), secret
        assert "PLANT" not in text, text


def test_credentials_mistakes_are_named_without_their_secrets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, GOOD, CREDS)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InventoryError) as info:
        load_inventory(path, env={})
    text = str(info.value)
    assert "credentials.hp" in text and "snmp_v4" in text  # the unknown kind is named, its entry is not shown
    assert "credentials.cli.login.pasword" in text and "credentials.v3.snmp_v3.privkey" in text
    assert "credentials.yaml:3" in text  # file and line
    _clean(text)
    _clean(caplog.text)


def test_inventory_check_prints_no_secret(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, CREDS)
    result = CliRunner().invoke(app, ["inventory", "check", str(path)], env={"COLUMNS": "400"})
    assert result.exit_code == 1
    assert "credentials.hp" in result.output
    _clean(result.output)
