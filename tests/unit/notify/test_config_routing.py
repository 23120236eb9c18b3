"""Routes as data: validation errors with file/line/field; commune vs city routing; channel chains."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerting.incidents import Incident, IncidentKind, IncidentStatus, Severity
from alerting.notify.config_load import load_notify_config
from alerting.notify.routing import Router, in_window
from common.errors import ConfigError
from inventory.inventory import Inventory
from tests.unit.notify.conftest import T0, TZ, config


def incident(
    inv: Inventory,
    device: str,
    kind: IncidentKind = IncidentKind.DEVICE_DOWN,
    severity: Severity = Severity.MAJOR,
    **kw: object,
) -> Incident:
    site = inv.sites[inv.devices[device].site]
    values: dict = dict(
        id=1,
        key=f"{kind.value}:{device}",
        kind=kind,
        severity=severity,
        status=IncidentStatus.OPEN,
        title=f"Mất kết nối: {device}",
        why="không trả lời",
        runbook=f"runbooks/{kind.value}.md",
        opened_at=T0,
        updated_at=T0,
        province="31",
        commune=site.commune,
        site=site.id,
        device=device,
    )
    values.update(kw)
    return Incident(**values)


def test_bad_routes_file_names_file_line_field_value(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(
        "channels:\n"
        "  sms: {kind: sms, url: 'smsgw://${SMS_KEY}@gw.example.vn/{target}'}\n"
        "  mail: {kind: e-mail, url: 'mailtos://u:p@h/?to={target}'}\n"
        "routes:\n"
        "  - match: {scope: commune, min_severity: urgent, hours: '25:00-06:00'}\n"
        "    to: [commune, nobody]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_notify_config(path, env={})
    text = str(err.value)
    assert f"{path}:2: channels.sms.url: environment variable not set (value: '${{SMS_KEY}}')" in text
    assert f"{path}:3: channels.mail.kind" in text
    assert "routes.0.match.min_severity" in text and "routes.0.match.hours" in text
    assert "u:p@" not in text  # a URL's secrets never appear in an error


def test_unknown_post_and_channel_references(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(
        "channels:\n  sms: {kind: sms, url: 'smsgw://${SMS_KEY}@gw.example.vn/{target}'}\n"
        "routes:\n  - to: [commune, nobody]\n    channels: [sms, fax]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_notify_config(path, env={"SMS_KEY": "k-secret-123"})
    text = str(err.value)
    assert f"{path}:4: routes.0.to.1: unknown post" in text
    assert f"{path}:5: routes.0.channels.1: unknown channel" in text
    assert "k-secret-123" not in text


def test_commune_incident_to_its_post_city_incident_to_noc(lab_inventory: Inventory) -> None:
    router = Router(lab_inventory, config(), TZ)
    code = lab_inventory.watched_communes[2]
    assert router.posts_for(incident(lab_inventory, f"c{code}-bts1"), T0) == [f"commune:{code}"]
    assert router.posts_for(incident(lab_inventory, "p31-agg01"), T0) == ["noc"]
    assert router.posts_for(incident(lab_inventory, "p31-dns1", severity=Severity.CRITICAL), T0) == ["noc"]
    (delivery,) = router.deliveries(f"commune:{code}")
    assert delivery.chain == (("email", f"trucban.{code}@lab.invalid"),)
    assert router.escalation_chain(f"commune:{code}") == ["noc", "coordinators"]
    assert router.escalation_chain("noc") == ["coordinators"]


def test_warning_only_by_day_for_communes(lab_inventory: Inventory) -> None:
    router = Router(lab_inventory, config(), TZ)
    code = lab_inventory.watched_communes[0]
    warn = incident(lab_inventory, f"c{code}-sw1", severity=Severity.WARNING)
    night = T0  # 21:13 local → inside 06:00-22:00
    assert router.posts_for(warn, night) == [f"commune:{code}"]
    assert router.posts_for(warn, night + 3600) == []  # 22:13: only MAJOR and above wake people
    assert router.posts_for(incident(lab_inventory, f"c{code}-sw1", severity=Severity.INFO), night) == []
    assert in_window("22:00-06:00", T0 + 3600, TZ) and not in_window("06:00-22:00", T0 + 3600, TZ)
