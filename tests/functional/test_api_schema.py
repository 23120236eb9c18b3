"""schemathesis against the OpenAPI schema of a real server: no 500s, only documented codes and shapes.

Runs on its own Trucban instance (same lab inventory, own database, no poller),
so fuzzed maintenance windows never touch the shared running service.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

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
from api.context import ApiContext
from tests.functional.conftest import Lab, free_tcp_port
from tests.functional.notify_peers import SmtpSink
from trucban.service import build_service
from trucban.settings import load_settings
from trucban.web import web_security

pytestmark = pytest.mark.functional
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class FuzzServer:
    """A Trucban API server to fuzz, and the token that may do everything but admin."""

    url: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def fuzz_server(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzServer]:
    """The app on loopback without a poller; states stay unknown, incidents empty."""
    mail = SmtpSink()  # every post has a channel, so /readyz may be ready
    mail.start()
    s = load_settings(env={}, data_dir=tmp_path_factory.mktemp("fuzz"), http_port=free_tcp_port(),
                      smtp_host="127.0.0.1", smtp_port=mail.port, smtp_starttls=False,
                      noc_email="noc@lab.invalid")
    service = build_service(s, lab.inventory)
    security = web_security(s, service.alerting.engine)
    ctx = ApiContext(lab.inventory, service.alerting.tracker, service.store, service.cycle,
                     ZoneInfo(s.timezone), service.alerting, security=security)
    _, secret = security.accounts.create_token("fuzz", ["read", "ack", "maintenance", "typhoon"],
                                               created_by="tests")
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=s.http_port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "fuzz server did not start"
        time.sleep(0.05)
    try:
        yield FuzzServer(f"http://127.0.0.1:{s.http_port}", {"Authorization": f"Bearer {secret}"})
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        service.store.close()
        service.alerting.engine.dispose()
        mail.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_server: FuzzServer) -> schemathesis.BaseSchema:
    """The live OpenAPI schema."""
    return schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case: schemathesis.Case, fuzz_server: FuzzServer) -> None:
    case.call_and_validate(base_url=fuzz_server.url, headers=fuzz_server.headers, checks=CHECKS)
