"""The IPv6 view over HTTP: readiness counts match the inventory; scope is enforced."""

from __future__ import annotations

import pytest

from api.auth.roles import Role
from tests.functional.conftest import Lab, RunningService
from tests.functional.web_peers import ensure_user, login

pytestmark = pytest.mark.functional


def test_ipv6_readiness_over_http(running: RunningService, healthy_lab: Lab) -> None:
    body = running.get("/api/ipv6").json()
    readiness = body["readiness"]
    assert readiness["devices"] == len(healthy_lab.inventory.devices)
    assert readiness["managed_ipv6"] == 0  # the lab is IPv4-managed
    assert readiness["share_managed_ipv6"] == 0.0
    code = healthy_lab.inventory.watched_communes[0]
    ensure_user(running.service, "xa-ipv6", Role.VIEWER, communes=[code])
    viewer = login(running.url, "xa-ipv6")
    scoped = viewer.get("/api/ipv6").json()["readiness"]
    assert scoped["devices"] == len(healthy_lab.inventory.devices_by_commune[code])
    viewer.close()
