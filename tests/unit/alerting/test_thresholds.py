"""Thresholds given to the core at construction: typhoon mode shifts battery thresholds through them."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from alerting.core import AlertingCore
from alerting.rules.config import RulesConfig
from alerting.rules.thresholds import StormThresholds, battery_shifted
from inventory.inventory import Inventory
from store.sqlite import SqliteMetricStore
from tests.unit.alerting.helpers import results

T0 = 1_790_000_000
BASE = RulesConfig.model_validate({"battery": {"warn_minutes": {"default": 60, "4": 40},
                                               "critical_minutes": {"default": 30}}})


def test_battery_shift_moves_every_battery_threshold_and_nothing_else() -> None:
    shifted = battery_shifted(BASE, 30)
    assert (shifted.battery.warn_for(4), shifted.battery.warn_for(None), shifted.battery.critical_for(2)) == (
        70, 90, 60)
    assert shifted.model_copy(update={"battery": BASE.battery}) == BASE
    assert battery_shifted(BASE, 0) is BASE


def test_storm_thresholds_follow_the_declaration_and_keep_one_copy_per_shift() -> None:
    storm = {"minutes": 0.0}
    at = StormThresholds(BASE, lambda _now: storm["minutes"])
    assert at(T0) is BASE
    storm["minutes"] = 30.0
    first = at(T0 + 1)
    assert first.battery.warn_for(None) == 90 and at(T0 + 2) is first
    storm["minutes"] = 0.0
    assert at(T0 + 3) is BASE


def test_core_asks_its_thresholds_at_each_evaluation_and_keeps_the_last_on_failure(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    asked: list[int] = []
    shifted = battery_shifted(BASE, 30)

    def thresholds(now: int) -> RulesConfig:
        asked.append(now)
        if now == T0 + 60:
            raise RuntimeError("typhoon table unreadable")
        return shifted if now >= T0 + 30 else BASE

    seen: list[int] = []
    core = AlertingCore(lab_inventory, store, db, rules=BASE, thresholds=thresholds,
                        subscribers=[lambda changes: seen.append(len(changes))])
    core(results(lab_inventory, T0))
    assert core.in_force is BASE
    core(results(lab_inventory, T0 + 30))
    assert core.in_force is shifted and core.tracker.rules is BASE  # states keep the rules file
    core(results(lab_inventory, T0 + 60))  # the provider fails: evaluation goes on with the last ones
    assert core.in_force is shifted and asked == [T0, T0 + 30, T0 + 60] and len(seen) == 3
    assert isinstance(core.subscribers, tuple)  # given at construction, not appended to later
