"""The diagnostics allow-list: read-only gate, exact matching, line-precise errors, runbook cross-check."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import ConfigError
from poller.diagnostics import DiagnosticRefused, check_catalog, load_allowlist
from poller.diagnostics.allowlist import builtin_allowlist_path
from runbooks import load_catalog


@pytest.mark.parametrize("command", ["conf t", "configure terminal", "wr mem", "write memory", "reload in 5",
                                     "copy running-config startup-config", "del flash:cfg", "no shutdown",
                                     "show run | redirect flash:x", "show version\nreload",
                                     "show clock; reload", "debug ip packet", "clear counters", "system-view",
                                     "sys"])
def test_configuration_is_refused_with_a_clear_reason(command: str) -> None:
    allow = load_allowlist()
    with pytest.raises(DiagnosticRefused) as err:
        allow.check_ssh("r1", "cisco_ios", command)
    assert err.value.device == "r1" and "looks like configuration" in str(err.value)
    assert isinstance(err.value, PermissionError)


def test_only_exact_allow_listed_show_commands_pass() -> None:
    allow = load_allowlist()
    allow.check_ssh("r1", "cisco_ios", "show ip route")
    allow.check_ssh("r1", "cisco_ios", "SHOW  ip   route")  # same command, other spacing/case
    with pytest.raises(DiagnosticRefused, match=r"r1: diagnostic 'show running-config' refused: not on the "
                                                r"cisco_ios allow-list"):
        allow.check_ssh("r1", "cisco_ios", "show running-config")
    with pytest.raises(DiagnosticRefused, match="no diagnostics are allowed for CLI platform 'vyos'"):
        allow.check_ssh("r1", "vyos", "show version")
    with pytest.raises(DiagnosticRefused, match="not an allow-listed NETCONF get"):
        allow.check_netconf("r1", "running-config")
    with pytest.raises(DiagnosticRefused, match="looks like configuration"):
        allow.check_netconf("r1", "edit-config")
    with pytest.raises(DiagnosticRefused, match="DNS type 'AXFR' is not allowed"):
        allow.check_dns("ns1", "AXFR", "@")


def test_a_configuration_command_cannot_be_allow_listed(tmp_path: Path) -> None:
    text = builtin_allowlist_path().read_text(encoding="utf-8")
    bad = tmp_path / "allowlist.yaml"
    bad.write_text(text.replace("    - show clock\n", "    - write memory\n"), encoding="utf-8")
    line = next(i for i, row in enumerate(bad.read_text().splitlines(), 1) if "write memory" in row)
    with pytest.raises(ConfigError) as err:
        load_allowlist(bad)
    assert f"allowlist.yaml:{line}: ssh.cisco_ios.1: looks like configuration" in str(err.value)


def test_every_runbook_diagnostic_is_allow_listed() -> None:
    assert check_catalog(load_catalog(), load_allowlist()) == []


def test_cross_check_names_the_runbook_line(tmp_path: Path) -> None:
    from runbooks.catalog import runbook_dir
    for path in runbook_dir().glob("*.md"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "flapping.md"
    path.write_text(path.read_text(encoding="utf-8").replace("[show interfaces, show logging]",
                                                             "[show interfaces, show tech-support]"))
    problems = check_catalog(load_catalog(tmp_path), load_allowlist())
    found = [(p.line, p.field, p.value) for p in problems]
    assert found == [(10, "diagnostics.ssh.cisco_ios", "show tech-support")]
