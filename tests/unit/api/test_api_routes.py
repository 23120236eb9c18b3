"""The API as module-level routers with typed dependencies, and the domain enums as query types.

A small generated inventory (two Hải Phòng communes, never started), a fresh
alerting database and the real app, called in-process.
"""

from __future__ import annotations

import importlib
import pkgutil
import secrets
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

import api.routes
from alerting.core import AlertingCore
from alerting.db import database_url, open_database
from alerting.incidents import IncidentKind, IncidentStatus, Severity
from alerting.states import Status
from alerting.summary import CommuneStatus
from api.app import create_app
from api.auth.accounts import AccountStore
from api.auth.audit import AuditLog
from api.context import ApiContext, Security
from api.schemas import IncidentFilter
from api.series import METRICS, RANGES, MetricName, RangeName
from inventory.loader import load_inventory
from inventory.model import DeviceRole, SiteKind
from lab.generator import generate_lab
from store.sqlite import SqliteMetricStore

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class NoCycle:
    """No poller."""

    last = None


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    root: Path = tmp_path_factory.mktemp("api-routes")
    inventory = load_inventory(generate_lab(root / "lab", "31", port=16197, limit=2).inventory)
    store = SqliteMetricStore(root / "metrics.sqlite")
    engine = open_database(database_url(root / "alerting.sqlite"))
    core = AlertingCore(inventory, store, engine, timezone=TZ)
    security = Security(AccountStore(engine, secrets.token_bytes(32)), AuditLog(engine))
    ctx = ApiContext(inventory, core.tracker, store, NoCycle(), TZ, core, security=security)
    _, token = security.accounts.create_token("routes", ["read"], created_by="tests")
    with TestClient(create_app(ctx)) as test_client:
        yield test_client, {"Authorization": f"Bearer {token}"}
    store.close()
    engine.dispose()


def test_every_route_module_has_a_module_level_router_and_no_factory() -> None:
    for info in pkgutil.iter_modules(api.routes.__path__):
        module = importlib.import_module(f"api.routes.{info.name}")
        assert isinstance(getattr(module, "router", None), APIRouter), info.name


@pytest.mark.parametrize("kind", list(IncidentKind))
def test_incidents_filter_by_every_kind_the_rules_raise(
    client: tuple[TestClient, dict[str, str]], kind: IncidentKind
) -> None:
    http, auth = client
    answer = http.get("/api/incidents", params={"kind": kind.value}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json() == []


def test_domain_enums_are_the_query_vocabulary(client: tuple[TestClient, dict[str, str]]) -> None:
    http, auth = client
    asks = (
        [("/api/incidents", {"status": s.value}) for s in IncidentFilter]
        + [("/api/incidents", {"severity": str(int(s))}) for s in Severity]
        + [("/api/ioc/v1/incidents", {"status": s.value}) for s in IncidentFilter]
        + [("/api/devices", {"status": s.value}) for s in Status]
        + [("/api/devices", {"role": r.value}) for r in DeviceRole]
        + [("/api/communes", {"status": s.value}) for s in CommuneStatus]
        + [("/api/sites", {"kind": k.value}) for k in SiteKind]
    )
    for path, params in asks:
        assert http.get(path, params=params, headers=auth).status_code == 200, (path, params)
    for path, params in [("/api/incidents", {"kind": "no_such_kind"}), ("/api/incidents", {"severity": "5"}),
                         ("/api/devices", {"role": "toaster"}), ("/api/communes", {"status": "fine"})]:
        assert http.get(path, params=params, headers=auth).status_code == 422, (path, params)


def test_incident_filter_covers_every_domain_status() -> None:
    assert {s.value for s in IncidentStatus} < {f.value for f in IncidentFilter}
    assert set(RANGES) == set(RangeName.__args__) and set(METRICS) == set(MetricName.__args__)


def test_report_parameters_are_shared(client: tuple[TestClient, dict[str, str]]) -> None:
    http, auth = client
    for path in ("/api/reports/availability", "/api/reports/daily", "/api/ioc/v1/indicators",
                 "/api/ioc/v1/availability"):
        assert http.get(path, params={"period": "day"}, headers=auth).status_code == 200, path
        bad = http.get(path, params={"period": "day", "date": "2026-13-40"}, headers=auth)
        assert bad.status_code == 422 and "YYYY-MM-DD" in bad.json()["detail"], path
    schema = http.get("/openapi.json").json()["paths"]
    names = {p["name"] for p in schema["/api/reports/availability"]["get"]["parameters"]}
    assert {"period", "date", "start", "end", "by"} <= names


def test_pages_send_strangers_to_the_login_form(client: tuple[TestClient, dict[str, str]]) -> None:
    http, _ = client
    for path in ("/", "/incidents", "/coordinator", "/admin", "/reports", "/runbooks/device_down.md"):
        answer = http.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), path
