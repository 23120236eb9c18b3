"""The IOC API v1 with scoped tokens, and its OpenAPI document (paths and webhook payloads)."""

from __future__ import annotations

import httpx
import pytest

from tests.functional.conftest import RunningService, wait_for
from tests.functional.web_peers import accounts_of

pytestmark = pytest.mark.functional


def token(running: RunningService, name: str, communes: list[str] | None = None) -> dict[str, str]:
    _, secret = accounts_of(running.service).create_token(
        name, ["read"], created_by="test", communes=communes
    )
    return {"Authorization": f"Bearer {secret}"}


def test_ioc_reads_with_a_token(running: RunningService) -> None:
    wait_for(lambda: running.service.cycle.last is not None, 30)
    headers = token(running, "ioc-city")
    base = running.url + "/api/ioc/v1"
    communes = httpx.get(base + "/communes", headers=headers, timeout=10).json()
    codes = {c["code"] for c in communes}
    assert set(running.service.inventory.watched_communes) <= codes
    assert {"status", "bts", "connectivity", "devices", "active_incidents"} <= set(communes[0])
    page = httpx.get(base + "/incidents?status=active", headers=headers, timeout=10)
    assert page.status_code == 200 and page.json()["version"] == "1"
    ind = httpx.get(base + "/indicators?period=day", headers=headers, timeout=10).json()
    assert ind["indicators"]["communes_with_bts"] == len(running.service.inventory.watched_communes)
    avail = httpx.get(base + "/availability?by=role&period=day", headers=headers, timeout=10).json()
    assert {i["key"] for i in avail["items"]} >= {"router", "bts"}


def test_commune_token_sees_its_commune_only(running: RunningService) -> None:
    mine = running.service.inventory.watched_communes[0]
    other = running.service.inventory.watched_communes[1]
    headers = token(running, "ioc-one", [mine])
    base = running.url + "/api/ioc/v1"
    assert {c["code"] for c in httpx.get(base + "/communes", headers=headers, timeout=10).json()} == {mine}
    assert httpx.get(base + f"/incidents?commune={other}", headers=headers, timeout=10).status_code == 403
    assert httpx.get(base + "/availability?by=operator", headers=headers, timeout=10).status_code == 403
    items = httpx.get(base + "/availability?by=commune&period=day", headers=headers, timeout=10).json()[
        "items"
    ]
    assert [i["key"] for i in items] == [mine]


def test_no_token_no_data(running: RunningService) -> None:
    answer = httpx.get(running.url + "/api/ioc/v1/communes", timeout=10)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_openapi_documents_ioc_paths_and_webhooks(running: RunningService) -> None:
    doc = httpx.get(running.url + "/openapi.json", timeout=10).json()
    assert {
        "/api/ioc/v1/communes",
        "/api/ioc/v1/incidents",
        "/api/ioc/v1/indicators",
        "/api/ioc/v1/availability",
    } <= set(doc["paths"])
    assert {"ioc-incident", "ioc-typhoon"} <= set(doc["webhooks"])
    schema = doc["components"]["schemas"]["IocWebhookEvent"]
    assert {"event", "delivery", "occurred_at", "incident", "typhoon"} <= set(schema["properties"])
