"""Runbook pages: the link an alert carries opens the runbook with the incident's own values."""

from __future__ import annotations

import pytest

from api.auth.roles import Role
from lab.runner import stage
from tests.functional.conftest import POLL_INTERVAL_S, Lab, RunningService, wait_for
from tests.functional.web_peers import ensure_user, login

pytestmark = pytest.mark.functional


def test_alert_runbook_link_opens_the_filled_runbook(running: RunningService, healthy_lab: Lab) -> None:
    assert running.client is not None
    code = healthy_lab.inventory.watched_communes[3]
    bts = f"c{code}-bts1"
    stage(healthy_lab.layout.state_dir, bts, silent=True)
    key = f"device_down:{bts}"
    active = running.service.alerting.incidents.active
    incident = wait_for(lambda: active().get(key), 4 * POLL_INTERVAL_S + 12)
    page = running.client.get(f"/{incident.runbook}?incident={incident.id}")
    assert page.status_code == 200
    name = healthy_lab.inventory.commune_ref(code).name
    assert name in page.text and bts in page.text
    assert "(chưa rõ)" not in page.text.split("Liên hệ")[0]  # the incident's values are filled in
    assert running.client.get("/runbooks/device_down.md").status_code == 200  # readable on its own
    assert running.client.get("/runbooks/no_such_kind.md").status_code == 404
    other = healthy_lab.inventory.watched_communes[0]
    ensure_user(running.service, "xa-khac", Role.VIEWER, communes=[other])
    viewer = login(running.url, "xa-khac")
    assert viewer.get(f"/{incident.runbook}?incident={incident.id}").status_code == 404  # not its commune
    viewer.close()
