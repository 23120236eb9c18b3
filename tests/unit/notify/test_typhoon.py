"""Typhoon mode: declaration with a readiness report, digests, shifted thresholds, recovery summary."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from alerting.core import AlertingCore
from alerting.network_view import TrackedNetwork
from alerting.notify.facade import NotifyService
from alerting.notify.typhoon import TyphoonError
from alerting.repository import IncidentRepository
from alerting.rules.config import RulesConfig
from alerting.rules.thresholds import StormThresholds
from inventory.inventory import Inventory
from store.base import Sample
from store.sqlite import SqliteMetricStore
from tests.unit.alerting.helpers import results
from tests.unit.notify.conftest import T0, TZ, config


def test_typhoon_declare_digest_shift_and_summary(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    clock = [T0]
    svc = NotifyService.build(  # built first, as at the composition root: the core is given its subscriber
        db,
        lab_inventory,
        config(typhoon={"digest_every_s": 600, "poll_interval_s": 10}),
        incidents=IncidentRepository(db),
        base_url="http://x",
        timezone=TZ,
        view=lambda: TrackedNetwork(core.tracker, store),
        clock=lambda: clock[0],
    )
    core = AlertingCore(lab_inventory, store, db, subscribers=[svc.subscriber],
                        thresholds=StormThresholds(RulesConfig(), svc.typhoon.battery_shift))
    a, b = lab_inventory.watched_communes[:2]
    store.write(
        [
            Sample("ups", {"device": f"c{a}-pwr1"}, {"output_source": 3, "charge_pct": 100.0}, T0),
            Sample(
                "ups",
                {"device": f"c{b}-pwr1"},
                {"output_source": 5, "charge_pct": 70.0, "seconds_on_battery": 60},
                T0,
            ),
        ]
    )
    core(results(lab_inventory, T0, silent={f"c{b}-bts1"}, if_down={f"c{a}-r1": {2}}))

    with pytest.raises(TyphoonError, match="unknown"):
        svc.declare_typhoon("Yagi", by="ĐP", ends_at=T0 + 7200, communes=["99999"])
    decl = svc.declare_typhoon("Yagi", by="Điều phối viên", ends_at=T0 + 7200, province="31")
    ready = decl.readiness
    assert f"c{a}-pwr1" in ready["mains_full"] and f"c{b}-pwr1" in ready["on_battery"]
    assert f"c{b}-bts1" in ready["down"] and a in ready["backup_missing"] and b in ready["backup_ok"]
    assert svc.typhoon_status()["active"] and svc.typhoon.poll_interval(T0) == 10
    assert svc.typhoon.battery_shift(T0) == 30
    core(results(lab_inventory, T0 + 1, silent={f"c{b}-bts1"}))  # evaluation reads the shifted thresholds
    assert core.in_force.battery.warn_for(4) == RulesConfig().battery.warn_for(4) + 30
    assert core.in_force.battery.critical_for(4) == RulesConfig().battery.critical_for(4) + 30
    with pytest.raises(TyphoonError, match="already"):
        svc.declare_typhoon("Noru", by="ĐP", ends_at=T0 + 7200, province="31")

    rows = svc.outbox_page()["items"]
    assert {(r["post"], r["kind"]) for r in rows} == {("coordinators", "readiness"), ("noc", "readiness")}
    assert "Sẵn sàng" in rows[0]["subject"]
    for minute in range(1, 22):
        clock[0] = T0 + minute * 60
        core(results(lab_inventory, clock[0], silent={f"c{b}-bts1"}))
        svc.tick(clock[0])
    digests = [r for r in svc.outbox_page()["items"] if r["kind"] == "digest"]
    assert len(digests) == 4  # every 10 minutes, to coordinators and the NOC
    assert "cô lập" in digests[0]["subject"]

    ended = svc.end_typhoon(by="Điều phối viên")
    assert ended.summary is not None and ended.summary["open"] == 2 and "Bão Yagi" in ended.summary["text"]
    assert not svc.typhoon_status()["active"] and svc.typhoon.battery_shift(clock[0]) == 0
    core(results(lab_inventory, clock[0] + 1, silent={f"c{b}-bts1"}))
    assert core.in_force == RulesConfig()
    assert any(r["kind"] == "summary" for r in svc.outbox_page()["items"])
