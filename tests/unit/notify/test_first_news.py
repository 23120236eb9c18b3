"""First news is not batched: with the shipped timers a post's new problem leaves within seconds.

Issue 16, observation 3: a post's second problem (its BTS down after the on-battery
message) waited 277 s behind ``group_interval``. Follow-ups (severity changes,
recoveries of known problems) are still batched.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from alerting.core import AlertingCore
from alerting.notify.config import Timers
from alerting.notify.facade import NotifyService
from alerting.repository import IncidentRepository
from inventory.inventory import Inventory
from store.base import Sample
from store.sqlite import SqliteMetricStore
from tests.unit.alerting.helpers import results
from tests.unit.notify.conftest import T0, TZ, config

POLL_S = 30
FIRST_NEWS_BUDGET_S = 10  # poll interval + 10 s overall; detection takes the poll interval


class World:
    """The real core and notifier on a simulated clock that moves one second at a time."""

    def __init__(self, inv: Inventory, store: SqliteMetricStore, db: Engine) -> None:
        self.inv, self.store, self.t = inv, store, T0
        self.svc = NotifyService.build(
            db, inv, config(timers=Timers()), incidents=IncidentRepository(db), base_url="http://127.0.0.1:8000",
            timezone=TZ, clock=self.now,
        )
        self.core = AlertingCore(inv, store, db, subscribers=[self.svc.subscriber])
        self.silent: set[str] = set()
        self.on_battery: set[str] = set()
        self.core(results(inv, self.t))

    def now(self) -> float:
        return self.t

    def run(self, seconds: int) -> None:
        """Advance the clock: a poll every 30 s, the notifier's timers every second."""
        for _ in range(seconds):
            self.t += 1
            if (self.t - T0) % POLL_S == 0:
                self.store.write([self._ups(pwr) for pwr in self.on_battery])
                self.core(results(self.inv, self.t, silent=self.silent))
            self.svc.tick(self.t)

    def _ups(self, pwr: str) -> Sample:
        fields = {"output_source": 5, "seconds_on_battery": 60, "charge_pct": 80.0, "minutes_remaining": 200}
        return Sample("ups", {"device": pwr}, fields, self.t)

    def rows(self, post: str) -> list[dict]:
        """Outbox rows for a post, oldest first."""
        return list(reversed(self.svc.outbox.list(post=post, limit=1000)[0]))

    def opened_at(self, key: str) -> int | None:
        inc = self.svc.notifier.repo.active().get(key)
        return inc.opened_at if inc else None


def test_shipped_group_wait_is_a_few_seconds() -> None:
    assert Timers().group_wait_s <= 5
    assert Timers().group_interval_s >= 60  # follow-ups are still batched


def test_second_problem_of_a_post_is_not_held_behind_group_interval(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    world = World(lab_inventory, store, db)
    code = lab_inventory.watched_communes[2]
    post, bts = f"commune:{code}", f"c{code}-bts1"
    world.on_battery.add(f"c{code}-pwr1")
    world.run(3 * POLL_S)
    first = world.rows(post)
    assert len(first) == 1, first  # the on-battery message
    world.run(POLL_S)  # the post has just heard from Trucban: group_interval is running
    world.silent.add(bts)
    for _ in range(6 * POLL_S):
        world.run(1)
        if world.opened_at(f"device_down:{bts}") is not None:
            break
    opened = world.opened_at(f"device_down:{bts}")
    assert opened is not None
    world.run(FIRST_NEWS_BUDGET_S)
    later = world.rows(post)[1:]
    assert later, f"no message within {FIRST_NEWS_BUDGET_S} s of the BTS going down"
    assert later[0]["created_at"] - opened <= Timers().group_wait_s + 1, later[0]


def test_recovery_of_a_known_problem_is_still_batched(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    world = World(lab_inventory, store, db)
    code = lab_inventory.watched_communes[3]
    post, bts = f"commune:{code}", f"c{code}-bts1"
    world.silent.add(bts)
    world.run(4 * POLL_S)
    assert len(world.rows(post)) == 1
    sent_at = world.rows(post)[0]["created_at"]
    world.silent.clear()
    world.run(2 * POLL_S)
    assert len(world.rows(post)) == 1  # the RECOVERED waits for group_interval after the DOWN
    world.run(Timers().group_interval_s)
    rows = world.rows(post)
    assert len(rows) == 2 and "PHỤC HỒI" in rows[1]["subject"]
    assert rows[1]["created_at"] - sent_at >= Timers().group_interval_s
