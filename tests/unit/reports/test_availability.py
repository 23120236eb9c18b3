"""Report figures on the staged hour match the hand-computed values to the second."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from inventory.inventory import Inventory
from reports import build_report
from reports.incident_time import union_seconds
from store.sqlite import SqliteMetricStore
from tests.unit.reports.scenario import END, T0, A, B, C, D, stage


@pytest.fixture()
def report(report_inventory: Inventory, metric_store: SqliteMetricStore, engine: Engine):  # type: ignore[no-untyped-def]
    stage(report_inventory, metric_store, engine)
    return build_report(engine, report_inventory, T0, END, store=metric_store, now=END)


def test_parent_outage_counts_for_the_parent_only(report) -> None:  # type: ignore[no-untyped-def]
    r1 = report.devices[f"c{A}-r1"]
    assert (r1.available_s, r1.down_s, r1.outages, r1.mttr_s) == (3000, 600, 1, 600)
    assert r1.availability == pytest.approx(3000 / 3600)
    assert r1.caused_unreachable_s == 3 * 600  # switch, BTS and power system cut off for 600 s
    bts = report.devices[f"c{A}-bts1"]
    assert (bts.unreachable_s, bts.down_s, bts.observed_s, bts.availability) == (600, 0, 3000, 1.0)
    agg = report.devices["p31-agg01"]
    assert (agg.availability, agg.caused_unreachable_s) == (1.0, 0)


def test_two_bts_outages_and_mttr(report) -> None:  # type: ignore[no-untyped-def]
    bts = report.devices[f"c{B}-bts1"]
    assert (bts.down_s, bts.outages, bts.longest_outage_s, bts.mttr_s) == (390, 2, 300, 195)
    assert bts.availability == pytest.approx(3210 / 3600)


def test_maintenance_is_excluded(report) -> None:  # type: ignore[no-untyped-def]
    sw = report.devices[f"c{C}-sw1"]
    assert (sw.maintenance_s, sw.available_s, sw.observed_s, sw.availability) == (1200, 2400, 2400, 1.0)


def test_commune_groups_pool_seconds_with_backup_and_battery(report) -> None:  # type: ignore[no-untyped-def]
    communes = {g.key: g for g in report.groups("commune")}
    a = communes[A]
    # commune A also holds the city's data centre and DNS site (five devices up all hour)
    assert (a.devices, a.available_s, a.down_s, a.unreachable_s, a.outages) == (9, 30000, 600, 1800, 1)
    assert a.availability == pytest.approx(30000 / 30600)
    assert a.backup_s == 600  # primary fibre down 2400–3000
    assert communes[C].battery_s == 600 + 300  # 1000–1600, then 3300 to the end of the period
    assert report.devices[f"c{C}-pwr1"].battery_s == 900
    assert communes[D].backup_s == 0 and communes[B].battery_s == 0
    roles = {g.key: g for g in report.groups("role")}
    assert roles["bts"].outages == 2 and roles["bts"].down_s == 390
    assert roles["router"].down_s == 600
    total = report.total()
    assert total.down_s == 990 and total.outages == 3 and total.mttr_s == pytest.approx(330)


def test_indicators(report) -> None:  # type: ignore[no-untyped-def]
    ind = report.indicators
    assert (ind.communes_with_bts, ind.communes_bts_up_throughout) == (4, 2)  # C and D
    assert (ind.bts, ind.bts_hardened) == (4, 4)
    assert (ind.communes_with_backup, ind.communes_backup_working) == (4, 3)  # D's backup is dead
    assert ind.as_dict()["share_communes_bts_up_throughout"] == 0.5


def test_report_of_a_sub_period_clips_intervals(report_inventory: Inventory, metric_store: SqliteMetricStore,
                                                engine: Engine) -> None:
    stage(report_inventory, metric_store, engine)
    part = build_report(engine, report_inventory, T0 + 600, T0 + 1300, now=END)
    r1 = part.devices[f"c{A}-r1"]
    assert (r1.down_s, r1.available_s, r1.outages) == (300, 400, 1)
    bts = part.devices[f"c{B}-bts1"]
    assert (bts.down_s, bts.available_s) == (100, 600)
    assert part.battery_commune_s[C] == 300


def test_union_seconds_merges_overlaps() -> None:
    assert union_seconds([(0, 10), (5, 20), (30, 40)]) == 30
    assert union_seconds([]) == 0


def test_bad_period_is_refused(report_inventory: Inventory, engine: Engine) -> None:
    with pytest.raises(ValueError, match="must end after"):
        build_report(engine, report_inventory, T0, T0)
