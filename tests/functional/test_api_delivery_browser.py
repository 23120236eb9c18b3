"""Was the post told? In real Chromium: every incident page says who was notified, through which
channel, when, and whether it was delivered, failed, is retrying, or no channel reaches the post.

The real service (real notifier, outbox worker and timeline) against a real SMTP server on loopback,
served by uvicorn without its lifespan (no poller: the test plays the poll results); a second service
without any channel, as the embedded demo runs. Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.auth.roles import Role
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab.generator import generate_lab
from lab.outages import behind
from tests.functional.browser_peers import browser_fixture, log_in, shot  # noqa: F401 - the fixture
from tests.functional.conftest import free_tcp_port
from tests.functional.notify_peers import SmtpSink
from tests.functional.web_peers import PASSWORD, ensure_user, login
from tests.unit.alerting.helpers import results
from trucban.service import Service, build_service
from trucban.settings import load_settings

pytestmark = [pytest.mark.functional, pytest.mark.asyncio(loop_scope="session")]
NOC = "noc@lab.invalid"
AGG = "p31-agg02"


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    """A small generated Hải Phòng network (two aggregation routers, core, DNS), never started."""
    return load_inventory(generate_lab(tmp_path_factory.mktemp("lab"), "31", port=16191, limit=25).inventory)


def build(tmp_path: Path, inventory: Inventory, **settings: Any) -> Service:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return build_service(load_settings(env={}, data_dir=data, trap_port=0, **settings), inventory)


@contextmanager
def served(svc: Service) -> Iterator[str]:
    """The service's app on a free loopback port, without its lifespan (the test is the poller)."""
    port = free_tcp_port()
    server = uvicorn.Server(uvicorn.Config(svc.app(), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if svc.notify is not None:
            svc.notify.worker.close()
        svc.store.close()
        svc.alerting.engine.dispose()


def outage(svc: Service, inventory: Inventory, device: str) -> int:
    """``device`` and everything behind it stop answering; its device_down incident's id."""
    now = int(time.time())
    svc.alerting(results(inventory, now - 30))
    svc.alerting(results(inventory, now, silent=set(behind(inventory, device))))
    incident = svc.alerting.incidents.active().get(f"device_down:{device}")
    assert incident is not None, svc.alerting.incidents.active().keys()
    return incident.id


def deliver(svc: Service, until: Callable[[], bool], timeout: float = 20.0) -> None:
    """Run the notifier and outbox worker once a second until ``until()`` holds."""
    assert svc.notify is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        svc.notify.run_once()
        if until():
            return
        time.sleep(0.5)
    raise AssertionError("timed out")


def kinds(svc: Service, incident_id: int) -> set[str]:
    return {e.kind for e in svc.alerting.incidents.get(incident_id).events}


async def test_incident_pages_say_who_was_told_and_how_it_went(
    browser, tmp_path: Path, inventory: Inventory
) -> None:
    smtp = SmtpSink()
    smtp.start()
    svc = build(tmp_path, inventory, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False,
                noc_email=NOC)
    ensure_user(svc, "operator", Role.OPERATOR)
    try:
        with served(svc) as url:
            told = outage(svc, inventory, AGG)
            await asyncio.to_thread(deliver, svc, lambda: "notify_sent" in kinds(svc, told))
            smtp.stop()  # the relay dies: the next incident's messages cannot leave
            cut = behind(inventory, AGG)
            router = next(d for d in inventory.devices if d.endswith("-r1") and d not in cut)
            failing = outage(svc, inventory, router)
            await asyncio.to_thread(deliver, svc, lambda: "notify_failed" in kinds(svc, failing))

            client = login(url, "operator")  # the JSON API says the same as the page
            try:
                body = client.get(f"/api/incidents/{told}").json()
                sent = [d for d in body["deliveries"] if d["status"] == "delivered"]
                assert sent and sent[0]["channel"] == "email" and sent[0]["post"] == "noc", body["deliveries"]
                assert sent[0]["at_local"] and body["undelivered_posts"] == []
                failed = client.get(f"/api/incidents/{failing}").json()["deliveries"]
                assert {d["status"] for d in failed} == {"failed"}, failed
                assert all(d["failed_channels"] == ["email"] and d["error"] for d in failed), failed
            finally:
                client.close()

            context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
            page = await context.new_page()
            await log_in(page, url, "operator", PASSWORD)
            await page.goto(f"{url}/incidents/{told}")
            row = page.locator('#deliveries tr[data-status="delivered"][data-post="noc"]').first
            text = await row.inner_text()
            assert "Đã gửi" in text and "email" in text and "Trực ban NOC" in text, text
            assert await page.locator("#undelivered").count() == 0
            await shot(page, "20-incident-delivered")
            await page.goto(f"{url}/incidents/{failing}")
            row = page.locator('#deliveries tr[data-status="failed"]').first
            text = await row.inner_text()
            assert "Gửi thất bại" in text and "thử lại lúc" in text and "email" in text, text
            await shot(page, "21-incident-delivery-failed")
            await context.close()
    finally:
        smtp.stop()


async def test_a_post_no_channel_reaches_is_a_banner_on_its_incident(
    browser, tmp_path: Path, inventory: Inventory
) -> None:
    svc = build(tmp_path, inventory)  # the embedded demo: no channel at all
    ensure_user(svc, "operator", Role.OPERATOR)
    with served(svc) as url:
        incident = outage(svc, inventory, AGG)
        async with httpx.AsyncClient(base_url=url) as anonymous:
            assert (await anonymous.get(f"/api/incidents/{incident}")).status_code == 401
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        page = await context.new_page()
        await log_in(page, url, "operator", PASSWORD)
        await page.goto(f"{url}/incidents/{incident}")
        banner = await page.inner_text("#undelivered")
        assert "Không báo được sự cố này tới" in banner and "Trực ban NOC thành phố" in banner, banner
        row = await page.locator('#deliveries tr[data-status="no_channel"]').first.inner_text()
        assert "Không có kênh liên lạc" in row, row
        assert "Không gửi được cảnh báo tới" in await page.inner_text("#nowhere")  # the service-wide banner
        await shot(page, "22-incident-no-channel")
        await context.close()
