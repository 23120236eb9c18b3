"""Grouping, dedup, recovery, restart and escalation, driven through the real alerting core."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from alerting.core import AlertingCore
from alerting.notify.facade import NotifyService
from alerting.repository import IncidentRepository
from inventory.inventory import Inventory
from lab.outages import behind
from store.base import Sample
from store.sqlite import SqliteMetricStore
from tests.unit.alerting.helpers import results
from tests.unit.notify.conftest import T0, TZ, config

STEP = 30


class Clock:
    """A settable clock."""

    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def build(
    inv: Inventory, store: SqliteMetricStore, db: Engine, **cfg: object
) -> tuple[AlertingCore, NotifyService, Clock]:
    clock = Clock(T0)
    svc = NotifyService.build(
        db, inv, config(**cfg), incidents=IncidentRepository(db), base_url="http://127.0.0.1:8000",
        timezone=TZ, clock=clock,
    )
    core = AlertingCore(inv, store, db, subscribers=[svc.subscriber])
    core(results(inv, T0))
    return core, svc, clock


def step(core: AlertingCore, svc: NotifyService, clock: Clock, inv: Inventory, **kw: object) -> list[dict]:
    clock.t += STEP
    core(results(inv, clock.t, **kw))  # type: ignore[arg-type]
    before = {r["id"] for r in svc.outbox.list(limit=1000)[0]}
    svc.tick(clock.t)
    return [r for r in svc.outbox.list(limit=1000)[0] if r["id"] not in before]


def test_aggregation_router_storm_is_one_message_then_one_recovery(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core, svc, clock = build(lab_inventory, store, db)
    cut = set(behind(lab_inventory, "p31-agg01"))
    first = step(core, svc, clock, lab_inventory, silent=cut)
    assert first == []  # group_wait: nothing yet
    sent = step(core, svc, clock, lab_inventory, silent=cut)
    assert [(r["post"], r["kind"]) for r in sent] == [("noc", "alert")]  # one message, not 80
    assert "2 sự cố" in sent[0]["subject"]
    for _ in range(4):
        assert step(core, svc, clock, lab_inventory, silent=cut) == []  # no repeats, no children
    assert step(core, svc, clock, lab_inventory) == []  # recovered: waits for group_interval
    later = []
    for _ in range(10):
        later += step(core, svc, clock, lab_inventory)
    assert [r["subject"] for r in later] == ["[PHỤC HỒI] Trực ban NOC: 2 đã phục hồi"]


def test_details_only_updates_are_silent_severity_change_is_not(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core, svc, clock = build(lab_inventory, store, db)
    pwr = f"c{lab_inventory.watched_communes[1]}-pwr1"
    posted = []
    for i in range(1, 30):  # draining 2 %/min: UPS estimate (warning), then < 60 min left (major)
        ts = clock.t + STEP
        store.write(
            [
                Sample(
                    "ups",
                    {"device": pwr},
                    {
                        "output_source": 5,
                        "seconds_on_battery": i * STEP,
                        "charge_pct": 90.0 - i,
                        "minutes_remaining": 200,
                    },
                    ts,
                )
            ]
        )
        posted += step(core, svc, clock, lab_inventory)
    subjects = [r["subject"] for r in posted]
    assert len(subjects) == 2, subjects  # first message, then the severity change (not every minute)
    assert subjects[0].startswith("[CẢNH BÁO]") and subjects[1].startswith("[NGHIÊM TRỌNG]")


def test_short_blip_is_not_sent_and_restart_loses_nothing(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core, svc, clock = build(lab_inventory, store, db)
    code = lab_inventory.watched_communes[4]
    bts = f"c{code}-bts1"
    step(core, svc, clock, lab_inventory, silent={bts})
    assert step(core, svc, clock, lab_inventory) == []  # cleared within group_wait: nobody is woken
    step(core, svc, clock, lab_inventory, silent={bts})
    # the process restarts between the change and the flush
    svc2 = NotifyService.build(db, lab_inventory, config(), incidents=IncidentRepository(db), base_url="http://x",
                               timezone=TZ, clock=clock)
    core2 = AlertingCore(lab_inventory, store, db, subscribers=[svc2.subscriber])
    clock.t += STEP
    core2(results(lab_inventory, clock.t, silent={bts}))
    svc2.tick(clock.t)
    rows, _ = svc2.outbox.list()
    assert [r["post"] for r in rows] == [f"commune:{code}"]


def test_unacked_escalates_to_noc_ack_stops_it(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core, svc, clock = build(lab_inventory, store, db, escalation={"after_s": [120, 240]})
    a, b = lab_inventory.watched_communes[6], lab_inventory.watched_communes[7]
    silent = {f"c{a}-bts1", f"c{b}-bts1"}
    posted = []
    for _ in range(4):
        posted += step(core, svc, clock, lab_inventory, silent=silent)
    assert sorted(r["post"] for r in posted) == [f"commune:{a}", f"commune:{b}"]
    inc_a = next(i for i in svc.notifier.repo.active().values() if i.commune == a)
    svc.acknowledge(inc_a.id, "Trực ban xã")
    for _ in range(6):
        posted += step(core, svc, clock, lab_inventory, silent=silent)
    noc = [r for r in posted if r["post"] == "noc"]
    assert len(noc) == 1 and "Chuyển cấp" not in noc[0]["subject"]
    text = svc.outbox.list(post="noc")[0][0]
    assert text["kind"] == "alert"
    active = svc.notifier.repo.active()
    assert active[inc_a.key].acked_by == "Trực ban xã"
    reply = svc.ack_reply(f"XN {active[f'device_down:c{b}-bts1'].id}", "+84900000007")
    assert reply is not None and reply.acked_by == "+84900000007"
    assert svc.ack_reply("cảm ơn", "+84900000007") is None
