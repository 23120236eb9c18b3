"""Self-monitoring: Trucban raises incidents about its own pipeline.

:class:`SelfMonitor` reads what the service knows about itself — the poller's
cycle reports, the metric store's spool, the alerting database's write health,
and the delivery health it is given (a :class:`DeliveryHealth` callable built
at the composition root over notify's outbox; this module reads no table of
notify's) — and turns it into :class:`Problem` lines. The same lines answer ``/healthz`` and
``/readyz`` and, through :meth:`SelfMonitor.__call__` (a rule, registered in
the alerting core by the service), become three incidents:

- ``poller_degraded``: a plan stalled (no cycle finished for
  ``stall_factor`` × its interval), a cycle longer than its interval, or
  more than ``late_share`` of the polls started late;
- ``store_unreachable``: the metric store refuses or does not answer (samples
  go to the spool), the spool is over ``spool_warn`` of its bound, or full;
  the data disk is full or read-only ("đĩa đầy" / "chỉ đọc", with the path and
  the samples lost), or the alerting database cannot be written (states,
  history, incidents kept in memory, with the failed writes counted);
- ``delivery_failing``: messages failed ``failed_attempts`` times or wait
  longer than ``stuck_s`` (as the delivery health reports them).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine

from alerting.incidents import Condition, IncidentKind, Severity
from alerting.rules.context import RuleContext
from alerting.staterepo import WriteHealth, write_health
from store.disk import WORDS_VI

PARTS_VI = {"states": "trạng thái", "history": "lịch sử trạng thái", "incidents": "sự cố"}


class CycleFacts(Protocol):
    """What self-monitoring reads of a plan's last cycle (the poller's ``CycleReport``)."""

    @property
    def started(self) -> int: ...  # noqa: D102
    @property
    def duration_s(self) -> float: ...  # noqa: D102
    @property
    def interval_s(self) -> float: ...  # noqa: D102
    @property
    def late(self) -> bool: ...  # noqa: D102
    @property
    def devices(self) -> int: ...  # noqa: D102
    @property
    def late_polls(self) -> int: ...  # noqa: D102


class PollerSource(Protocol):
    """The poller: last report of every plan."""

    def reports(self) -> Mapping[str, CycleFacts | None]:
        """Plan name → its last cycle report (None before the first)."""


@dataclass(frozen=True)
class SelfmonThresholds:
    """When the pipeline counts as degraded."""

    stall_factor: float = 3.0
    stall_grace_s: float = 30.0
    late_share: float = 0.1
    spool_warn: float = 0.8
    failed_attempts: int = 3
    stuck_s: int = 600


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with Trucban itself; ``code`` is stable, ``text`` is Vietnamese."""

    kind: IncidentKind
    code: str
    severity: Severity
    text: str
    details: dict[str, Any] = field(default_factory=dict)


class DeliveryHealth(Protocol):
    """How alert delivery goes, per channel: ``pending``, ``failing`` and ``stuck`` messages, ``failed``
    attempts (:meth:`alerting.notify.outbox_reads.OutboxReads.channel_health`, handed over at the root)."""

    def __call__(self, now: int, failed_attempts: int, stuck_s: int) -> Mapping[str, Mapping[str, int]]:
        """Per channel at ``now``; a message counts as failing after ``failed_attempts``, stuck after
        ``stuck_s`` undelivered."""


class SelfMonitor:
    """Looks at the pipeline; a rule for the alerting core and the source of the health endpoints.

    ``engine`` is the alerting database (its write health); ``delivery`` tells how alert delivery
    goes (None: delivery is not watched, as when notification is off).
    """

    def __init__(self, poller: PollerSource | None, store: Any, engine: Engine | None, *,
                 delivery: DeliveryHealth | None = None, province: str = "",
                 thresholds: SelfmonThresholds | None = None, clock: Callable[[], float] = time.time) -> None:
        self.poller, self.store, self.engine, self.delivery = poller, store, engine, delivery
        self.province = province
        self.thresholds = thresholds or SelfmonThresholds()
        self.clock = clock
        self.__name__ = "selfmon_conditions"  # the core names rules by __name__
        self.started = int(clock())
        self.intervals: dict[str, float] = {}  # plan → interval, learnt from reports
        self._since: dict[str, int] = {}

    def problems(self, now: int | None = None) -> list[Problem]:
        """Everything wrong right now."""
        now = int(self.clock()) if now is None else now
        out = self._poller(now) + self._store() + self._alerting_db() + self._delivery(now)
        seen = {p.code for p in out}
        self._since = {code: self._since.get(code, now) for code in seen}
        return out

    def since(self, code: str, default: int) -> int:
        """When a problem was first seen (continuously)."""
        return self._since.get(code, default)

    def _poller(self, now: int) -> list[Problem]:
        if self.poller is None:
            return []
        th, out = self.thresholds, []
        for plan, report in self.poller.reports().items():
            if report is not None and report.interval_s:
                self.intervals[plan] = report.interval_s
            interval = self.intervals.get(plan)
            last = report.started + report.duration_s if report is not None else self.started
            if interval and now - last > th.stall_factor * interval + th.stall_grace_s:
                out.append(Problem(IncidentKind.POLLER_DEGRADED, f"scheduler_stalled:{plan}", Severity.MAJOR,
                                   f"bộ lập lịch dừng: kế hoạch {plan} không hoàn thành chu kỳ nào "
                                   f"trong {int(now - last)} s (chu kỳ {interval:.0f} s)",
                                   {"plan": plan, "seconds_since_cycle": int(now - last)}))
            if report is None:
                continue
            if report.late:
                out.append(Problem(IncidentKind.POLLER_DEGRADED, f"cycle_late:{plan}", Severity.WARNING,
                                   f"chu kỳ {plan} mất {report.duration_s:.1f} s, "
                                   f"dài hơn {report.interval_s:.0f} s",
                                   {"plan": plan, "duration_s": report.duration_s}))
            if report.devices and report.late_polls > th.late_share * report.devices:
                out.append(Problem(IncidentKind.POLLER_DEGRADED, f"late_polls:{plan}", Severity.WARNING,
                                   f"{report.late_polls}/{report.devices} lần thăm dò của {plan} bắt đầu trễ",
                                   {"plan": plan, "late_polls": report.late_polls}))
        return out

    def _store(self) -> list[Problem]:
        state_of = getattr(self.store, "state", None)
        if state_of is None:
            return []
        state = state_of()
        out = []
        fault = getattr(state, "disk", None)
        if fault is not None:
            out.append(Problem(IncidentKind.STORE_UNREACHABLE, f"disk_{fault}", Severity.CRITICAL,
                               f"{WORDS_VI.get(fault, fault)}: {state.disk_path} — không ghi được số liệu; "
                               f"đã mất {state.disk_dropped} mẫu, việc giám sát và cảnh báo vẫn chạy",
                               {"path": state.disk_path, "disk": fault, "lost_samples": state.disk_dropped}))
        if not state.backend_ok:
            why = f"{WORDS_VI.get(fault, fault)}: {state.disk_path}" if fault else "không trả lời"
            out.append(Problem(IncidentKind.STORE_UNREACHABLE, "store_unreachable", Severity.MAJOR,
                               f"kho dữ liệu {why}; {state.depth} mẫu đang chờ trong bộ đệm",
                               {"spool_depth": state.depth}))
        share = state.bytes / state.max_bytes if state.max_bytes else 0.0
        if state.full:
            out.append(Problem(IncidentKind.STORE_UNREACHABLE, "spool_full", Severity.CRITICAL,
                               f"bộ đệm đầy: đã bỏ {state.dropped} mẫu", {"dropped": state.dropped}))
        elif share >= self.thresholds.spool_warn:
            out.append(Problem(IncidentKind.STORE_UNREACHABLE, "spool_filling", Severity.MAJOR,
                               f"bộ đệm đã dùng {100 * share:.0f}% dung lượng",
                               {"spool_share": round(share, 3)}))
        return out

    def _alerting_db(self) -> list[Problem]:
        if self.engine is None:
            return []
        health: WriteHealth = write_health(self.engine)
        if not health.failing:
            return []
        cause = health.fault.text() if health.fault else next(iter(health.failing.values()))
        parts = ", ".join(PARTS_VI.get(p, p) for p in sorted(health.failing))
        return [Problem(IncidentKind.STORE_UNREACHABLE, "alerting_db_unwritable", Severity.CRITICAL,
                        f"cơ sở dữ liệu cảnh báo không ghi được ({cause}): {parts} giữ trong bộ nhớ và "
                        f"ghi lại ở lần đánh giá sau; {health.total} lần ghi lỗi",
                        {"where": health.where, "disk": health.fault.kind if health.fault else None,
                         "failed_writes": health.total, "parts": sorted(health.failing)})]

    def _delivery(self, now: int) -> list[Problem]:
        if self.delivery is None:
            return []
        out = []
        health = self.delivery(now, self.thresholds.failed_attempts, self.thresholds.stuck_s)
        for channel, row in sorted(health.items()):
            if row["failing"] or row["stuck"]:
                out.append(Problem(IncidentKind.DELIVERY_FAILING, f"delivery_failing:{channel}",
                                   Severity.MAJOR,
                                   f"kênh {channel}: {row['failing']} tin gửi lỗi nhiều lần, "
                                   f"{row['stuck']} tin chờ quá {self.thresholds.stuck_s // 60} phút",
                                   {"channel": channel, **row}))
        return out

    def __call__(self, ctx: RuleContext) -> list[Condition]:
        """The rule: one condition per incident kind, listing its problems."""
        by_kind: dict[IncidentKind, list[Problem]] = defaultdict(list)
        for p in self.problems(ctx.now):
            by_kind[p.kind].append(p)
        out = []
        for kind, problems in by_kind.items():
            title = {IncidentKind.POLLER_DEGRADED: "Trucban thăm dò chậm hoặc dừng",
                     IncidentKind.STORE_UNREACHABLE: "Trucban không ghi được kho dữ liệu",
                     IncidentKind.DELIVERY_FAILING: "Trucban không gửi được cảnh báo"}[kind]
            disk = [p.details for p in problems if p.details.get("disk")]
            if disk:  # the real cause in the title: "đĩa đầy: /var/lib/trucban"
                where = disk[0].get("path") or disk[0].get("where")
                title = f"Trucban không ghi được dữ liệu — {WORDS_VI.get(disk[0]['disk'], '')}: {where}"
            out.append(Condition(
                key=kind.value, kind=kind, severity=max(p.severity for p in problems), title=title,
                why="; ".join(p.text for p in problems),
                since=min(self.since(p.code, ctx.now) for p in problems),
                province=self.province, details={"problems": sorted(p.code for p in problems)}))
        return out
