"""``trucban poller|ingest|edge --lab national``: the cluster processes build the national lab's inventory.

No NATS and no responder: the poller's wiring is run up to the point where it
would connect, and the inventory it was given is looked at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from trucban import cluster
from trucban.cli import app
from trucban.cluster import cluster_inventory
from trucban.settings import Settings


def test_national_lab_inventory_for_one_province(tmp_path: Path) -> None:
    """``lab: national`` + a province: that province's devices, every one pointed at the responder's port."""
    inv = cluster_inventory(Settings(data_dir=tmp_path, lab="national", lab_port=17123), [], "31")
    assert len(inv.devices) > 500
    assert {d.snmp.port for d in inv.devices.values() if d.snmp} == {17123}
    assert {inv.reference.communes[code].province_code for code in inv.watched_communes} == {"31"}
    assert "p31-core1" in inv.devices and "p01-core1" not in inv.devices


def test_national_lab_conflicts_are_one_clear_error(tmp_path: Path) -> None:
    """Files and the national lab together, a province without the lab, or an unknown province: ValueError."""
    national = Settings(data_dir=tmp_path, lab="national")
    with pytest.raises(ValueError, match="not both"):
        cluster_inventory(national, [tmp_path / "inventory.yaml"])
    with pytest.raises(ValueError, match="add --lab national"):
        cluster_inventory(Settings(data_dir=tmp_path), [], "31")
    with pytest.raises(ValueError, match="no such province"):
        cluster_inventory(national, [], "99")


def test_poller_cli_builds_the_national_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``trucban poller --lab national --lab-port P --lab-province 31``: the poller gets that inventory."""
    ran: list[Any] = []
    monkeypatch.setattr(cluster, "run_until_signalled", ran.append)
    args = ["poller", "--cluster", "nats://127.0.0.1:1", "--id", "p1", "--lab", "national",
            "--lab-port", "17124", "--lab-province", "31"]
    result = CliRunner().invoke(app, args, env={"TRUCBAN_DATA_DIR": str(tmp_path), "TRUCBAN_DEBUG": ""})
    assert result.exit_code == 0, result.output
    poller = ran[0].__self__  # the ClusterPoller's bound run()
    assert poller.poller_id == "p1"
    assert len(poller.inventory.devices) > 500
    assert {d.snmp.port for d in poller.inventory.devices.values() if d.snmp} == {17124}


def test_poller_cli_without_an_inventory_says_how(tmp_path: Path) -> None:
    """No --inventory and no --lab national: exit 2 naming both ways."""
    env = {"TRUCBAN_DATA_DIR": str(tmp_path), "TRUCBAN_DEBUG": "", "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["poller", "--cluster", "nats://127.0.0.1:1"], env=env)
    assert result.exit_code == 2
    assert "--lab national" in result.output
