"""``lab: national`` in the settings: ``trucban lab outage`` stages the national lab as it does Hải Phòng's.

The national lab has no generated files: the CLI builds its inventory in memory
and writes the same per-device state files under ``data_dir/lab/national/state``
that :mod:`lab.national_agents` rescans.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lab.runner import read_state
from trucban.cli import app
from trucban.settings import Settings


def test_national_lab_dir_and_outage_from_the_cli(tmp_path: Path) -> None:
    """An aggregation router cut from the CLI silences its 20 communes' devices; --restore undoes it."""
    settings = Settings(data_dir=tmp_path, lab="national")
    assert settings.lab_dir == tmp_path / "lab" / "national"
    env = {"TRUCBAN_DATA_DIR": str(tmp_path), "TRUCBAN_LAB": "national", "COLUMNS": "200",
           "TRUCBAN_DEBUG": ""}
    result = CliRunner().invoke(app, ["lab", "outage", "p31-agg001", "--json"], env=env)
    assert result.exit_code == 0, result.output
    cut = json.loads(result.stdout)["devices"]
    assert cut[0] == "p31-agg001" and len(cut) == 1 + 20 * 8
    assert all(read_state(settings.lab_dir / "state", d).get("silent") for d in cut)
    back = CliRunner().invoke(app, ["lab", "outage", "p31-agg001", "--restore"], env=env)
    assert back.exit_code == 0, back.output
    assert not any(read_state(settings.lab_dir / "state", d).get("silent") for d in cut)
