"""Every error a problem+json with the right status, over real HTTP.

A metric store that is down (a real InfluxDB client pointed at a closed port)
gives 503 with Retry-After; out-of-range ids, offsets and dates give 422; an
unexpected failure gives a problem+json 500 that tells nothing inside; the
OpenAPI document lists these answers; an https public address turns on HSTS;
and every incident kind the rules can raise is a valid filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alerting.incidents import IncidentKind
from api.auth.roles import Role
from api.context import WebOptions
from inventory.inventory import Inventory
from store.influx import InfluxMetricStore
from store.sqlite import SqliteMetricStore
from tests.functional.api_peers import LightServer, light_inventory, light_server
from tests.functional.conftest import free_tcp_port
from tests.functional.web_peers import PASSWORD, csrf_headers, login

pytestmark = pytest.mark.functional
PROBLEM = "application/problem+json"
HUGE = 2**63


class ExplodingStore(SqliteMetricStore):
    """A metric store whose reads fail in a way nobody planned for (a bug, not an outage)."""

    def range(self, *args: object, **kwargs: object) -> list:  # type: ignore[override]
        raise RuntimeError("secret-internal-detail")


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    """A two-commune inventory."""
    return light_inventory(tmp_path_factory.mktemp("errors-lab"))


@pytest.fixture(scope="module")
def api(inventory: Inventory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LightServer]:
    """The app with a healthy embedded store and an https public address."""
    web = WebOptions(public_base_url="https://trucban.example.vn")
    with light_server(tmp_path_factory.mktemp("errors"), inventory, web) as srv:
        yield srv


def auth(srv: LightServer) -> dict[str, str]:
    """Headers of a token that may read, acknowledge and plan maintenance."""
    return {"Authorization": f"Bearer {srv.token()}"}


def assert_problem(answer: httpx.Response, status: int) -> dict:
    """The answer is a problem+json document with ``status``."""
    assert answer.status_code == status, (answer.request.url, answer.status_code, answer.text[:300])
    assert answer.headers["content-type"].startswith(PROBLEM), answer.headers["content-type"]
    body = answer.json()
    assert body["status"] == status and body["detail"]
    return body


def test_metric_store_down_is_503_problem(inventory: Inventory, tmp_path: Path) -> None:
    dead = InfluxMetricStore(f"http://127.0.0.1:{free_tcp_port()}", api="v1", timeout_s=2, max_retries=0)
    with light_server(tmp_path, inventory, store=dead) as srv:
        headers = auth(srv)
        device = next(iter(inventory.devices))
        for path in (f"/api/devices/{device}/series?metric=rtt&range=1h",
                     f"/api/devices/{device}/series?metric=battery&range=7d",
                     "/api/ipv6",
                     "/api/reports/availability?period=day"):
            answer = httpx.get(srv.url + path, headers=headers, timeout=30)
            assert_problem(answer, 503)
            assert answer.headers["retry-after"].isdigit()


def test_unexpected_failure_is_a_problem_500_that_tells_nothing_inside(
    inventory: Inventory, tmp_path: Path
) -> None:
    broken = ExplodingStore(tmp_path / "metrics.sqlite")
    with light_server(tmp_path / "data", inventory, store=broken) as srv:
        device = next(iter(inventory.devices))
        answer = httpx.get(f"{srv.url}/api/devices/{device}/series", headers=auth(srv), timeout=10)
        body = assert_problem(answer, 500)
        assert "secret-internal-detail" not in answer.text and "Traceback" not in body["detail"]
    broken.close()


def test_out_of_range_numbers_and_dates_are_422(api: LightServer) -> None:
    headers = auth(api)
    for path in (f"/api/incidents/{HUGE}", f"/api/incidents?offset={HUGE}", f"/api/incidents?limit={HUGE}",
                 f"/api/reports/availability?start={HUGE}&end={HUGE + 10}",
                 "/api/reports/availability?start=-5&end=10",
                 "/api/reports/availability?date=9999-12-31", "/api/reports/availability?date=0001-01-01",
                 "/api/reports/daily?period=week&date=9999-12-31",
                 "/api/reports/availability?date=2026-13-01",
                 f"/api/ioc/v1/incidents?offset={HUGE}", f"/api/ioc/v1/indicators?start=0&end={HUGE}"):
        assert_problem(httpx.get(api.url + path, headers=headers, timeout=10), 422)
    for path in (f"/api/incidents/{HUGE}/ack", f"/api/maintenance/{HUGE}/end"):
        assert_problem(httpx.post(api.url + path, headers=headers, json={"comment": "x"}, timeout=10), 422)
    api.security.accounts.create_user("quantri", PASSWORD, Role.ADMIN)
    admin = login(api.url, "quantri")
    try:
        for method, path in (("DELETE", f"/api/tokens/{HUGE}"), ("POST", f"/api/users/{HUGE}/disable")):
            assert_problem(admin.request(method, path, headers=csrf_headers(admin)), 422)
    finally:
        admin.close()


def test_every_incident_kind_is_a_valid_filter(api: LightServer) -> None:
    headers = auth(api)
    for kind in IncidentKind:
        answer = httpx.get(f"{api.url}/api/incidents", params={"kind": kind.value}, headers=headers)
        assert answer.status_code == 200, (kind, answer.text)
    assert_problem(httpx.get(f"{api.url}/api/incidents?kind=no_such_kind", headers=headers), 422)


def test_openapi_lists_the_error_answers(api: LightServer) -> None:
    schema = httpx.get(api.url + "/openapi.json").json()
    maintenance = schema["paths"]["/api/maintenance"]["post"]["responses"]
    for code in ("400", "401", "413", "422", "503"):
        assert PROBLEM in maintenance[code]["content"], code
    listing = schema["paths"]["/api/incidents"]["get"]["responses"]
    assert {"401", "422", "503"} <= set(listing)
    assert "Problem" in schema["components"]["schemas"]


def test_hsts_only_with_an_https_public_address(
    api: LightServer, inventory: Inventory, tmp_path: Path
) -> None:
    answer = httpx.get(api.url + "/healthz")
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" in httpx.get(api.url + "/api/incidents").headers  # errors too
    with light_server(tmp_path, inventory, WebOptions(public_base_url="http://10.0.0.1:8000")) as plain:
        assert "strict-transport-security" not in httpx.get(plain.url + "/healthz").headers
