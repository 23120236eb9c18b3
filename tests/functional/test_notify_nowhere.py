"""No message goes nowhere silently (issue 16, observation 4), against a real SMTP server.

With only ``smtp_host`` set, city-level incidents (routers, DNS) used to reach
nobody: a log warning at incident time, ``/readyz`` ok, nothing in the
timeline. Now: start fails naming the post and what to set, ``noc_email`` is
the NOC's address, the timeline records every send and failure, and a service
without any channel says where alerts cannot go (``/readyz``, banner, timeline).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.errors import ConfigError
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab.generator import generate_lab
from lab.outages import behind
from tests.functional.notify_peers import SmtpSink
from tests.unit.alerting.helpers import results
from trucban.service import Service, build_service
from trucban.settings import load_settings

pytestmark = pytest.mark.functional
NOC = "noc@lab.invalid"
AGG = "p31-agg02"


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    """A small generated Hải Phòng network (two aggregation routers, core, DNS)."""
    return load_inventory(generate_lab(tmp_path_factory.mktemp("lab"), "31", port=16199, limit=25).inventory)


@pytest.fixture()
def plain_smtp() -> Iterator[SmtpSink]:
    """A plain SMTP server on loopback (no TLS, no AUTH), as a small office relay."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def service(tmp_path: Path, inventory: Inventory, **settings: Any) -> Service:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return build_service(load_settings(env={}, data_dir=data, trap_port=0, **settings), inventory)


def close(svc: Service) -> None:
    if svc.notify is not None:
        svc.notify.worker.close()
    svc.store.close()
    svc.alerting.engine.dispose()


def city_outage(svc: Service, inventory: Inventory) -> int:
    """The aggregation router and everything behind it stop answering; the city-level incident's id."""
    now = int(time.time())
    svc.alerting(results(inventory, now - 30))
    svc.alerting(results(inventory, now, silent=set(behind(inventory, AGG))))
    incident = svc.alerting.incidents.active().get(f"device_down:{AGG}")
    assert incident is not None, svc.alerting.incidents.active().keys()
    return incident.id


def deliver(svc: Service, until: object, timeout: float = 20.0) -> None:
    """Run the outbox worker (timers included) once a second until ``until()`` holds."""
    assert svc.notify is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        svc.notify.run_once()
        if until():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError("timed out")


def timeline(svc: Service, incident_id: int) -> list[str]:
    return [e.text for e in svc.alerting.incidents.get(incident_id).events]


def test_plain_smtp_host_without_noc_email_fails_at_start_naming_the_post(
    tmp_path: Path, inventory: Inventory, plain_smtp: SmtpSink
) -> None:
    with pytest.raises(ConfigError) as err:
        service(tmp_path, inventory, smtp_host="127.0.0.1", smtp_port=plain_smtp.port, smtp_starttls=False)
    text = str(err.value)
    assert "post 'noc'" in text and "e-mail address" in text and "noc_email" in text, text


def test_noc_email_receives_city_incidents_and_the_timeline_records_the_send(
    tmp_path: Path, inventory: Inventory, plain_smtp: SmtpSink
) -> None:
    svc = service(
        tmp_path, inventory, smtp_host="127.0.0.1", smtp_port=plain_smtp.port, smtp_starttls=False,
        noc_email=NOC,
    )
    try:
        incident = city_outage(svc, inventory)
        deliver(svc, lambda: plain_smtp.to(NOC))
        (mail,) = plain_smtp.to(NOC)
        assert str(incident) in mail.header("X-Trucban-Down")
        deliver(svc, lambda: any(t.startswith("Đã gửi") for t in timeline(svc, incident)))
        sent = [t for t in timeline(svc, incident) if t.startswith("Đã gửi")]
        assert "email" in sent[0] and "Trực ban NOC" in sent[0], sent
        body = TestClient(svc.app()).get("/readyz").json()
        assert "notify_no_channel" not in {p["code"] for p in body["problems"]}, body
    finally:
        close(svc)


def test_a_failed_send_is_in_the_timeline(tmp_path: Path, inventory: Inventory, plain_smtp: SmtpSink) -> None:
    svc = service(
        tmp_path, inventory, smtp_host="127.0.0.1", smtp_port=plain_smtp.port, smtp_starttls=False,
        noc_email=NOC,
    )
    plain_smtp.stop()  # the relay is down when the incident opens
    try:
        incident = city_outage(svc, inventory)
        deliver(svc, lambda: any(t.startswith("Gửi không được") for t in timeline(svc, incident)))
        failed = [t for t in timeline(svc, incident) if t.startswith("Gửi không được")]
        assert "email" in failed[0] and "thử lại" in failed[0], failed
    finally:
        close(svc)


def test_without_any_channel_the_demo_starts_but_says_where_alerts_cannot_go(
    tmp_path: Path, inventory: Inventory
) -> None:
    svc = service(tmp_path, inventory)  # the embedded demo: no smtp_host, no routes file
    try:
        incident = city_outage(svc, inventory)
        nowhere = [t for t in timeline(svc, incident) if t.startswith("Không gửi")]
        assert nowhere and "Trực ban NOC thành phố" in nowhere[0] and "không có kênh liên lạc" in nowhere[0]
        client = TestClient(svc.app())
        ready = client.get("/readyz")
        assert ready.status_code == 503, ready.text
        body = ready.json()
        assert "noc" in body["posts_without_channel"], body
        problem = next(p for p in body["problems"] if p["code"] == "notify_no_channel")
        assert "Trực ban NOC thành phố" in problem["text"]
        page = client.get("/login")
        assert "Không gửi được cảnh báo tới:" in page.text and "Trực ban NOC thành phố" in page.text
    finally:
        close(svc)
