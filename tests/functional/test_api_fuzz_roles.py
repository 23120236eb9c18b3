"""schemathesis by role: anonymous, a commune-scoped viewer, an operator and an admin fuzz every operation.

Each generated case is sent four times, once as each caller (browser sessions
with their CSRF header; anonymous with nothing); every answer must be a
documented status with a documented body and content type, and never a 500.
One Trucban instance of its own (three generated communes, own database, no
poller, no SNMP agents), a bounded number of examples per operation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.auth.roles import Role
from api.context import ApiContext
from inventory.loader import load_inventory
from lab.generator import generate_lab
from tests.functional.conftest import free_tcp_port
from tests.functional.notify_peers import SmtpSink
from tests.functional.web_peers import PASSWORD, login
from trucban.service import build_service
from trucban.settings import load_settings
from trucban.web import web_security

pytestmark = pytest.mark.functional
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 6  # per operation; each example is sent once per role
ROLES = ("anonymous", "viewer", "operator", "admin")


@dataclass
class RoleServer:
    """The server and, per role, the headers its requests carry."""

    url: str
    headers: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def role_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoleServer]:
    layout = generate_lab(tmp_path_factory.mktemp("lab"), "31", port=16197, limit=3)
    inventory = load_inventory(layout.inventory)
    mail = SmtpSink()
    mail.start()
    s = load_settings(env={}, data_dir=tmp_path_factory.mktemp("fuzz-roles"), http_port=free_tcp_port(),
                      smtp_host="127.0.0.1", smtp_port=mail.port, smtp_starttls=False,
                      noc_email="noc@lab.invalid")
    service = build_service(s, inventory)
    security = web_security(s, service.alerting.engine)
    ctx = ApiContext(inventory, service.alerting.tracker, service.store, service.cycle,
                     ZoneInfo(s.timezone), service.alerting, security=security)
    mine = inventory.watched_communes[1]
    for n in range(8):  # fuzzed user ids land on these, not on the callers (admin may disable them)
        security.accounts.create_user(f"spare{n}", PASSWORD, Role.VIEWER, communes=[mine])
    security.accounts.create_user("fz-viewer", PASSWORD, Role.VIEWER, communes=[mine])
    security.accounts.create_user("fz-operator", PASSWORD, Role.OPERATOR)
    security.accounts.create_user("fz-admin", PASSWORD, Role.ADMIN)
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=s.http_port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "fuzz server did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{s.http_port}"
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in ("viewer", "operator", "admin"):
        client = login(url, f"fz-{role}")
        session, csrf = client.cookies.get("tb_session"), client.cookies.get("tb_csrf")
        client.close()
        headers[role] = {"Cookie": f"tb_session={session}; tb_csrf={csrf}", "X-CSRF-Token": csrf or ""}
        me = httpx.get(url + "/api/me", headers=headers[role], timeout=10).json()
        assert me["role"] == role and (me["communes"] == [mine]) == (role == "viewer"), me
    try:
        yield RoleServer(url, headers)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        service.store.close()
        service.alerting.engine.dispose()
        mail.stop()


@pytest.fixture(scope="module")
def role_schema(role_server: RoleServer) -> schemathesis.BaseSchema:
    """The live OpenAPI schema."""
    return schemathesis.openapi.from_url(role_server.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("role_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_role_gets_documented_answers(case: schemathesis.Case, role_server: RoleServer) -> None:
    for role in ROLES:
        case.call_and_validate(base_url=role_server.url, headers=role_server.headers[role], checks=CHECKS)
