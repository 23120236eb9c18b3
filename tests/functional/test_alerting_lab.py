"""Incidents from the real lab: staged outages and power loss through SNMP, end to end."""

from __future__ import annotations

import pytest

from alerting.incidents import IncidentKind, Severity
from lab.outages import cut, restore
from lab.runner import stage
from tests.functional.conftest import POLL_INTERVAL_S, Lab, RunningService, wait_for

pytestmark = pytest.mark.functional
SETTLE = 4 * POLL_INTERVAL_S + 12  # cycles run long while silent devices time out


def active(running: RunningService) -> dict:
    assert running.service.alerting is not None
    return running.service.alerting.incidents.active()


def test_aggregation_outage_is_one_incident_plus_summary(running: RunningService, healthy_lab: Lab) -> None:
    wait_for(lambda: not active(running), timeout=30)
    cut(healthy_lab.layout.state_dir, healthy_lab.inventory, "p31-agg01")
    incidents = wait_for(lambda: len(active(running)) >= 2 and active(running), timeout=SETTLE)
    # at a 2 s interval the first cycle of 80 timeouts is itself late: a true poller_degraded warning
    network = {k for k, i in incidents.items() if i.kind is not IncidentKind.POLLER_DEGRADED}
    assert network == {"device_down:p31-agg01", "communes_cut_off:p31-agg01"}
    summary = incidents["communes_cut_off:p31-agg01"]
    assert sorted(summary.affected) == healthy_lab.inventory.watched_communes
    assert summary.runbook == "runbooks/communes_cut_off.md"
    restore(healthy_lab.layout.state_dir, healthy_lab.inventory, "p31-agg01")
    wait_for(lambda: not active(running), timeout=SETTLE)


def test_primary_fibre_down_runs_on_backup(running: RunningService, healthy_lab: Lab) -> None:
    wait_for(lambda: not active(running), timeout=30)
    code = healthy_lab.inventory.watched_communes[1]
    stage(healthy_lab.layout.state_dir, f"c{code}-r1", if_down=[1])
    incidents = wait_for(lambda: active(running), timeout=SETTLE)
    incident = incidents[f"link_on_backup:{code}"]
    assert incident.kind is IncidentKind.LINK_ON_BACKUP and incident.severity is Severity.INFO
    stage(healthy_lab.layout.state_dir, f"c{code}-r1", if_down=[1, 2])
    wait_for(lambda: f"commune_isolated:{code}" in active(running), timeout=SETTLE)
    stage(healthy_lab.layout.state_dir, f"c{code}-r1", if_down=[])
    wait_for(lambda: not active(running), timeout=SETTLE)


def test_mains_lost_gives_battery_incident_with_minutes(running: RunningService, healthy_lab: Lab) -> None:
    wait_for(lambda: not active(running), timeout=30)
    pwr = f"c{healthy_lab.inventory.watched_communes[2]}-pwr1"
    stage(healthy_lab.layout.state_dir, pwr, mains=False, battery_charge=80, drain_per_min=6)
    key = f"bts_on_battery:{pwr}"
    incident = wait_for(lambda: active(running).get(key), timeout=SETTLE + 6)
    assert "đang chạy ắc quy" in incident.title
    assert incident.details["minutes_left"] is not None
    truth_max = 80 / 6
    assert 0 < incident.details["minutes_left"] <= truth_max * 1.1
    stage(healthy_lab.layout.state_dir, pwr, mains=True)
    wait_for(lambda: key not in active(running), timeout=SETTLE)
