"""Real browser (headless Chromium) against the running service on the lab: log in, overview,
an outage turning a commune red without reloading, acknowledge, device charts, coordinator on a phone."""

from __future__ import annotations

import asyncio

import pytest

from api.auth.roles import Role
from lab.outages import cut, restore
from tests.functional.browser_peers import browser_fixture, log_in, shot  # noqa: F401 - the fixture
from tests.functional.conftest import Lab, RunningService, wait_for
from tests.functional.web_peers import PASSWORD, ensure_user

pytestmark = [pytest.mark.functional, pytest.mark.asyncio(loop_scope="session")]


def _all_ok(running: RunningService) -> bool:
    return all(c["status"] == "ok" for c in running.get("/api/communes").json())


async def test_outage_turns_commune_red_live_and_operator_acknowledges(
    browser, running: RunningService, healthy_lab: Lab
) -> None:
    await asyncio.to_thread(wait_for, lambda: _all_ok(running), 40)
    context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    page = await context.new_page()
    await log_in(page, running.url, "operator", PASSWORD)
    assert page.url.rstrip("/") == running.url
    await page.wait_for_selector("#communes tbody tr")
    assert "Bình thường" in await page.inner_text("#communes")
    await shot(page, "01-noc-overview")

    code = healthy_lab.inventory.watched_communes[3]
    await page.evaluate("window.__sameDocument = true")
    cut(healthy_lab.layout.state_dir, healthy_lab.inventory, f"c{code}-r1")
    try:
        await page.wait_for_selector(f'#c-{code}[data-status="isolated"]', timeout=25_000)
        assert await page.evaluate("window.__sameDocument === true")  # no reload happened
        assert "Mất kết nối toàn xã" in await page.inner_text(f"#c-{code}")
        await shot(page, "02-noc-commune-red")

        await page.goto(f"{running.url}/incidents?status=open&commune={code}")
        link = page.locator("#incident-list tbody a").first
        await link.wait_for(timeout=10_000)
        await link.click()
        await page.fill("#ack-form input[name=comment]", "Đã cử kỹ thuật viên xuống trạm")
        await page.click("#ack-form button")
        await page.wait_for_selector("#acked-by")
        assert "Đã xác nhận" in await page.inner_text("#inc-status")
        assert "operator" in await page.inner_text("#timeline")
        await shot(page, "03-incident-acknowledged")
    finally:
        restore(healthy_lab.layout.state_dir, healthy_lab.inventory, f"c{code}-r1")
        await context.close()
    await asyncio.to_thread(wait_for, lambda: _all_ok(running), 30)


async def test_device_page_draws_charts_and_switches_range(
    browser,
    running: RunningService,
    healthy_lab: Lab,
) -> None:
    code = healthy_lab.inventory.watched_communes[0]
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await log_in(page, running.url, "operator", PASSWORD)
    await page.goto(f"{running.url}/devices/c{code}-pwr1")
    await page.wait_for_selector('figure[data-metric="rtt"][data-state="drawn"] canvas', timeout=20_000)
    await page.wait_for_selector('figure[data-metric="battery"][data-state]', timeout=20_000)
    await page.click('#ranges button[data-range="6h"]')
    await page.wait_for_selector('#ranges button.on[data-range="6h"]')
    await page.wait_for_selector('figure[data-metric="rtt"][data-state="drawn"] canvas')
    await shot(page, "04-device-charts")
    await context.close()


async def test_coordinator_map_and_list_on_a_phone(
    browser,
    running: RunningService,
    healthy_lab: Lab,
) -> None:
    ensure_user(running.service, "coord-phone", Role.COORDINATOR)
    communes = healthy_lab.inventory.watched_communes
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    page = await context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    await log_in(page, running.url, "coord-phone", PASSWORD)
    assert page.url.endswith("/coordinator")
    await page.wait_for_selector("#commune-map[data-state=drawn]", state="attached")  # folded on a phone
    assert await page.locator("#commune-map .leaflet-tb-dots-pane path.tb-dot").count() == len(communes)
    assert await page.locator("#coord tbody tr").count() == len(communes)
    await page.wait_for_selector("#updated:not(:empty)", timeout=15_000)
    await shot(page, "05-coordinator-phone")
    name = healthy_lab.inventory.commune_ref(communes[1]).name
    plain = name.split()[-1].lower()
    await page.fill("#q", plain)
    visible = await page.locator("#coord tbody tr:not([hidden])").count()
    assert 1 <= visible < len(communes)
    await page.fill("#q", "")
    await page.click('#coord th[data-sort="name"]')
    names = await page.locator("#coord tbody tr td:first-child").all_inner_texts()
    assert names == sorted(names)
    await page.click("#lang")
    await page.wait_for_selector("h1:has-text('Coordinator')")  # the nav is a folded menu on a phone
    await shot(page, "06-coordinator-phone-english")
    await page.click("#lang")
    assert all(u.startswith(running.url) for u in requests), "no request may leave the server (no CDN)"
    await context.close()
