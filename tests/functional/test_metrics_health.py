"""/metrics parsed with prometheus-client's parser; /healthz and /readyz on the running service."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.functional.conftest import RunningService, wait_for

pytestmark = pytest.mark.functional


def families(url: str) -> dict[str, list]:  # type: ignore[type-arg]
    answer = httpx.get(url + "/metrics", timeout=10)  # no login: scrapers have none
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(answer.text)}


def test_metrics_cover_the_pipeline(running: RunningService) -> None:
    wait_for(lambda: running.service.cycle.last is not None and running.service.alerting.last.ts, 30)
    running.get("/api/communes")  # one API request to time
    got = wait_for(lambda: (f := families(running.url)) and "trucban_poller_cycle_seconds" in f and f, 20)
    plans = {s.labels["plan"] for s in got["trucban_poller_cycle_seconds"]}
    assert running.service.cycle.primary in plans
    for name in ("trucban_poller_late_polls", "trucban_poller_timeouts", "trucban_poller_interval_seconds",
                 "trucban_spool_depth_samples", "trucban_store_up", "trucban_rule_evaluation_seconds"):
        assert name in got, name
    assert got["trucban_store_up"][0].value == 1
    assert got["trucban_rule_evaluation_seconds"][0].value > 0
    routes = {s.labels["route"] for s in got["trucban_http_request_duration_seconds"]
              if s.name.endswith("_count")}
    assert "/api/communes" in routes
    assert "trucban_outbox_depth" in got and "trucban_outbox_delivery_failures" in got


def test_health_and_readiness_say_ok(running: RunningService) -> None:
    wait_for(lambda: running.service.cycle.last is not None, 30)
    health = httpx.get(running.url + "/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text
    answer = httpx.get(running.url + "/readyz", timeout=10)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # a loaded CI machine may make a 2-second lab cycle late: a warning, never "not ready"
    serious = [p for p in body["problems"] if not p["code"].startswith(("cycle_late", "late_polls"))]
    assert body["status"] == "ok" and serious == [], body
