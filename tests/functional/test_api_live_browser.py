"""Live and stale, in real Chromium: a change is on every screen within 5 s without a reload, and a
screen that hears nothing from the server for twice the refresh period says so, then clears itself.

The real app on uvicorn (a light server: no poller; the test plays the poll results into the real
alerting core), the refresh period set to 2 s. The stale case goes through a TCP relay the test can
freeze — connections stay open but nothing gets through, as on a weak link — and thaw.
Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.auth.roles import Role
from api.context import WebOptions
from inventory.inventory import Inventory
from lab.outages import behind
from tests.functional.api_peers import PASSWORD, LightServer, light_inventory, light_server
from tests.functional.browser_peers import browser_fixture, log_in, shot  # noqa: F401 - the fixture
from tests.functional.conftest import free_tcp_port
from tests.unit.alerting.helpers import results

pytestmark = [pytest.mark.functional, pytest.mark.asyncio(loop_scope="session")]
REFRESH_S = 2
LIVE_WITHIN_S = 5.0
COMMUNE = "10507"
ROUTER = f"c{COMMUNE}-r1"
DNS = "p31-dns1"  # a DNS server down is a critical incident
OTHER_BTS = "c10525-bts1"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LightServer, Inventory]]:
    root: Path = tmp_path_factory.mktemp("live")
    inventory = light_inventory(root / "lab")
    with light_server(root / "server", inventory, web=WebOptions(refresh_s=REFRESH_S)) as server:
        server.security.accounts.create_user("operator", PASSWORD, Role.OPERATOR)
        yield server, inventory


def poll(server: LightServer, inventory: Inventory, silent: set[str]) -> None:
    """One poll cycle's results into the real alerting core (what the poller hands it)."""
    assert server.ctx.alerting is not None
    server.ctx.alerting(results(inventory, int(time.time()), silent=silent))


class Relay:
    """A TCP relay in front of the server; ``freeze`` keeps connections open but lets nothing through."""

    def __init__(self, target: int) -> None:
        self.target, self.port = target, free_tcp_port()
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        self.flowing.set()
        if self.server is not None:
            self.server.close()

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    await self.flowing.wait()
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))


async def test_every_screen_shows_a_change_within_5_s_without_reload(
    browser, world: tuple[LightServer, Inventory]
) -> None:
    server, inventory = world
    core = server.ctx.alerting
    assert core is not None
    poll(server, inventory, set())
    poll(server, inventory, {OTHER_BTS})  # an incident that exists before the screens open
    earlier = core.incidents.active()[f"device_down:{OTHER_BTS}"].id

    first = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = await first.new_page()
    await log_in(page, server.url, "operator", PASSWORD)
    state = await first.storage_state()
    screens = {
        "noc": ("/", f'#c-{COMMUNE}[data-status="isolated"]'),
        "incidents": ("/incidents", f'#incident-rows a:has-text("{inventory.devices[ROUTER].name}")'),
        "incident": (f"/incidents/{earlier}", "#inc-facts #acked-by"),
        "coordinator": ("/coordinator", f'#k{COMMUNE}[data-b="isolated"]'),
        "device": (f"/devices/{ROUTER}", "#dev-head .badge.dev-down"),
        "commune": (f"/communes/{COMMUNE}", "#commune-head .badge.isolated"),
    }
    contexts = [first]
    pages = {}
    for name, (path, _) in screens.items():  # one browser context each: a live stream holds a connection
        context = first if name == "noc" else await browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="vi-VN", storage_state=state)
        if context is not first:
            contexts.append(context)
        tab = page if name == "noc" else await context.new_page()
        await tab.goto(server.url + path)
        await tab.wait_for_selector('body[data-live="on"]', timeout=10_000)
        await tab.evaluate("window.__sameDocument = true")
        pages[name] = tab
    title = await pages["noc"].title()
    assert not re.match(r"^\(\d+\) ", title), title
    try:
        started = time.monotonic()
        await asyncio.to_thread(poll, server, inventory, {*behind(inventory, ROUTER), DNS, OTHER_BTS})
        await asyncio.to_thread(core.incidents.acknowledge, earlier, "Điều phối viên", "", int(time.time()))

        async def seen(name: str) -> float:
            await pages[name].wait_for_selector(screens[name][1], timeout=LIVE_WITHIN_S * 1000 + 2000)
            return time.monotonic() - started

        took = dict(zip(screens, await asyncio.gather(*(seen(n) for n in screens)), strict=True))
        assert all(s <= LIVE_WITHIN_S for s in took.values()), took
        for name, tab in pages.items():
            assert await tab.evaluate("window.__sameDocument === true"), f"{name} reloaded"
        deadline = time.monotonic() + LIVE_WITHIN_S  # the tab-title count of open critical incidents
        while not re.match(r"^\(\d+\) ", await pages["noc"].title()):
            assert time.monotonic() < deadline, await pages["noc"].title()
            await asyncio.sleep(0.1)
        assert "Khẩn cấp" in await pages["noc"].inner_text("#active-rows")
        await shot(pages["noc"], "30-noc-live-change")
        await shot(pages["incident"], "31-incident-live-ack")
        print("live: seconds from the change to the screen", {k: round(v, 2) for k, v in took.items()})
    finally:
        for context in contexts:
            await context.close()
        await asyncio.to_thread(poll, server, inventory, set())


async def test_stale_banner_within_twice_the_refresh_period_and_clears_on_reconnect(
    browser, world: tuple[LightServer, Inventory]
) -> None:
    server, inventory = world
    relay = Relay(server.port)
    url = await relay.start()
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    try:
        page = await context.new_page()
        await log_in(page, url, "operator", PASSWORD)
        await page.wait_for_selector('body[data-live="on"]', timeout=10_000)
        await page.evaluate("window.__sameDocument = true")
        assert await page.locator("#stale").is_hidden()

        relay.freeze()  # the link goes silent: no error, no close, just nothing
        frozen = time.monotonic()
        await page.wait_for_selector("#stale:not([hidden])", timeout=(2 * REFRESH_S + 3) * 1000)
        took = time.monotonic() - frozen
        silent_ms = int(await page.evaluate("document.body.dataset.silentMs"))  # since the last word
        assert 2 * REFRESH_S * 1000 <= silent_ms <= 2 * REFRESH_S * 1000 + 500, silent_ms
        assert took <= 2 * REFRESH_S + 1.5, took  # the last word came just before the freeze
        banner = await page.inner_text("#stale")
        assert re.fullmatch(r"Mất kết nối tới máy chủ — dữ liệu lúc \d\d:\d\d:\d\d", banner.strip()), banner
        await shot(page, "32-noc-stale-banner")
        await asyncio.to_thread(poll, server, inventory, set(behind(inventory, ROUTER)))  # changes meanwhile

        relay.thaw()
        thawed = time.monotonic()
        await page.wait_for_selector("#stale[hidden]", state="attached", timeout=10_000)
        await page.wait_for_selector(f'#c-{COMMUNE}[data-status="isolated"]', timeout=LIVE_WITHIN_S * 1000)
        assert await page.evaluate("window.__sameDocument === true")
        print(f"stale: banner {silent_ms / 1000:.1f} s after the last word ({took:.1f} s after the freeze), "
              f"cleared {time.monotonic() - thawed:.1f} s after the thaw")
        await shot(page, "33-noc-reconnected")
    finally:
        await context.close()
        await relay.stop()
        await asyncio.to_thread(poll, server, inventory, set())


async def test_old_data_shows_the_banner_while_the_server_still_answers(
    browser, world: tuple[LightServer, Inventory]
) -> None:
    """The other stale case: the server answers, but its newest poll is older than two intervals."""
    from poller.cycle import CycleReport

    server, _inventory = world
    cycle = server.ctx.cycle
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    try:
        page = await context.new_page()
        await log_in(page, server.url, "operator", PASSWORD)
        await page.wait_for_selector('body[data-live="on"]', timeout=10_000)
        cycle.last = CycleReport(int(time.time()) - 60, 1.0, 10, 10, plan="snmp-reachability", interval_s=2.0)
        await page.wait_for_selector('body[data-live="old"]', timeout=(2 * REFRESH_S + 3) * 1000)
        banner = (await page.inner_text("#stale")).strip()
        old = r"Số liệu cũ: không có kết quả đo mới — lần đo gần nhất lúc \d\d:\d\d:\d\d"
        assert re.fullmatch(old, banner), banner
        await shot(page, "34-noc-old-data-banner")
        cycle.last = CycleReport(int(time.time()), 1.0, 10, 10, plan="snmp-reachability", interval_s=2.0)
        await page.wait_for_selector('body[data-live="on"]', timeout=(2 * REFRESH_S + 3) * 1000)
        assert await page.locator("#stale").is_hidden()
    finally:
        cycle.last = None
        await context.close()
