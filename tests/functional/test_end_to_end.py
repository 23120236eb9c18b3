"""The whole thin path on real UDP: snmpsim agents → poller → states → HTTP API and page."""

from __future__ import annotations

import pytest

from lab.outages import cut, restore
from lab.runner import stage
from tests.functional.conftest import POLL_INTERVAL_S, Lab, RunningService, wait_for

pytestmark = pytest.mark.functional
TWO_INTERVALS = 2 * POLL_INTERVAL_S + 3  # + the SNMP timeout and retry of the silent device


def communes(running: RunningService) -> dict[str, dict]:
    return {c["code"]: c for c in running.get("/api/communes").json()}


def all_ok(running: RunningService) -> bool:
    return all(c["status"] == "ok" for c in communes(running).values())


def test_every_commune_comes_up(running: RunningService, healthy_lab: Lab) -> None:
    wait_for(lambda: all_ok(running), timeout=30)
    data = communes(running)
    assert set(data) == set(healthy_lab.inventory.watched_communes)
    for c in data.values():
        assert c["devices"] == {"up": 4, "degraded": 0, "down": 0, "unreachable": 0, "maintenance": 0,
                                "unknown": 0}
    poller = running.get("/api/poller").json()
    assert poller["devices"] == len(healthy_lab.inventory.devices)
    assert poller["ok"] == poller["devices"]


def test_access_router_outage_turns_commune_red_and_children_unreachable(
    running: RunningService, healthy_lab: Lab
) -> None:
    wait_for(lambda: all_ok(running), timeout=30)
    code = healthy_lab.inventory.watched_communes[2]
    router = f"c{code}-r1"
    silenced = cut(healthy_lab.layout.state_dir, healthy_lab.inventory, router)
    assert len(silenced) == 4

    red = wait_for(lambda: communes(running)[code]["status"] == "isolated" and communes(running)[code],
                   timeout=TWO_INTERVALS)
    assert red["devices"] == {"up": 0, "degraded": 0, "down": 1, "unreachable": 3, "maintenance": 0,
                              "unknown": 0}
    devices = {d["id"]: d for d in running.get(f"/api/devices?commune={code}").json()}
    assert devices[router]["status"] == "down"
    assert devices[f"c{code}-bts1"]["status"] == "unreachable"
    assert router in devices[f"c{code}-bts1"]["reason"]
    others = [c for k, c in communes(running).items() if k != code]
    assert all(c["status"] == "ok" for c in others)

    restore(healthy_lab.layout.state_dir, healthy_lab.inventory, router)
    wait_for(lambda: communes(running)[code]["status"] == "ok", timeout=TWO_INTERVALS)


def test_aggregation_router_outage_cuts_off_its_communes_not_the_city(
    running: RunningService, healthy_lab: Lab
) -> None:
    wait_for(lambda: all_ok(running), timeout=30)
    cut(healthy_lab.layout.state_dir, healthy_lab.inventory, "p31-agg01")
    wait_for(lambda: all(c["status"] == "isolated" for c in communes(running).values()),
             timeout=TWO_INTERVALS)
    devices = {d["id"]: d for d in running.get("/api/devices").json()}
    assert devices["p31-agg01"]["status"] == "down"
    assert devices["p31-core1"]["status"] == "up"
    access = [d for d in devices.values() if d["id"].endswith("-r1")]
    assert access and all(d["status"] == "unreachable" for d in access)
    restore(healthy_lab.layout.state_dir, healthy_lab.inventory, "p31-agg01")
    wait_for(lambda: all_ok(running), timeout=TWO_INTERVALS)


def test_silent_bts_marks_commune_down_and_page_shows_it(
    running: RunningService, healthy_lab: Lab
) -> None:
    wait_for(lambda: all_ok(running), timeout=30)
    code = healthy_lab.inventory.watched_communes[0]
    stage(healthy_lab.layout.state_dir, f"c{code}-bts1", silent=True)
    red = wait_for(lambda: communes(running)[code]["status"] == "down" and communes(running)[code],
                   timeout=TWO_INTERVALS)
    assert red["problem_devices"] == [f"c{code}-bts1"]
    page = running.get("/")
    assert page.status_code == 200
    assert "Có thiết bị mất kết nối" in page.text
    assert f'id="c-{code}" data-status="down"' in page.text
    assert "Hải Phòng" in page.text


def test_api_errors_are_clear(running: RunningService) -> None:
    response = running.get("/api/communes/99999")
    assert response.status_code == 404
    assert "99999" in response.json()["detail"]
    assert running.get("/api/devices?commune=00000").status_code == 404
