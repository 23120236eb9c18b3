"""CLI output parses with TextFSM/ntc-templates into samples; unparseable output keeps its raw text."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.ssh.errors import CliUnparseable
from collectors.ssh.parse import parse_rows, raw_sample, to_samples
from collectors.ssh.platforms import load_platforms
from common.errors import ConfigError

SHOW_INTERFACES = """\
GigabitEthernet0/1 is up, line protocol is up (connected)
  Hardware is Gigabit Ethernet, address is 0011.2233.4455 (bia 0011.2233.4455)
  Description: TSLCD primary
  MTU 1500 bytes, BW 1000000 Kbit/sec, DLY 10 usec,
     reliability 255/255, txload 1/255, rxload 1/255
  Encapsulation ARPA, loopback not set
  Full-duplex, 1000Mb/s, media type is RJ45
  5 minute input rate 2000 bits/sec, 3 packets/sec
  5 minute output rate 1000 bits/sec, 2 packets/sec
     120 packets input, 9000 bytes, 0 no buffer
     4 input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored
     80 packets output, 7000 bytes, 0 underruns
     2 output errors, 0 collisions, 0 interface resets
GigabitEthernet0/2 is administratively down, line protocol is down
  Hardware is Gigabit Ethernet, address is 0011.2233.4456 (bia 0011.2233.4456)
  MTU 1500 bytes, BW 1000000 Kbit/sec, DLY 10 usec,
"""
TAGS = {"device": "r9", "commune": "11311"}


def _spec(command: str):  # type: ignore[no-untyped-def]
    return next(c for c in load_platforms()["cisco_ios"].commands if c.command == command)


def test_show_interfaces_becomes_if_samples() -> None:
    spec = _spec("show interfaces")
    rows = parse_rows("r9", "cisco_ios", spec, SHOW_INTERFACES)
    up, down = to_samples(spec, rows, TAGS, 5)
    assert up.measurement == "snmp_if" and dict(up.tags) == {**TAGS, "if_name": "GigabitEthernet0/1"}
    assert up.fields["oper_status"] == 1 and up.fields["in_errors"] == 4 and up.fields["out_errors"] == 2
    assert down.fields["oper_status"] == 2 and down.fields["admin_status"] == 2


def test_rejected_command_is_unparseable_with_raw_kept() -> None:
    raw = "show interfaces\n               ^\n% Invalid input detected at '^' marker.\n"
    with pytest.raises(CliUnparseable) as info:
        parse_rows("r9", "cisco_ios", _spec("show interfaces"), raw)
    assert info.value.kind == "unparseable" and info.value.raw == raw
    sample = raw_sample(info.value, TAGS, 5)
    assert sample.measurement == "cli_unparsed" and sample.fields["text"] == raw
    assert sample.tags["command"] == "show interfaces"


def test_output_the_template_does_not_match_is_unparseable() -> None:
    with pytest.raises(CliUnparseable, match="template matched nothing"):
        parse_rows("r9", "cisco_ios", _spec("show interfaces"), "*00:44:17.000 UTC Sun Nov 22 2026\n")


def test_bad_platform_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("name: x\ndevice_type: cisco_ios\ncommands:\n"
                                     "  - {command: show version, measurement: v,\n"
                                     "     fields: {a: {from: b, type: hex}}}\n")
    with pytest.raises(ConfigError) as info:
        load_platforms(tmp_path)
    assert "x.yaml:5" in str(info.value) and "type" in str(info.value)
