"""Prometheus collector reading Trucban's own state at scrape time (nothing is pushed, nothing global).

Poller (per plan, last cycle), spool and store, notification outbox (per
status and per channel), rule evaluation (``AlertingCore.last``), active
incidents, and the self-monitoring problems. HTTP latency is a histogram kept
by :class:`api.routes.health.LatencyMiddleware`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from alerting.rules.selfmon import SelfMonitor
from api.context import ApiContext


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class TrucbanCollector(Collector):
    """Yields every Trucban metric family on each scrape."""

    def __init__(self, ctx: ApiContext, monitor: SelfMonitor) -> None:
        self.ctx = ctx
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        """One scrape."""
        yield from self._poller()
        yield from self._store()
        yield from self._outbox()
        yield from self._rules()
        problems = _gauge(
            "trucban_selfmon_problem", "1 per current self-monitoring problem", ["kind", "code"]
        )
        for p in self.monitor.problems():
            problems.add_metric([p.kind.value, p.code], 1)
        yield problems

    def _poller(self) -> Iterator[Metric]:
        reports_of = getattr(self.ctx.cycle, "reports", None)
        reports = reports_of() if reports_of is not None else {"reachability": self.ctx.cycle.last}
        duration = _gauge("trucban_poller_cycle_seconds", "Duration of the plan's last poll cycle", ["plan"])
        interval = _gauge("trucban_poller_interval_seconds", "Poll interval of the plan", ["plan"])
        last = _gauge("trucban_poller_last_cycle_timestamp_seconds", "Start of the last cycle", ["plan"])
        devices = _gauge("trucban_poller_devices", "Devices polled in the last cycle", ["plan"])
        ok = _gauge("trucban_poller_ok", "Devices that answered in the last cycle", ["plan"])
        late = _gauge("trucban_poller_late_polls", "Polls started late in the last cycle", ["plan"])
        late_cycle = _gauge(
            "trucban_poller_cycle_late", "1 when the last cycle outlasted its interval", ["plan"]
        )
        timeouts = _gauge("trucban_poller_timeouts", "Timeouts in the last cycle", ["plan"])
        errors = _gauge(
            "trucban_poller_errors", "Errors in the last cycle per collector and kind", ["plan", "kind"]
        )
        for plan, r in reports.items():
            if r is None:
                continue
            duration.add_metric([plan], r.duration_s)
            interval.add_metric([plan], r.interval_s)
            last.add_metric([plan], r.started)
            devices.add_metric([plan], r.devices)
            ok.add_metric([plan], r.ok)
            late.add_metric([plan], r.late_polls)
            late_cycle.add_metric([plan], int(r.late))
            timeouts.add_metric([plan], r.timeouts)
            for kind, n in sorted(r.errors.items()):
                errors.add_metric([plan, kind], n)
        yield from (duration, interval, last, devices, ok, late, late_cycle, timeouts, errors)

    def _store(self) -> Iterator[Metric]:
        state_of = getattr(self.ctx.store, "state", None)
        if state_of is None:
            return
        s = state_of()
        yield GaugeMetricFamily("trucban_spool_depth_samples", "Samples waiting in the spool", value=s.depth)
        yield GaugeMetricFamily("trucban_spool_bytes", "Spool size on disk", value=s.bytes)
        yield GaugeMetricFamily("trucban_spool_max_bytes", "Spool bound (spool_max_mb)", value=s.max_bytes)
        yield GaugeMetricFamily("trucban_spool_full", "1 when the spool is full", value=int(s.full))
        yield CounterMetricFamily(
            "trucban_spool_dropped_samples", "Samples dropped (spool full)", value=s.dropped
        )
        yield CounterMetricFamily(
            "trucban_store_rejected_samples", "Samples refused as data", value=s.rejected
        )
        yield GaugeMetricFamily(
            "trucban_store_up", "1 when the metric store answers", value=int(s.backend_ok)
        )

    def _outbox(self) -> Iterator[Metric]:
        delivery, limits = self.monitor.delivery, self.monitor.thresholds
        if delivery is None:
            return
        rows = delivery(int(time.time()), limits.failed_attempts, limits.stuck_s)
        pending = _gauge("trucban_outbox_depth", "Undelivered outbox messages per channel", ["channel"])
        failing = _gauge("trucban_outbox_failing", "Undelivered messages that failed repeatedly", ["channel"])
        failed = CounterMetricFamily(
            "trucban_outbox_delivery_failures", "Failed delivery attempts per channel", labels=["channel"]
        )
        for channel, row in sorted(rows.items()):
            pending.add_metric([channel], row["pending"])
            failing.add_metric([channel], row["failing"])
            failed.add_metric([channel], row["failed"])
        yield from (pending, failing, failed)

    def _rules(self) -> Iterator[Metric]:
        core: Any = self.ctx.alerting
        if core is None:
            return
        last = core.last
        yield GaugeMetricFamily(
            "trucban_rule_evaluation_seconds",
            "Duration of the last evaluation (states, rules, incidents)",
            value=last.seconds,
        )
        yield GaugeMetricFamily(
            "trucban_rule_last_evaluation_timestamp_seconds", "When rules last ran", value=last.ts
        )
        yield GaugeMetricFamily(
            "trucban_rule_conditions", "Conditions found by the last evaluation", value=last.conditions
        )
        active = _gauge("trucban_incidents_active", "Open or acknowledged incidents", ["kind"])
        counts: dict[str, int] = {}
        for inc in core.incidents.active().values():
            counts[inc.kind.value] = counts.get(inc.kind.value, 0) + 1
        for kind, n in sorted(counts.items()):
            active.add_metric([kind], n)
        yield active
