"""Profiles as data: inheritance, poll classes, selection, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.snmp.profile import load_profiles, profile_for
from common.errors import ConfigError
from inventory.model import Device


def device(role: str, profile: str | None = None) -> Device:
    snmp = {"credential": "c", **({"profile": profile} if profile else {})}
    return Device.model_validate({"id": "d1", "name": "d", "site": "s", "role": role,
                                  "address": "127.0.0.1", "snmp": snmp})


def test_builtin_profiles_load_and_select() -> None:
    profiles = load_profiles()
    assert profile_for(device("power"), profiles).name == "ups"
    assert profile_for(device("dns"), profiles).name == "server"
    assert profile_for(device("router"), profiles).name == "entity-sensor"
    assert profile_for(device("bts"), profiles).name == "base"
    eltek = (1, 3, 6, 1, 4, 1, 12148, 10)
    assert profile_for(device("power"), profiles, eltek).name == "eltek-smartpack"
    assert profile_for(device("bts", "ups"), profiles, eltek).name == "ups"  # inventory wins


def test_poll_classes_split_a_profile() -> None:
    ups = load_profiles()["ups"]
    # on battery or not is read with every reachability poll of a power system
    assert set(ups.part(frozenset({"reachability"})).scalars) == {"snmp_system", "ups"}
    health = ups.part(frozenset({"health"}))
    assert "ups" not in health.scalars and "snmp_system_info" not in health.scalars
    assert {t.measurement for t in health.tables} == {"snmp_if", "ups_input"}
    inventory = ups.part(frozenset({"inventory"}))
    assert set(inventory.scalars) == {"snmp_system_info", "ups_info"}


def test_bad_profile_names_file_line_and_value(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "name: bad\nscalars:\n  x:\n    y: 1.3.6.1.2.1.1.3\n", encoding="utf-8")
    (tmp_path / "orphan.yaml").write_text("name: orphan\nextends: nowhere\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_profiles(tmp_path)
    text = str(err.value)
    assert "bad.yaml:4" in text and "must end in .0" in text and "scalars.x.y" in text
    assert "orphan.yaml:2" in text and "nowhere" in text


def test_unknown_profile_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="d1: unknown SNMP profile 'nope'"):
        profile_for(device("router", "nope"), load_profiles())
