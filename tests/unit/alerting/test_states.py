"""State evaluation details: confirmation, parents-first order, flapping, config errors."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alerting.flapping import flap_percent, is_flapping
from alerting.maintenance import MaintenanceWindow
from alerting.rules.config import FlappingRules, RulesConfig, load_rules
from alerting.rules.power import projected_minutes
from alerting.states import StateTracker, Status
from common.errors import ConfigError
from inventory.inventory import Inventory
from tests.unit.alerting.helpers import results

T0 = 1_790_000_000


def test_confirmation_keeps_soft_failures_up(lab_inventory: Inventory) -> None:
    tracker = StateTracker(lab_inventory, RulesConfig(confirm_failures=2))
    tracker.apply(results(lab_inventory, T0), T0)
    tracker.apply(results(lab_inventory, T0 + 30, silent={"p31-dns1"}), T0 + 30)
    assert tracker.states["p31-dns1"].status is Status.UP
    tracker.apply(results(lab_inventory, T0 + 60, silent={"p31-dns1"}), T0 + 60)
    assert tracker.states["p31-dns1"].status is Status.DOWN
    assert tracker.states["p31-dns1"].since == T0 + 60


def test_child_listed_before_parent_is_still_unreachable(lab_inventory: Inventory) -> None:
    tracker = StateTracker(lab_inventory)
    silent = {"p31-agg01", "c10507-r1"}
    cycle = results(lab_inventory, T0, silent=silent)
    reordered = {"c10507-r1": cycle.pop("c10507-r1"), **cycle}  # child first in the mapping
    transitions = tracker.apply(reordered, T0)
    assert tracker.states["c10507-r1"].status is Status.UNREACHABLE
    assert tracker.states["p31-agg01"].status is Status.DOWN
    order = [t.device for t in transitions]
    assert order.index("p31-agg01") < order.index("c10507-r1")


def test_unpolled_child_follows_failed_parent(lab_inventory: Inventory) -> None:
    tracker = StateTracker(lab_inventory)
    tracker.apply(results(lab_inventory, T0), T0)
    only_parent = {"p31-agg01": results(lab_inventory, T0 + 30, silent={"p31-agg01"})["p31-agg01"]}
    tracker.apply(only_parent, T0 + 30)
    assert tracker.states["c10507-bts1"].status is Status.UNREACHABLE


def test_flap_percent_and_hysteresis() -> None:
    rules = FlappingRules()
    assert flap_percent([1] * 21, 21) == 0
    assert flap_percent([0, 1] * 10 + [0], 21) == pytest.approx(100.0)
    assert not is_flapping([1, 1, 0, 0, 1, 1], False, rules)  # one outage and its recovery
    history = [1, 0, 1, 1, 0, 1, 0, 1]  # three brief outages
    assert is_flapping(history, False, rules)
    assert not is_flapping([*history, 0, 0], True, rules)  # silent for longer: settled, down
    calm = history + [1] * 10
    assert is_flapping(calm, True, rules) is (flap_percent(calm, 21) >= rules.stop_pct)
    assert not is_flapping([1, 0], False, rules)  # too few checks


def test_projection_is_least_squares() -> None:
    points = [(T0 + 60 * i, 80.0 - i) for i in range(6)]  # 1 %/min
    assert projected_minutes(points) == pytest.approx(75.0)
    assert projected_minutes([(T0, 50.0), (T0 + 60, 50.0)]) is None


def test_rules_file_errors_name_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("confirm_failures: 2\nflapping:\n  start_pct: 20\n  stop_pct: 40\nbattery:\n"
                    "  fit_window_s: ten\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rules(path)
    text = str(info.value)
    assert "rules.yaml:6: battery.fit_window_s" in text and "'ten'" in text
    assert "rules.yaml:2: flapping" in text and "stop_pct must not be above start_pct" in text
    path.write_text("confirm_failures: 3\n", encoding="utf-8")
    assert load_rules(path).confirm_failures == 3


def test_weekly_maintenance_window_in_local_time() -> None:
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    # Sunday 2026-11-22 01:00–03:00 local = Saturday 18:00–20:00 UTC
    window = MaintenanceWindow(1, "role", "bts", starts_at=0, ends_at=None,
                               recurrence={"weekdays": [6], "start": "01:00", "minutes": 120},
                               reason="bảo dưỡng định kỳ", created_by="op", created_at=0)
    sat_1830_utc = 1795285800  # 2026-11-21 18:30 UTC = Sun 01:30 local
    assert window.active(sat_1830_utc, tz)
    assert not window.active(sat_1830_utc + 2 * 3600, tz)
    assert not window.active(sat_1830_utc - 86400, tz)


def test_real_outages_are_never_flapping_however_many() -> None:
    """Truth bench: a BTS down twice within a minute got 'flapping' and no DOWN; later a third
    real outage within the window (three of ~50 s in 200 s) was held 86 s as 'flapping'."""
    rules = FlappingRules()
    two = [1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0]  # two outages of three polls each, ten polls after start
    assert not is_flapping(two, False, rules)
    three = [*two, 1, 1, 0, 0, 0, 0, 1]
    assert not is_flapping(three, False, rules)
    assert not is_flapping([*three, 0, 1, 0, 0], False, rules)  # the newest is still going on
    toggling = [1, 0] * 4 + [1]
    assert is_flapping(toggling, False, rules)


def test_silences_explained_by_the_parent_do_not_count_as_flapping(lab_inventory: Inventory) -> None:
    """Truth bench: a switch cut twice, then the BTS behind it stopped once, gave the BTS 'flapping'."""
    tracker = StateTracker(lab_inventory)
    bts = next(d for d in lab_inventory.devices.values() if d.id.endswith("-bts1"))
    parent = bts.parents[0]
    t = T0
    for silent in ([], [bts.id, parent], [], [bts.id, parent], [], [bts.id], [bts.id], []):
        tracker.apply(results(lab_inventory, t, silent=set(silent)), t)
        assert not tracker.states[bts.id].flapping, (t, silent)
        t += 30
    assert tracker.states[bts.id].history.count(0) == 2  # only its own outage counted
