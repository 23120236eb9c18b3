"""A staged hour on a four-commune lab, driven through the real alerting core, with known outages.

Every figure the tests expect is worked out by hand here (polls every 30 s,
``confirm_failures`` = 1, so a device is down from the first silent poll and
up again from the first answered one).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from alerting.core import AlertingCore
from alerting.incidents import Condition, IncidentKind, Severity
from alerting.maintenance import MaintenanceRepository
from alerting.repository import IncidentRepository
from inventory.inventory import Inventory
from store.base import MetricStore
from tests.unit.alerting.helpers import results

T0 = 1_790_000_000 - 1_790_000_000 % 3600  # an hour boundary
STEP = 30
END = T0 + 3600
A, B, C, D = "10507", "10525", "10532", "10537"


def silent_at(t: int) -> set[str]:
    """Which devices do not answer at offset ``t``."""
    out: set[str] = set()
    if 300 <= t < 900:  # commune A's access router dies: its three children are cut off
        out |= {f"c{A}-r1", f"c{A}-sw1", f"c{A}-bts1", f"c{A}-pwr1"}
    if 1200 <= t < 1500 or 1980 <= t < 2070:  # commune B's BTS fails twice (300 s, then 90 s)
        out.add(f"c{B}-bts1")
    return out


def if_down_at(t: int) -> dict[str, set[int]]:
    """Link interfaces down at offset ``t``."""
    out: dict[str, set[int]] = {}
    if 2400 <= t < 3000:  # commune A runs on its backup for 600 s
        out[f"c{A}-r1"] = {1}
    if t >= 60:  # commune D's backup link is dead from the first minute on
        out[f"c{D}-r1"] = {2}
    return out


def stage(inventory: Inventory, store: MetricStore, engine: Engine) -> AlertingCore:
    """Run the hour through the alerting core; also record a BTS site on battery twice."""
    MaintenanceRepository(engine).add(scope="device", target=f"c{C}-sw1", starts_at=T0 + 600,
                                      ends_at=T0 + 1800, recurrence=None, reason="thay switch",
                                      created_by="test", now=T0)
    core = AlertingCore(inventory, store, engine)
    for t in range(0, 3600, STEP):
        core.evaluate(results(inventory, T0 + t, silent=silent_at(t), if_down=if_down_at(t)), T0 + t)
    battery(engine, T0 + 1000, T0 + 1600)
    battery(engine, T0 + 3300, None)
    return core


def battery(engine: Engine, opened: int, resolved: int | None) -> None:
    """A bts_on_battery incident on commune C's power system (the power rule's own key and fields)."""
    repo = IncidentRepository(engine)
    cond = Condition(key=f"bts_on_battery:c{C}-pwr1", kind=IncidentKind.BTS_ON_BATTERY,
                     severity=Severity.WARNING, title="mất điện lưới", why="UPS-MIB", since=opened,
                     province="31", commune=C, site=f"c{C}-bts", device=f"c{C}-pwr1")
    with engine.begin() as conn:
        (inc,) = repo.open_many([cond], opened, conn)
        if resolved is not None:
            repo.resolve_many([inc], resolved, conn, "có điện lại")
