"""The command line's contract: data on stdout (``--json`` parses), messages on stderr, one-line errors.

Runs the real Typer app in-process (CliRunner keeps stdout and stderr apart)
on a small generated lab; nothing is started, so nothing listens.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lab.generator import generate_lab
from trucban.cli import _FriendlyApp, app
from trucban.output import _StoppingIsNotAnError, setup_logging


def _env(data_dir: Path) -> dict[str, str]:
    return {"TRUCBAN_DATA_DIR": str(data_dir), "TRUCBAN_LAB_LIMIT": "1", "COLUMNS": "200",
            "TRUCBAN_DEBUG": ""}


def _invoke(args: list[str], data_dir: Path) -> Result:
    return CliRunner().invoke(app, args, env=_env(data_dir))


@pytest.fixture()
def lab_dir(tmp_path: Path) -> Path:
    """A generated one-commune lab (with its DNS/NETCONF/SSH devices) under ``tmp_path``."""
    generate_lab(tmp_path / "lab" / "31", "31", 29100, 1, services=True)
    return tmp_path


@pytest.mark.parametrize("args", [["lab", "outage", "X"], ["lab", "stage", "X", "--silent"], ["lab", "clear"],
                                  ["lab", "status", "--json"]])
def test_lab_commands_without_a_lab_say_so_in_one_line(tmp_path: Path, args: list[str]) -> None:
    result = _invoke(args, tmp_path)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "trucban run" in lines[0] and "Chưa có mạng mô phỏng" in lines[0] and str(tmp_path) in lines[0]


def test_unknown_lab_device_is_one_line(lab_dir: Path) -> None:
    result = _invoke(["lab", "outage", "no-such-router"], lab_dir)
    assert result.exit_code == 2 and result.stdout == ""
    assert "'no-such-router'" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_outage_stage_and_status_print_json_on_stdout_only(lab_dir: Path) -> None:
    cut = _invoke(["lab", "outage", "c10507-r1", "--json"], lab_dir)
    assert cut.exit_code == 0 and cut.stderr == ""
    data = json.loads(cut.stdout)
    assert data["action"] == "cut" and data["devices"][0] == "c10507-r1"
    assert "c10507-sw0" in data["devices"]  # the legacy SSH switch hangs behind the access router

    staged = _invoke(["lab", "stage", "p31-dns2", "--no-transfer", "--json"], lab_dir)
    assert staged.exit_code == 0 and json.loads(staged.stdout)["state"]["transfer"] is False

    status = _invoke(["lab", "status", "--json", "--devices"], lab_dir)
    assert status.exit_code == 0 and status.stderr == ""
    report = json.loads(status.stdout)
    assert report["snmp"]["port"] == 16100 and report["lab_dir"] == str(lab_dir / "lab" / "31")
    kinds = {s["kind"] for s in report["services"]}
    assert kinds == {"dns", "netconf", "ssh"} and not any(s["listening"] for s in report["services"])
    assert report["staged"]["c10507-r1"]["silent"] is True
    assert report["staged"]["p31-dns2"]["transfer"] is False
    collectors = {d["id"]: d["collectors"] for d in report["devices"]}
    assert collectors["p31-pe1"] == ["netconf"] and collectors["c10507-sw0"] == ["ssh"]
    assert collectors["p31-dns1"] == ["snmp", "dns"]

    cleared = _invoke(["lab", "clear"], lab_dir)
    assert cleared.exit_code == 0 and cleared.stdout.strip() == "cleared all devices"
    assert json.loads(_invoke(["lab", "status", "--json"], lab_dir).stdout)["staged"] == {}


def test_bad_if_down_list_is_one_line(lab_dir: Path) -> None:
    result = _invoke(["lab", "stage", "c10507-r1", "--if-down", "1,x"], lab_dir)
    assert result.exit_code == 2 and "--if-down" in result.stderr and "Traceback" not in result.stderr


def test_inventory_check_json(lab_dir: Path, tmp_path: Path) -> None:
    good = _invoke(["inventory", "check", str(lab_dir / "lab" / "31" / "inventory.yaml"), "--json"], lab_dir)
    assert good.exit_code == 0 and good.stderr == ""
    assert json.loads(good.stdout) == {"ok": True, "communes": 1, "sites": 4, "devices": 12, "links": 2}
    bad = _invoke(["inventory", "check", str(tmp_path / "missing.yaml"), "--json"], lab_dir)
    assert bad.exit_code == 1 and json.loads(bad.stdout)["ok"] is False


def test_typhoon_status_is_json_on_stdout(lab_dir: Path) -> None:
    result = _invoke(["typhoon", "status"], lab_dir)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)  # what `trucban typhoon status | jq` receives
    assert set(data) == {"typhoon", "outbox"}


def test_an_unexpected_error_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = _FriendlyApp()

    @broken.command()
    def boom() -> None:
        raise PermissionError(13, "Permission denied", "/etc/trucban/inventory.yaml")

    @broken.command()
    def other() -> None:
        pass

    monkeypatch.setattr(sys, "argv", ["trucban", "boom"])
    monkeypatch.delenv("TRUCBAN_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        broken()
    assert info.value.code == 1
    monkeypatch.setenv("TRUCBAN_DEBUG", "1")
    with pytest.raises(PermissionError):  # the traceback on request
        broken()


def test_unexpected_error_message(capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    broken = _FriendlyApp()

    @broken.command()
    def boom() -> None:
        raise RuntimeError("the lab exploded")

    @broken.command()
    def other() -> None:
        pass

    monkeypatch.setattr(sys, "argv", ["trucban", "boom"])
    monkeypatch.delenv("TRUCBAN_DEBUG", raising=False)
    with pytest.raises(SystemExit):
        broken()
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert "RuntimeError: the lab exploded" in captured.err and "TRUCBAN_DEBUG=1" in captured.err


def test_a_job_cancelled_at_shutdown_logs_no_traceback() -> None:
    try:
        raise asyncio.CancelledError()
    except asyncio.CancelledError:
        record = logging.LogRecord("apscheduler.executors.default", logging.ERROR, __file__, 1,
                                   'Job "%s" raised an exception', ("PollCycle.run",), sys.exc_info())
    logging.getLogger("apscheduler.executors.default").setLevel(logging.INFO)
    try:
        assert _StoppingIsNotAnError().filter(record)
    finally:
        logging.getLogger("apscheduler.executors.default").setLevel(logging.NOTSET)
    assert record.levelno == logging.INFO and record.exc_info is None
    assert "cancelled: Trucban is stopping" in record.getMessage() and "PollCycle.run" in record.getMessage()


def test_logs_go_to_the_current_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        setup_logging("INFO")
        logging.getLogger("trucban.test").info("xin chào")
        captured = capsys.readouterr()
        assert captured.out == "" and "INFO trucban.test: xin chào" in captured.err
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
