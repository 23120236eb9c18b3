"""Self-monitoring endpoints: ``/healthz`` (liveness), ``/readyz`` (readiness), ``/metrics`` (Prometheus).

No login needed and nothing secret inside: counts, durations and problem
codes only. ``/healthz`` fails (503) when the scheduler has stalled — the
process should be restarted; ``/readyz`` fails when anything major is wrong
(metric store unreachable, spool filling or full, scheduler stalled, alert
delivery failing, alerting database not answering, a command post no channel
reaches) and says what, in the same words as the self-monitoring incidents —
a full or read-only data disk by name ("đĩa đầy: /var/lib/trucban").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel
from sqlalchemy import text

from alerting.incidents import IncidentKind, Severity
from alerting.notify.coverage import summary_vi
from alerting.notify.outbox_reads import OutboxReads
from alerting.rules.selfmon import Problem, SelfMonitor
from alerting.staterepo import write_health
from api.context import ApiContext
from api.deps import Ctx
from api.metrics import TrucbanCollector

STREAMS = ("/api/live",)  # open for minutes by design: not request latencies
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ProblemOut(BaseModel):
    """One thing wrong with Trucban itself."""

    kind: str
    code: str
    severity: int
    text: str


class HealthOut(BaseModel):
    """``ok`` or ``failing``, with the problems found."""

    status: str
    problems: list[ProblemOut] = []
    checked_at: int | None = None
    posts_without_channel: list[str] = []  # command posts alerts cannot reach (ids)


def monitor_of(ctx: ApiContext) -> SelfMonitor:
    """The service's monitor, or one over what the context holds."""
    if ctx.selfmon is not None:
        return ctx.selfmon  # type: ignore[no-any-return]
    poller = ctx.cycle if hasattr(ctx.cycle, "reports") else None
    engine = ctx.alerting.engine if ctx.alerting else None
    delivery = OutboxReads(engine).channel_health if engine is not None else None
    return SelfMonitor(poller, ctx.store, engine, delivery=delivery)  # type: ignore[arg-type]


def delivery_gaps(ctx: ApiContext) -> list[Any]:
    """Posts an incident can be routed to that no channel reaches (``alerting.notify.coverage.Gap``).

    The notifier is one of the alerting core's subscribers; without notification there is none.
    """
    for subscriber in getattr(ctx.alerting, "subscribers", ()):
        gaps = getattr(subscriber, "delivery_gaps", None)
        if callable(gaps):
            return list(gaps())
    return []


def nowhere_problem(gaps: list[Any]) -> Problem:
    """The readiness problem naming the posts alerts cannot reach."""
    return Problem(
        IncidentKind.DELIVERY_FAILING,
        "notify_no_channel",
        Severity.MAJOR,
        f"Không gửi được cảnh báo tới: {summary_vi(gaps)} (không có kênh liên lạc)",
        {"posts": [g.post for g in gaps]},
    )


def _out(
    problems: list[Problem], failing: bool, now: int, brief: bool = False, nowhere: list[str] | None = None
) -> JSONResponse:
    if brief and not problems:  # a healthy liveness answer stays the plain {"status": "ok"}
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})
    body = HealthOut(
        status="failing" if failing else "ok",
        checked_at=now,
        posts_without_channel=nowhere or [],
        problems=[
            ProblemOut(kind=p.kind.value, code=p.code, severity=int(p.severity), text=p.text)
            for p in problems
        ],
    )
    return JSONResponse(
        body.model_dump(), status_code=503 if failing else 200, headers={"Cache-Control": "no-store"}
    )


@dataclass
class HealthServices:
    """What the three endpoints read: the self-monitor and the Prometheus registry of one app."""

    monitor: SelfMonitor
    registry: CollectorRegistry


def install_health(app: FastAPI, ctx: ApiContext) -> None:
    """Set up ``app`` for :data:`router`: the monitor and registry, the HTTP latency middleware, and
    the pages' banner naming the posts no channel reaches (``base.html``)."""
    monitor = monitor_of(ctx)
    registry = CollectorRegistry(auto_describe=True)
    latency = Histogram(
        "trucban_http_request_duration_seconds",
        "HTTP request latency",
        ["method", "route", "status"],
        registry=registry,
        buckets=LATENCY_BUCKETS,
    )
    registry.register(TrucbanCollector(ctx, monitor))
    registry.register(DiskCollector(ctx))
    registry.register(LiveCollector(app))
    app.add_middleware(LatencyMiddleware, histogram=latency)
    app.state.undeliverable = lambda: summary_vi(delivery_gaps(ctx))
    app.state.health = HealthServices(monitor, registry)


def health_of(request: Request) -> HealthServices:
    """The app's health services (see :func:`install_health`)."""
    return request.app.state.health  # type: ignore[no-any-return]


Health = Annotated[HealthServices, Depends(health_of)]
router = APIRouter(tags=["health"])
FAILING: dict[int | str, dict[str, Any]] = {503: {"model": HealthOut, "description": "something is wrong"}}


@router.get("/healthz", response_model=HealthOut, responses=FAILING)
def healthz(health: Health) -> JSONResponse:
    """Liveness: fails only when the scheduler stalled (restart the process)."""
    now = int(time.time())
    problems = health.monitor.problems(now)
    return _out(problems, any(p.code.startswith("scheduler_stalled") for p in problems), now, brief=True)


@router.get("/readyz", response_model=HealthOut, responses=FAILING)
def readyz(health: Health, ctx: Ctx) -> JSONResponse:
    """Readiness: fails on a major problem of store, spool, scheduler, delivery or database,
    and when a command post an incident can be routed to has no channel reaching it."""
    now = int(time.time())
    problems = health.monitor.problems(now)
    if ctx.alerting is not None:
        try:
            with ctx.alerting.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any database failure means "not ready"
            problems.append(
                Problem(
                    problems[0].kind if problems else IncidentKind.STORE_UNREACHABLE,
                    "database_unreachable",
                    Severity.CRITICAL,
                    "cơ sở dữ liệu cảnh báo không trả lời",
                )
            )
    gaps = delivery_gaps(ctx)
    if gaps:
        problems.append(nowhere_problem(gaps))
    failing = any(p.severity >= Severity.MAJOR for p in problems)
    return _out(problems, failing, now, nowhere=[g.post for g in gaps])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
)
def metrics(health: Health) -> Response:
    """Prometheus metrics: poller, spool, outbox, rules, self-monitoring problems, HTTP latency."""
    return Response(generate_latest(health.registry), media_type=CONTENT_TYPE_LATEST)


class LiveCollector(Collector):
    """Screens holding the live channel open (``GET /api/live``)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        """One scrape."""
        services = getattr(self.app.state, "services", None)
        yield GaugeMetricFamily("trucban_live_clients", "Open live channels (server-sent events)",
                                value=services.live.clients if services is not None else 0)


class DiskCollector(Collector):
    """What a full or read-only disk costs: metric samples lost, alerting database writes failed."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        """One scrape."""
        state_of = getattr(self.ctx.store, "state", None)
        if state_of is not None:
            s = state_of()
            yield CounterMetricFamily("trucban_metric_samples_lost_disk",
                                      "Metric samples dropped because the disk was full or read-only",
                                      value=getattr(s, "disk_dropped", 0))
            fault = _gauge_disk("trucban_metric_disk_fault")
            if getattr(s, "disk", None):
                fault.add_metric([s.disk, s.disk_path or ""], 1)
            yield fault
        if self.ctx.alerting is not None:
            health = write_health(self.ctx.alerting.engine)
            failed = CounterMetricFamily("trucban_alerting_write_failures",
                                         "Failed writes to the alerting database (kept in memory, retried)",
                                         labels=["part"])
            for part in ("states", "history", "incidents"):
                failed.add_metric([part], health.failures.get(part, 0))
            yield failed
            fault = _gauge_disk("trucban_alerting_disk_fault")
            if health.fault is not None:
                fault.add_metric([health.fault.kind, health.fault.path], 1)
            yield fault


def _gauge_disk(name: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, "1 while the disk refuses writes (full or read_only)",
                             labels=["disk", "path"])


class LatencyMiddleware:
    """Pure ASGI middleware: request duration per method, route template and status."""

    def __init__(self, app: Any, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in STREAMS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or (
                "/static" if scope["path"].startswith("/static") else "other"
            )
            self.histogram.labels(scope["method"], path, str(status[0])).observe(
                time.perf_counter() - started
            )
