"""Recovery shows at once (issue 17, point 9): a repaired commune turns green on the NOC screen within
about one poll interval, even when the devices behind its router had sat on the five-minute downtime
backoff of a long outage."""

from __future__ import annotations

import asyncio
import time

import pytest

from lab.outages import cut, restore
from tests.functional.browser_peers import browser_fixture, log_in, shot  # noqa: F401 - the fixture
from tests.functional.conftest import POLL_INTERVAL_S, Lab, RunningService, wait_for
from tests.functional.web_peers import PASSWORD

pytestmark = [pytest.mark.functional, pytest.mark.asyncio(loop_scope="session")]


def _status(running: RunningService, code: str) -> str:
    return str(next(c["status"] for c in running.get("/api/communes").json() if c["code"] == code))


async def test_a_repaired_commune_is_green_within_an_interval(
    browser, running: RunningService, healthy_lab: Lab
) -> None:
    inv = healthy_lab.inventory
    code = inv.watched_communes[4]
    router = f"c{code}-r1"
    await asyncio.to_thread(wait_for, lambda: _status(running, code) == "ok", 40)
    context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    page = await context.new_page()
    await log_in(page, running.url, "operator", PASSWORD)
    await page.wait_for_selector(f"#c-{code}")
    behind = cut(healthy_lab.layout.state_dir, inv, router)
    try:
        await page.wait_for_selector(f'#c-{code}[data-status="isolated"]', timeout=25_000)
        poller = running.service.cycle
        children = [d for d in behind if d != router]
        await asyncio.to_thread(wait_for, lambda: all(poller.downtime.is_down(d) for d in behind), 20)
        # an outage of an hour: everything behind the router is on the 5-minute backoff, just tried;
        # polls already in flight (a timeout takes up to 2 s) are let finish first
        for _ in range(2):
            now = time.monotonic()
            for dev in behind:
                poller.downtime.down_since[dev] = now - 3600
                poller.downtime.last_try[dev] = now
            await asyncio.sleep(2.5)
        inflight = set().union(*(c._inflight for c in poller.cycles.values()))
        assert not inflight & set(children)
        assert all(poller.downtime.is_down(d) for d in behind)
        assert not any(poller.downtime.due(d, time.monotonic(), POLL_INTERVAL_S) for d in children)
        poller.downtime.last_try[router] = now - 3600  # the router itself is tried next cycle
    finally:
        repaired = time.monotonic()
        restore(healthy_lab.layout.state_dir, inv, router)
    try:
        await page.wait_for_selector(f'#c-{code}[data-status="ok"]', timeout=30_000)
        green_s = time.monotonic() - repaired
        await shot(page, "40-noc-commune-green-after-repair")
        print(f"repaired → green on screen in {green_s:.1f} s (poll interval {POLL_INTERVAL_S:g} s)")
        # one interval to see the router, its children polled at once, one live push
        assert green_s <= 2 * POLL_INTERVAL_S + 3.0
        assert not any(poller.downtime.is_down(d) for d in behind)
    finally:
        await context.close()
