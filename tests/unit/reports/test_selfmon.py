"""Self-monitoring: problems from poller reports, spool state and the outbox; incidents about Trucban."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from alerting.core import DEFAULT_RULES, AlertingCore
from alerting.incidents import IncidentKind, Severity
from alerting.rules.selfmon import SelfMonitor
from inventory.inventory import Inventory
from poller.cycle import CycleReport
from store.spool.spooling import SpoolState
from store.sqlite import SqliteMetricStore
from tests.unit.alerting.helpers import results

T0 = 1_790_000_000


@dataclass
class FakePoller:
    """A poller whose last reports the test sets."""

    report: CycleReport | None

    def reports(self) -> dict[str, CycleReport | None]:
        return {"snmp": self.report}


@dataclass
class FakeStore:
    """A spooling store whose state the test sets."""

    ok: bool = True
    used: int = 0
    full: bool = False

    def state(self) -> SpoolState:
        return SpoolState(7, self.used, 1000, self.full, 3 if self.full else 0, 0, self.ok, "x")


def report(started: int, **kw: object) -> CycleReport:
    return CycleReport(
        started=started, duration_s=2.0, devices=100, ok=100, plan="snmp", interval_s=30.0, **kw
    )  # type: ignore[arg-type]


def test_problems_name_what_is_wrong() -> None:
    poller, store = FakePoller(report(T0)), FakeStore()
    mon = SelfMonitor(poller, store, None, clock=lambda: T0)
    assert mon.problems(T0 + 10) == []
    poller.report = report(T0, late=True, late_polls=40)
    assert {p.code for p in mon.problems(T0 + 10)} == {"cycle_late:snmp", "late_polls:snmp"}
    assert [p.code for p in mon.problems(T0 + 200)][0] == "scheduler_stalled:snmp"  # > 3 × 30 s + 30 s
    poller.report = report(T0 + 200)
    store.ok, store.used = False, 850
    found = {p.code: p for p in mon.problems(T0 + 205)}
    assert set(found) == {"store_unreachable", "spool_filling"}
    assert "7 mẫu" in found["store_unreachable"].text
    store.full = True
    assert {p.code: p.severity for p in mon.problems(T0 + 210)}["spool_full"] is Severity.CRITICAL


def test_no_report_yet_is_stalled_only_after_the_grace(report_inventory: Inventory) -> None:
    mon = SelfMonitor(FakePoller(None), None, None, clock=lambda: T0)
    mon.intervals["snmp"] = 30.0
    assert mon.problems(T0 + 60) == []
    assert [p.code for p in mon.problems(T0 + 200)] == ["scheduler_stalled:snmp"]


def test_core_raises_and_resolves_incidents_about_itself(
    report_inventory: Inventory, engine: Engine, metric_store: SqliteMetricStore
) -> None:
    store = FakeStore()
    mon = SelfMonitor(FakePoller(report(T0)), store, engine, province="31", clock=lambda: T0)
    core = AlertingCore(report_inventory, metric_store, engine, rule_set=(*DEFAULT_RULES, mon))
    assert core.evaluate(results(report_inventory, T0), T0) == []
    store.ok = False
    (change,) = core.evaluate(results(report_inventory, T0 + 30), T0 + 30)
    inc = change.incident
    assert (change.kind.value, inc.kind, inc.severity) == (
        "opened",
        IncidentKind.STORE_UNREACHABLE,
        Severity.MAJOR,
    )
    assert inc.runbook == "runbooks/store_unreachable.md" and "kho dữ liệu không trả lời" in inc.why
    store.ok = True
    (change,) = core.evaluate(results(report_inventory, T0 + 60), T0 + 60)
    assert change.kind.value == "resolved"


def test_delivery_failing_comes_from_the_delivery_health_it_is_given() -> None:
    asked: list[tuple[int, int, int]] = []

    def delivery(now: int, failed_attempts: int, stuck_s: int) -> dict[str, dict[str, int]]:
        asked.append((now, failed_attempts, stuck_s))
        return {"email": {"pending": 1, "failing": 0, "stuck": 0, "failed": 0},
                "zalo": {"pending": 4, "failing": 3, "stuck": 1, "failed": 9}}

    mon = SelfMonitor(None, None, None, delivery=delivery, clock=lambda: T0)
    (problem,) = mon.problems(T0)
    assert (problem.kind, problem.code) == (IncidentKind.DELIVERY_FAILING, "delivery_failing:zalo")
    assert "3 tin gửi lỗi" in problem.text and problem.details["stuck"] == 1
    assert asked == [(T0, mon.thresholds.failed_attempts, mon.thresholds.stuck_s)]
    assert SelfMonitor(None, None, None, clock=lambda: T0).problems(T0) == []  # no delivery watched
