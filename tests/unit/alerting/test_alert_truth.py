"""Issue 16's observations 1 and 2 on the alerting core: late results, unobservable devices.

1. A result taken before a device died, applied after it was found dead, must
   not bring it "back up" (nor a timeout taken before a restore take it down).
2. A power system on battery that stops answering, or is cut off behind its
   router, keeps its on-battery incident (last known, counting down); a
   device already down whose parent then fails keeps its device_down.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.engine import Engine

from alerting.core import AlertingCore
from alerting.manager import ChangeKind
from alerting.states import Status
from inventory.inventory import Inventory
from store.base import Sample
from store.sqlite import SqliteMetricStore
from tests.unit.alerting.helpers import results

T0 = 1_790_000_000
STEP = 30


def _bts_site(inv: Inventory) -> tuple[str, str]:
    code = inv.watched_communes[1]
    return f"c{code}-pwr1", f"c{code}-r1"


def test_late_good_result_does_not_undo_a_newer_down(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core = AlertingCore(lab_inventory, store, db)
    pwr, _ = _bts_site(lab_inventory)
    core(results(lab_inventory, T0))
    old_ok = replace(results(lab_inventory, T0 + 5)[pwr], observed=T0 + 5)  # taken before it died
    core(results(lab_inventory, T0 + STEP, silent={pwr}))
    assert core.tracker.states[pwr].status is Status.DOWN
    changes = core.evaluate({pwr: old_ok}, T0 + STEP + 27)  # handed over late
    assert changes == []
    assert core.tracker.states[pwr].status is Status.DOWN
    assert core.tracker.stale_results == 1
    assert f"device_down:{pwr}" in core.incidents.active()


def test_late_timeout_does_not_take_a_restored_device_down(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core = AlertingCore(lab_inventory, store, db)
    pwr, _ = _bts_site(lab_inventory)
    core(results(lab_inventory, T0))
    core(results(lab_inventory, T0 + STEP, silent={pwr}))
    old_timeout = replace(results(lab_inventory, T0 + 2 * STEP, silent={pwr})[pwr], observed=T0 + 2 * STEP)
    restored = core(results(lab_inventory, T0 + 2 * STEP + 5))
    assert [c.kind for c in restored] == [ChangeKind.RESOLVED]
    assert core.evaluate({pwr: old_timeout}, T0 + 2 * STEP + 8) == []
    assert core.tracker.states[pwr].status is Status.UP


def _on_battery(store: SqliteMetricStore, pwr: str, ts: int, charge: float) -> None:
    store.write([Sample("ups", {"device": pwr}, {"output_source": 5, "seconds_on_battery": ts - T0,
                                                 "charge_pct": charge, "minutes_remaining": 50}, ts)])


def test_battery_incident_survives_a_silent_power_system(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    resolved: list[str] = []
    core = AlertingCore(lab_inventory, store, db, subscribers=[
        lambda cs: resolved.extend(c.incident.key for c in cs if c.kind is ChangeKind.RESOLVED)])
    pwr, router = _bts_site(lab_inventory)
    key = f"bts_on_battery:{pwr}"
    _on_battery(store, pwr, T0, 80.0)
    core(results(lab_inventory, T0))
    assert key in core.incidents.active()
    resolved.clear()  # only what the site going dark resolves
    core(results(lab_inventory, T0 + STEP, silent={pwr}))  # the BTS site goes dark
    core(results(lab_inventory, T0 + 2 * STEP, silent={pwr, router}))  # and its router with it
    assert core.tracker.states[pwr].status is Status.UNREACHABLE
    later = T0 + 20 * 60
    core(results(lab_inventory, later, silent={pwr, router}))
    incident = core.incidents.active()[key]
    assert resolved == []
    assert incident.details["last_known"] is True
    assert incident.details["minutes_left"] == 30.0  # 50 at the last reading, 20 minutes ago
    assert "ước tính lúc" in incident.title and "không còn theo dõi được" in incident.why
    store.write([Sample("ups", {"device": pwr}, {"output_source": 3, "charge_pct": 60.0}, later + STEP)])
    core(results(lab_inventory, later + STEP))  # seen again, on mains
    assert key in resolved and key not in core.incidents.active()


def test_down_device_cut_off_by_its_parent_keeps_its_incident(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core = AlertingCore(lab_inventory, store, db)
    pwr, router = _bts_site(lab_inventory)
    core(results(lab_inventory, T0))
    core(results(lab_inventory, T0 + STEP, silent={pwr}))
    changes = core(results(lab_inventory, T0 + 2 * STEP, silent={pwr, router}))
    assert core.tracker.states[pwr].status is Status.UNREACHABLE
    assert all(c.kind is not ChangeKind.RESOLVED for c in changes)
    incident = core.incidents.active()[f"device_down:{pwr}"]
    assert "không còn theo dõi được" in incident.why and "Router" in incident.why
    changes = core(results(lab_inventory, T0 + 3 * STEP, silent={pwr}))  # router back, pwr still dead
    assert f"device_down:{pwr}" in core.incidents.active()
    assert all(c.incident.key != f"device_down:{pwr}" or c.kind is ChangeKind.UPDATED for c in changes)


def test_down_reason_is_vietnamese(lab_inventory: Inventory, store: SqliteMetricStore, db: Engine) -> None:
    core = AlertingCore(lab_inventory, store, db)
    pwr, _ = _bts_site(lab_inventory)
    core(results(lab_inventory, T0))
    core(results(lab_inventory, T0 + STEP, silent={pwr}))  # the collector's error text is English
    assert core.tracker.states[pwr].reason == "không trả lời (hết thời gian chờ)"
    assert core.incidents.active()[f"device_down:{pwr}"].why == "không trả lời (hết thời gian chờ)"


def test_on_backup_stays_while_its_router_cannot_be_seen(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core = AlertingCore(lab_inventory, store, db)
    _, router = _bts_site(lab_inventory)
    commune = router.removeprefix("c").removesuffix("-r1")
    key = f"link_on_backup:{commune}"
    core(results(lab_inventory, T0))
    core(results(lab_inventory, T0 + STEP, if_down={router: {1}}))
    assert key in core.incidents.active()
    changes = core(results(lab_inventory, T0 + 2 * STEP, silent={router}))
    assert all(c.incident.key != key or c.kind is not ChangeKind.RESOLVED for c in changes)
    assert "lần cuối" in core.incidents.active()[key].why
    core(results(lab_inventory, T0 + 3 * STEP))  # router answers, primary seen up
    assert key not in core.incidents.active()
