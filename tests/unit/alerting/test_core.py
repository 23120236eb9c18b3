"""The alerting core's hard cases, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from alerting.core import AlertingCore
from alerting.incidents import IncidentKind, IncidentStatus, Severity
from alerting.manager import ChangeKind
from alerting.rules.config import RulesConfig
from alerting.states import Status
from inventory.inventory import Inventory
from lab.outages import behind
from store.base import Sample
from store.sqlite import SqliteMetricStore
from tests.unit.alerting.helpers import results

T0 = 1_790_000_000
STEP = 30


def kinds(changes: list) -> list[tuple[str, str]]:
    return sorted((c.kind.value, c.incident.kind.value) for c in changes)


def test_aggregation_router_dies_one_incident_plus_summary(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core = AlertingCore(lab_inventory, store, db)
    core(results(lab_inventory, T0))
    cut = set(behind(lab_inventory, "p31-agg01"))
    changes = core(results(lab_inventory, T0 + STEP, silent=cut))
    assert kinds(changes) == [("opened", "communes_cut_off"), ("opened", "device_down")]
    summary = next(c.incident for c in changes if c.incident.kind is IncidentKind.COMMUNES_CUT_OFF)
    assert len(summary.affected) == 20
    down = next(c.incident for c in changes if c.incident.kind is IncidentKind.DEVICE_DOWN)
    assert down.device == "p31-agg01" and len(down.affected) == 80
    states = core.tracker.states
    assert states["p31-agg01"].status is Status.DOWN
    assert all(states[d].status is Status.UNREACHABLE for d in cut - {"p31-agg01"})
    assert core(results(lab_inventory, T0 + 2 * STEP, silent=cut)) == []  # no repeats, no child pages

    changes = core(results(lab_inventory, T0 + 3 * STEP))
    assert kinds(changes) == [("resolved", "communes_cut_off"), ("resolved", "device_down")]
    assert all(states[d].status is Status.UP for d in cut)
    assert core.incidents.active() == {}


def test_parent_recovers_child_still_dead_is_reported(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core = AlertingCore(lab_inventory, store, db)
    code = lab_inventory.watched_communes[3]
    router, bts = f"c{code}-r1", f"c{code}-bts1"
    core(results(lab_inventory, T0))
    core(results(lab_inventory, T0 + STEP, silent={router, bts, f"c{code}-sw1", f"c{code}-pwr1"}))
    assert core.tracker.states[bts].status is Status.UNREACHABLE
    changes = core(results(lab_inventory, T0 + 2 * STEP, silent={bts}))
    assert core.tracker.states[bts].status is Status.DOWN
    assert ("opened", "device_down") in kinds(changes)
    assert {c.incident.device for c in changes if c.kind is ChangeKind.OPENED} == {bts}


def test_primary_down_is_on_backup_both_down_is_isolated(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core = AlertingCore(lab_inventory, store, db)
    code = lab_inventory.watched_communes[5]
    router = f"c{code}-r1"
    core(results(lab_inventory, T0))
    changes = core(results(lab_inventory, T0 + STEP, if_down={router: {1}}))
    (change,) = changes
    assert change.incident.kind is IncidentKind.LINK_ON_BACKUP
    assert change.incident.severity is Severity.INFO
    assert "4G" in change.incident.title
    assert core.tracker.states[router].status is Status.DEGRADED

    changes = core(results(lab_inventory, T0 + 2 * STEP, if_down={router: {1, 2}}))
    assert kinds(changes) == [("opened", "commune_isolated"), ("resolved", "link_on_backup")]
    isolated = next(c.incident for c in changes if c.kind is ChangeKind.OPENED)
    assert isolated.severity is Severity.CRITICAL and isolated.commune == code


def test_long_stay_on_backup_escalates(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    rules = RulesConfig.model_validate({"failover": {"escalate_after_s": 120}})
    core = AlertingCore(lab_inventory, store, db, rules=rules)
    router = f"c{lab_inventory.watched_communes[0]}-r1"
    core(results(lab_inventory, T0))
    core(results(lab_inventory, T0 + STEP, if_down={router: {1}}))
    changes = []
    for i in range(2, 7):
        changes += core(results(lab_inventory, T0 + i * STEP, if_down={router: {1}}))
    (change,) = changes
    assert change.kind is ChangeKind.UPDATED and change.incident.severity is Severity.WARNING
    timeline = core.incidents.get(change.incident.id).events
    assert [e.kind for e in timeline] == ["opened", "severity"]


def test_mains_lost_projection_and_escalation(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    rules = RulesConfig.model_validate(
        {"battery": {"warn_minutes": {"default": 120}, "critical_minutes": {"default": 80}}}
    )
    core = AlertingCore(lab_inventory, store, db, rules=rules)
    pwr = f"c{lab_inventory.watched_communes[1]}-pwr1"
    core(results(lab_inventory, T0))
    opened = None
    for i in range(1, 11):  # 1 %/min from 80 %, UPS estimate deliberately wrong (200 min)
        ts = T0 + i * STEP
        charge = 80.0 - (i * STEP) / 60.0
        store.write(
            [
                Sample(
                    "ups",
                    {"device": pwr},
                    {
                        "output_source": 5,
                        "seconds_on_battery": i * STEP,
                        "charge_pct": charge,
                        "minutes_remaining": 200,
                    },
                    ts,
                )
            ]
        )
        for change in core(results(lab_inventory, ts)):
            opened = opened or change.incident
    assert opened is not None and opened.kind is IncidentKind.BTS_ON_BATTERY
    incident = core.incidents.active()[f"bts_on_battery:{pwr}"]
    truth = 80.0 - 10 * STEP / 60.0  # minutes left at 1 %/min
    assert abs(incident.details["minutes_left"] - truth) <= 0.1 * truth
    assert incident.details["method"] == "dự báo theo tốc độ xả"
    assert incident.severity is Severity.CRITICAL  # ~75 min left < 80: escalated from the UPS's 200
    assert f"còn khoảng {round(truth)} phút" in incident.title
    severities = [e for e in core.incidents.get(incident.id).events if e.kind == "severity"]
    assert len(severities) == 1


def test_flapping_link_pages_once(lab_inventory: Inventory, store: SqliteMetricStore, db: Engine) -> None:
    core = AlertingCore(lab_inventory, store, db)
    router = f"c{lab_inventory.watched_communes[2]}-r1"
    opened = []
    for i in range(0, 21):  # 10 minutes, polled every 30 s, link toggling every 20 s
        ts = T0 + i * STEP
        down = (i * STEP // 20) % 2 == 1
        changes = core(results(lab_inventory, ts, if_down={router: {1}} if down else {}))
        opened += [c.incident for c in changes if c.kind is ChangeKind.OPENED]
    flapping = [i for i in opened if i.kind is IncidentKind.FLAPPING]
    assert len(flapping) == 1
    assert len([i for i in opened if i.kind is IncidentKind.LINK_ON_BACKUP]) <= 2
    assert f"flapping:link:c{lab_inventory.watched_communes[2]}-primary" in core.incidents.active()


def test_restart_loses_duplicates_and_reopens_nothing(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core = AlertingCore(lab_inventory, store, db)
    cut = set(behind(lab_inventory, "p31-agg02"))
    router = f"c{lab_inventory.watched_communes[0]}-r1"
    core(results(lab_inventory, T0))
    core(results(lab_inventory, T0 + STEP, silent=cut, if_down={router: {1}}))
    before = core.incidents.active()
    assert len(before) == 3

    again = AlertingCore(lab_inventory, store, db)  # the process restarted
    assert again.tracker.states["p31-agg02"].status is Status.DOWN
    assert again(results(lab_inventory, T0 + 2 * STEP, silent=cut, if_down={router: {1}})) == []
    after = again.incidents.active()
    assert {k: v.id for k, v in after.items()} == {k: v.id for k, v in before.items()}
    changes = again(results(lab_inventory, T0 + 3 * STEP))
    assert sorted(c.kind.value for c in changes) == ["resolved"] * 3
    all_incidents, total = again.incidents.list(limit=50)
    assert total == 3 and all(i.status is IncidentStatus.RESOLVED for i in all_incidents)


def test_maintenance_suppresses_and_shows_state(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core = AlertingCore(lab_inventory, store, db)
    code = lab_inventory.watched_communes[4]
    core.maintenance.add(
        scope="commune",
        target=code,
        starts_at=T0,
        ends_at=T0 + 3600,
        recurrence=None,
        reason="thay UPS",
        created_by="op",
        now=T0,
    )
    bts = f"c{code}-bts1"
    assert core(results(lab_inventory, T0 + STEP, silent={bts})) == []
    assert core.tracker.states[bts].status is Status.MAINTENANCE
    changes = core(results(lab_inventory, T0 + 3600 + STEP, silent={bts}))
    assert kinds(changes) == [("opened", "device_down")]


def test_acknowledge_records_who_and_when(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core = AlertingCore(lab_inventory, store, db)
    changes = core(results(lab_inventory, T0, silent={"p31-dns1"}))
    (change,) = changes
    assert change.incident.severity is Severity.CRITICAL
    acked = core.incidents.acknowledge(change.incident.id, "nguyen.van.a", "đang xử lý", T0 + 60)
    assert acked.status is IncidentStatus.ACKNOWLEDGED and acked.acked_at == T0 + 60
    events = core.incidents.get(acked.id).events
    assert [e.kind for e in events] == ["opened", "acknowledged"]
    assert events[1].actor == "nguyen.van.a" and "đang xử lý" in events[1].text


def test_dns_rules_from_collector_samples(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    from dataclasses import replace

    from inventory.model import DnsProbeSpec

    inv = replace(lab_inventory, devices=dict(lab_inventory.devices))
    for dev_id in ("p31-dns1", "p31-dns2"):
        inv.devices[dev_id] = inv.devices[dev_id].model_copy(update={"dns": DnsProbeSpec(zone="hp.gov.vn")})
    core = AlertingCore(inv, store, db)
    core(results(inv, T0))
    ts = T0 + STEP
    tags = {"device": "p31-dns1", "family": "ipv4", "transport": "udp"}
    store.write(
        [
            Sample("dns_probe", {**tags, "qtype": "SOA"}, {"ok": False, "error_kind": "servfail"}, ts),
            Sample("dns_probe", {**tags, "qtype": "A"}, {"ok": False, "error_kind": "timeout"}, ts),
            Sample(
                "dns_zone",
                {"device": "p31-dns2", "zone": "hp.gov.vn"},
                {"serial": 2026090601, "newest_serial": 2026090703, "stale": True},
                ts,
            ),
            Sample(
                "dns_ipv6",
                {"device": "p31-dns2"},
                {"ipv6_configured": True, "answers_aaaa": True, "reachable_ipv6": False, "ready": False},
                ts,
            ),
        ]
    )
    changes = core(results(inv, ts))
    by_key = {c.incident.key: c.incident for c in changes}
    assert set(by_key) == {
        "dns_not_answering:p31-dns1",
        "dns_stale_serial:p31-dns2:hp.gov.vn",
        "dns_no_ipv6:p31-dns2",
    }
    assert "SERVFAIL ×1" in by_key["dns_not_answering:p31-dns1"].why
    assert by_key["dns_not_answering:p31-dns1"].severity is Severity.CRITICAL
    assert "không tới được qua IPv6" in by_key["dns_no_ipv6:p31-dns2"].why
    # readings go stale (collector stopped): the incidents do not linger
    changes = core(results(inv, ts + 3600))
    assert sorted(c.kind.value for c in changes) == ["resolved"] * 3


def test_state_history_gives_intervals_to_the_second(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    core = AlertingCore(lab_inventory, store, db)
    cut = set(behind(lab_inventory, "p31-agg01"))
    router = f"c{lab_inventory.watched_communes[0]}-r1"
    core(results(lab_inventory, T0))
    core(results(lab_inventory, T0 + 30, silent=cut))
    core(results(lab_inventory, T0 + 95, if_down={router: {1}}))
    spans = core.history.intervals(
        T0, T0 + 200, ["p31-agg01", router, f"link:c{lab_inventory.watched_communes[0]}-primary"]
    )
    by = {}
    for span in spans:
        by.setdefault(span.subject, []).append((span.status, span.start, span.end))
    assert by["p31-agg01"] == [("up", T0, T0 + 30), ("down", T0 + 30, T0 + 95), ("up", T0 + 95, T0 + 200)]
    assert by[router] == [
        ("up", T0, T0 + 30),
        ("unreachable", T0 + 30, T0 + 95),
        ("degraded", T0 + 95, T0 + 200),
    ]
    link = f"link:c{lab_inventory.watched_communes[0]}-primary"
    assert by[link][-1] == ("down", T0 + 95, T0 + 200)


def test_store_outage_keeps_metric_based_incidents_open(
    lab_inventory: Inventory, store: SqliteMetricStore, db: Engine
) -> None:
    from common.errors import StoreUnavailable

    class FlakyStore:
        """The real store, until it goes away."""

        down = False

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            if self.down and name in ("latest", "range"):
                raise StoreUnavailable("metric store unreachable")
            return getattr(store, name)

    flaky = FlakyStore()
    core = AlertingCore(lab_inventory, flaky, db)  # type: ignore[arg-type]
    pwr = f"c{lab_inventory.watched_communes[1]}-pwr1"
    store.write([Sample("ups", {"device": pwr}, {"output_source": 5, "charge_pct": 70.0}, T0)])
    core(results(lab_inventory, T0))
    assert f"bts_on_battery:{pwr}" in core.incidents.active()
    flaky.down = True
    assert core(results(lab_inventory, T0 + STEP)) == []  # nothing resolved while blind
    flaky.down = False
    store.write([Sample("ups", {"device": pwr}, {"output_source": 3, "charge_pct": 71.0}, T0 + 2 * STEP)])
    assert [c.kind.value for c in core(results(lab_inventory, T0 + 2 * STEP))] == ["resolved"]
