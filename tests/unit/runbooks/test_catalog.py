"""Runbook validation: coverage of every incident kind, front-matter, placeholders, links."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from alerting.incidents import IncidentKind
from common.errors import ConfigError
from runbooks.catalog import PROCEDURES, expected_kinds, load_catalog, runbook_dir


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped runbooks."""
    target = tmp_path / "runbooks"
    target.mkdir()
    for path in runbook_dir().glob("*.md"):
        shutil.copy(path, target / path.name)
    return target


def test_every_incident_kind_and_procedure_has_a_valid_runbook() -> None:
    catalog = load_catalog()
    assert set(catalog.runbooks) == {k.value for k in IncidentKind} | set(PROCEDURES)
    for kind in IncidentKind:
        book = catalog.get(kind.value)
        assert book.link == f"runbooks/{kind.value}.md"  # what Condition.runbook points at
        for section in ("## Ý nghĩa", "## Kiểm tra đầu tiên", "## Liên hệ", "## Chuyển cấp", "## Đóng sự cố"):
            assert section in book.body, (kind, section)
        assert "{{ contacts }}" in book.body or "{{ noc_contacts }}" in book.body


def test_a_missing_runbook_is_named(copy: Path) -> None:
    (copy / "battery_low.md").unlink()
    with pytest.raises(ConfigError) as err:
        load_catalog(copy)
    assert "battery_low.md: (file): missing runbook" in str(err.value)


def test_a_broken_body_link_names_file_and_line(copy: Path) -> None:
    path = copy / "device_down.md"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.append("Xem thêm [hướng dẫn cũ](old_device_down.md).")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_catalog(copy)
    expected = f"device_down.md:{len(lines)}: link: link does not resolve to a file"
    assert f"{expected} (value: 'old_device_down.md')" in str(err.value)


def test_a_broken_front_matter_link_and_bad_severity_name_their_lines(copy: Path) -> None:
    path = copy / "flapping.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("severity: warning", "severity: urgent"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_catalog(copy)
    assert "flapping.md:5: severity:" in str(err.value) and "'urgent'" in str(err.value)
    path.write_text(text.replace("links: [device_down.md", "links: [nowhere.md"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_catalog(copy)
    assert "flapping.md:6: links.0: link does not resolve to a file (value: 'nowhere.md')" in str(err.value)


def test_unknown_placeholder_kind_mismatch_and_missing_front_matter(copy: Path) -> None:
    (copy / "site_alarm.md").write_text(
        (copy / "site_alarm.md").read_text(encoding="utf-8").replace("{{ site }}", "{{ site_name }}", 1),
        encoding="utf-8")
    (copy / "dns_no_ipv6.md").write_text(
        (copy / "dns_no_ipv6.md").read_text(encoding="utf-8").replace("kind: dns_no_ipv6", "kind: dns_v6"),
        encoding="utf-8")
    (copy / "typhoon_recovery.md").write_text("# Khôi phục\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_catalog(copy)
    text = str(err.value)
    assert "placeholder: unknown placeholder" in text and "'site_name'" in text
    assert "dns_no_ipv6.md:2: kind: must match the file name ('dns_no_ipv6')" in text
    assert "typhoon_recovery.md:1: (front-matter)" in text


def test_required_kinds_list_is_the_enum_plus_procedures() -> None:
    assert expected_kinds()[: len(IncidentKind)] == [k.value for k in IncidentKind]
    assert expected_kinds()[-2:] == list(PROCEDURES)
