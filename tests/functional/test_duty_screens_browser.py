"""The duty officer's screens in real Chromium (issue 17): problems first, one battery figure, charts
that do not lie, names everywhere, entry points, accessibility (axe-core, 0 serious/critical).

The real app on uvicorn over a generated eight-commune Hải Phòng lab (no poller: the test plays poll
results into the real alerting core and writes UPS and reachability samples into the real metric store).
Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from alerting.battery import battery_figure
from api.auth.roles import Role
from api.context import WebOptions
from api.noc import fold
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab.generator import generate_lab
from lab.outages import behind
from store.base import Sample
from storm.desk import StormDesk
from tests.functional.api_peers import PASSWORD, LightServer, light_server
from tests.functional.browser_peers import browser_fixture, log_in, shot  # noqa: F401 - the fixture
from tests.functional.web_peers import login
from tests.unit.alerting.helpers import results

pytestmark = [pytest.mark.functional]
in_browser = pytest.mark.asyncio(loop_scope="session")  # the session's one Chromium
COMMUNES = 8
TOP = "document.getElementById('%s').getBoundingClientRect().top"


class World:
    """The served app, its inventory and the lab's named pieces."""

    def __init__(self, server: LightServer, inventory: Inventory) -> None:
        self.server, self.inv = server, inventory
        codes = inventory.watched_communes
        self.codes = codes
        self.cut = codes[2]  # its access router fails: the commune is cut off
        self.battery = codes[4]  # its BTS power system runs on battery
        self.power = f"c{self.battery}-pwr1"
        self.bts_down = f"c{codes[5]}-bts1"  # a BTS not answering: its RTT chart has gaps
        self.silent = {*behind(inventory, f"c{self.cut}-r1"), self.bts_down}
        self.t0 = int(time.time()) - 1800

    def name(self, code: str) -> str:
        return self.inv.commune_ref(code).name

    def poll(self, ts: int) -> None:
        """One cycle: the cut commune's router and the BTS silent, the power system on battery."""
        core = self.server.ctx.alerting
        assert core is not None
        minutes = (ts - self.t0) / 60
        self.server.ctx.store.write([
            Sample("ups", {"device": self.power},
                   {"output_source": 5, "seconds_on_battery": int(ts - self.t0) + 60,
                    "charge_pct": round(95.0 - minutes * 0.5, 2), "minutes_remaining": 77}, ts),
            *[Sample("reachability", {"device": d}, {"up": 0 if d in self.silent else 1,
                                                     "latency_ms": 4000.0 if d in self.silent else 12.5}, ts)
              for d in (self.bts_down, f"c{self.codes[0]}-r1")],
        ])
        core(results(self.inv, ts, silent=self.silent))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root: Path = tmp_path_factory.mktemp("duty")
    layout = generate_lab(root / "lab", "31", port=16197, limit=COMMUNES)
    inventory = load_inventory(layout.inventory)
    with light_server(root / "server", inventory, web=WebOptions(refresh_s=2)) as server:
        server.security.accounts.create_user("operator", PASSWORD, Role.OPERATOR)
        server.security.accounts.create_user("coordinator", PASSWORD, Role.COORDINATOR)
        server.security.accounts.create_user("quantri", PASSWORD, Role.ADMIN)
        w = World(server, inventory)
        core = server.ctx.alerting
        assert core is not None
        server.ctx.storms = StormDesk(core.engine, inventory, core)
        core(results(inventory, w.t0 - 60))  # everything answered once
        for ts in range(w.t0, int(time.time()), 120):
            w.poll(ts)
        w.poll(int(time.time()))
        yield w


async def page_for(browser, world: World, user: str = "operator", **context_args: object):  # type: ignore[no-untyped-def]
    args = {"viewport": {"width": 1366, "height": 900}, "locale": "vi-VN", **context_args}
    context = await browser.new_context(**args)
    page = await context.new_page()
    await log_in(page, world.server.url, user, PASSWORD)
    return context, page


# 1. Problems first -------------------------------------------------------------------------------


@in_browser
async def test_noc_lists_problems_first_with_filters_in_the_url(browser, world: World) -> None:
    context, page = await page_for(browser, world)
    try:
        await page.goto(world.server.url + "/")
        rows = page.locator("#commune-rows tr")
        await rows.first.wait_for()
        statuses = [await r.get_attribute("data-status") for r in await rows.all()]
        order = ["isolated", "down", "battery", "degraded", "unknown", "ok"]
        assert statuses == sorted(statuses, key=order.index), statuses
        assert statuses[0] == "isolated"
        battery_row = page.locator(f"#c-{world.battery}")
        assert await battery_row.get_attribute("data-status") == "battery"
        text = await battery_row.inner_text()
        assert "ắc quy" in text and "Bình thường" not in text, text
        await shot(page, "40-noc-problems-first")

        # diacritic-insensitive search, into the URL
        target = world.name(world.codes[6])
        plain = fold(target)
        await page.fill("#noc-q", plain)
        visible = page.locator("#commune-rows tr:not([hidden])")
        assert await visible.count() == 1
        assert target in await visible.first.inner_text()
        assert parse_qs(urlsplit(page.url).query)["q"] == [plain]

        # problems only + status, shared as a link: a fresh page opens with the same view
        await page.fill("#noc-q", "")
        await page.check("#noc-problems")
        await page.select_option("#noc-status", "battery")
        assert await visible.count() == 1 and await visible.first.get_attribute("id") == f"c-{world.battery}"
        shared = page.url
        assert "problems=1" in shared and "status=battery" in shared
        other = await context.new_page()
        await other.goto(shared)
        assert await other.locator("#commune-rows tr:not([hidden])").count() == 1
        assert await other.is_checked("#noc-problems")
        await other.close()

        await page.select_option("#noc-status", "")
        await page.select_option("#noc-role", "router")
        ids = [await r.get_attribute("id") for r in await visible.all()]
        assert f"c-{world.cut}" in ids and f"c-{world.battery}" not in ids, ids
        await shot(page, "41-noc-filtered")
    finally:
        await context.close()


@in_browser
async def test_phone_in_storm_mode_list_first_menu_and_no_overflow(browser, world: World) -> None:
    for width in (360, 390):
        context, page = await page_for(browser, world, viewport={"width": width, "height": 800},
                                       is_mobile=True, has_touch=True)
        try:
            paths = ("/", "/coordinator", "/incidents", f"/devices/{world.power}", f"/communes/{world.cut}",
                     "/reports", "/runbooks", "/maintenance")
            for path in paths:
                await page.goto(world.server.url + path)
                await page.wait_for_load_state("networkidle")
                overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{path} overflows by {overflow}px at {width}px"
            await page.goto(world.server.url + "/")
            assert not await page.is_visible("#main-nav a[href='/incidents']")
            await page.click("#menu-toggle")
            assert await page.is_visible("#main-nav a[href='/incidents']")
            assert await page.get_attribute("#menu-toggle", "aria-expanded") == "true"
            list_top = await page.evaluate(TOP % "noc-communes")
            cards_top = await page.evaluate(TOP % "overview")
            assert list_top < cards_top and list_top < 800
            await shot(page, f"42-noc-phone-{width}")
            await page.goto(world.server.url + "/coordinator")
            table_top = await page.evaluate(TOP % "coord")
            assert table_top < 800, table_top
            assert await page.locator("details.map-fold").count() == 1
            assert not await page.locator("details.map-fold").get_attribute("open")
            await shot(page, f"43-coordinator-phone-{width}")
        finally:
            await context.close()


# 2. One figure -------------------------------------------------------------------------------------


def test_one_battery_figure_on_every_screen(world: World) -> None:
    server = world.server
    client = login(server.url, "operator")
    try:
        now = int(time.time())
        point = server.ctx.store.latest("ups", where={"device": world.power})[0]
        figure = battery_figure(server.ctx.store, world.power, point.fields, point.ts,
                                observable=True, now=now)
        assert figure.on_battery and figure.minutes_left is not None
        minutes = round(figure.minutes_left)
        assert minutes != 77  # the slope, not the UPS's own estimate

        row = next(r for r in client.get("/api/coordinator").json() if r["code"] == world.battery)
        assert round(row["minutes_left"]) == minutes, row
        series = client.get(f"/api/devices/{world.power}/series?metric=battery").json()
        assert round(series["projected_minutes"]) == minutes
        incidents = client.get("/api/incidents?status=active").json()
        inc = next(i for i in incidents if i["kind"] == "bts_on_battery")
        assert round(inc["details"]["minutes_left"]) == minutes
        assert f"còn khoảng {minutes} phút" in inc["title"]
        for path in (f"/devices/{world.power}", f"/incidents/{inc['id']}", "/coordinator", "/"):
            text = client.get(path).text
            assert f"còn khoảng {minutes} phút" in text, path
        device = client.get(f"/devices/{world.power}").text
        assert re.search(r'id="dev-status"[^>]*data-status="battery"', device)
        assert 'class="badge dev-up" id="dev-status"' not in device
    finally:
        client.close()


def test_last_known_figure_says_when_it_was_estimated(world: World, tmp_path: Path) -> None:
    from store.sqlite import SqliteMetricStore

    store = SqliteMetricStore(tmp_path / "m.sqlite")
    try:
        t = 1_790_000_000
        store.write([Sample("ups", {"device": "p"}, {"output_source": 5, "seconds_on_battery": 600,
                                                     "charge_pct": 80.0 - i}, t + 60 * i) for i in range(5)])
        fields = {"output_source": 5, "seconds_on_battery": 840, "charge_pct": 76.0}
        live = battery_figure(store, "p", fields, t + 240, observable=True, now=t + 240)
        later = battery_figure(store, "p", fields, t + 240, observable=False, now=t + 840)
        assert live.minutes_left == pytest.approx(76.0)
        assert later.minutes_left == pytest.approx(66.0)
        from zoneinfo import ZoneInfo

        assert "(ước tính lúc 21:17)" in later.label(ZoneInfo("Asia/Ho_Chi_Minh"))
    finally:
        store.close()


# 3. Charts that do not lie ---------------------------------------------------------------------------


@in_browser
async def test_charts_gaps_axes_bands_vietnamese_dates_custom_range(browser, world: World) -> None:
    client = login(world.server.url, "operator")
    try:
        rtt = _ok(client.get(f"/api/devices/{world.bts_down}/series?metric=rtt&range=1h")).json()
        values = [v for line in rtt["lines"] for _, v in line["points"]]
        assert None in values and 4000.0 not in values, values  # timeouts are gaps, not response times
        assert rtt["gaps"] > 0 and any(b["kind"] == "incident" for b in rtt["bands"])
        battery = _ok(client.get(f"/api/devices/{world.power}/series?metric=battery&range=1h")).json()
        assert battery["percent"] and {line["axis"] for line in battery["lines"]} == {"%", "phút"}
        lo = int(time.time()) - 1200
        path = f"/api/devices/{world.power}/series?metric=battery"
        custom = _ok(client.get(f"{path}&start={lo}&end={lo + 600}"))
        assert custom.json()["start"] == lo and custom.json()["end"] == lo + 600
        assert client.get(f"/api/devices/{world.power}/series?start={lo}&end={lo - 1}").status_code == 422
    finally:
        client.close()
    context, page = await page_for(browser, world)
    try:
        await page.goto(f"{world.server.url}/devices/{world.bts_down}")
        rtt_fig = 'figure[data-metric="rtt"]'
        await page.wait_for_selector(f'{rtt_fig}[data-state="drawn"]', timeout=15_000)
        assert int(await page.get_attribute(rtt_fig, "data-gaps") or 0) > 0
        assert int(await page.get_attribute(rtt_fig, "data-bands") or 0) >= 1
        assert "lần không trả lời" in await page.inner_text(f"{rtt_fig} .bands-legend")
        legend = await page.inner_text(f"{rtt_fig} .u-legend")
        assert "Thời gian" in legend and "Time" not in legend, legend
        stamp = await page.evaluate("TrucbanCharts.when(1790000000)")
        assert stamp == "21:13:20 21/09/2026", stamp  # vi-VN as the server writes it: Asia/Ho_Chi_Minh, 24 h
        await shot(page, "44-device-rtt-gaps")

        await page.goto(f"{world.server.url}/devices/{world.power}")
        bat = 'figure[data-metric="battery"]'
        await page.wait_for_selector(f'{bat}[data-state="drawn"]', timeout=15_000)
        scales = await page.evaluate(
            f"(() => {{ const u = document.querySelector('{bat} .plot').uplot;"
            " return [u.scales['%'].min, u.scales['%'].max, !!u.scales['phút']]; })()")
        assert scales == [0, 100, True], scales
        util = 'figure[data-metric="utilisation"]'
        await page.wait_for_selector(f"{util}[data-state]")
        await page.fill("#custom-range input[name=from]", "2026-01-01T08:00")
        await page.fill("#custom-range input[name=to]", "2026-01-01T07:00")
        await page.click("#custom-range button")
        assert "không hợp lệ" in await page.inner_text("#range-error")
        now_input = await page.evaluate("TrucbanCharts.vnInput(Math.floor(Date.now() / 1000))")
        hour_ago = await page.evaluate("TrucbanCharts.vnInput(Math.floor(Date.now() / 1000) - 3600)")
        await page.fill("#custom-range input[name=from]", hour_ago)
        await page.fill("#custom-range input[name=to]", now_input)
        async with page.expect_response(lambda r: "start=" in r.url and "metric=battery" in r.url):
            await page.click("#custom-range button")
        await page.wait_for_selector(f'{bat}[data-state="drawn"]')
        await shot(page, "45-device-battery-axes")
    finally:
        await context.close()


# 5. Entry points --------------------------------------------------------------------------------------


def _track(world: World) -> dict[str, object]:
    """A storm passing over the first two communes within six hours."""
    soon = int(time.time()) + 6 * 3600
    points = []
    for i, code in enumerate(world.codes[:2]):
        ref = world.inv.commune_ref(code)
        when = datetime.fromtimestamp(soon + i * 3600, UTC).isoformat().replace("+00:00", "Z")
        points.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [ref.lon, ref.lat]},
                       "properties": {"time": when, "max_wind_kt": 70, "radius_34kt_km": 2}})
    return {"type": "FeatureCollection", "name": "Bão diễn tập 17", "features": points}


@in_browser
async def test_entry_points_reports_runbooks_docs_storm_upload(browser, world: World, tmp_path: Path) -> None:
    context, page = await page_for(browser, world, "coordinator")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        await page.goto(world.server.url + "/incidents")
        await page.click("#main-nav a[href='/runbooks']")
        await page.wait_for_selector("#runbook-list tbody tr")
        assert await page.locator("#procedures a").count() == 2
        await page.locator("#runbook-list a", has_text="Thiết bị mất kết nối").click()
        await page.wait_for_selector("article.runbook h1")
        await page.click("#main-nav a[href='/reports']")
        await page.wait_for_selector("#report-table")

        await page.goto(world.server.url + "/docs")
        await page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
        assert "Trucban" in await page.inner_text(".swagger-ui .info .title")
        await shot(page, "50-docs-offline")
        await page.goto(world.server.url + "/redoc")
        await page.wait_for_selector("h1", timeout=15_000)
        assert "Trucban" in await page.inner_text("h1")
        assert all(u.startswith(world.server.url) or u.startswith(("data:", "blob:")) for u in requests), [
            u for u in requests if not u.startswith(world.server.url)]

        bulletin = tmp_path / "bao-17.geojson"
        bulletin.write_text(json.dumps(_track(world)), encoding="utf-8")
        await page.goto(world.server.url + "/coordinator")
        await page.click("#storm-upload-box summary")
        await page.set_input_files("#storm-file", str(bulletin))
        await page.click("#storm-upload button[type=submit]")
        await page.wait_for_selector("#storm-upload[data-imported]", state="attached", timeout=15_000)
        assert "Bão diễn tập 17" in await page.inner_text("#storm-upload-result")
        await page.wait_for_load_state("load")
        button = page.locator("#storm-confirm")
        await button.wait_for(state="visible", timeout=15_000)
        exposed = await page.locator("#storm-exposed li").count()
        assert exposed >= 1
        assert f"cho {exposed} xã/phường" in await button.inner_text()
        asked: list[str] = []

        async def refuse(dialog) -> None:  # type: ignore[no-untyped-def]
            asked.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", refuse)
        confirms = []
        page.on("request", lambda r: confirms.append(r.url) if r.url.endswith("/confirm") else None)
        await button.click()
        await page.wait_for_timeout(300)
        assert asked and f"cho {exposed} xã/phường" in asked[0], asked
        assert not confirms  # refused: nothing declared
        await shot(page, "51-coordinator-storm-upload")
    finally:
        await context.close()
    operator, page = await page_for(browser, world)
    try:
        await page.goto(world.server.url + "/coordinator")
        assert await page.locator("#storm-upload").count() == 0  # not for an operator
    finally:
        await operator.close()


def _ok(r: httpx.Response) -> httpx.Response:
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return r


# 6. Accessibility -------------------------------------------------------------------------------------

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ENGLISH = re.compile(
    r"\b(Operator|primary|isolated|backup|unknown|unreachable|disabled|Time:|Search|Loading)\b")
VIETNAMESE_TEXT = """(() => { const m = document.querySelector('main').cloneNode(true);
  m.querySelectorAll('[lang=en], code').forEach((e) => e.remove()); return m.textContent; })()"""


def _pages(world: World) -> list[str]:
    core = world.server.ctx.alerting
    assert core is not None
    first = core.incidents.list(limit=1)[0][0].id
    return ["/", "/incidents", f"/incidents/{first}", "/maintenance", f"/devices/{world.power}",
            f"/devices/{world.bts_down}", f"/communes/{world.cut}", f"/communes/{world.battery}",
            "/coordinator", "/reports", "/runbooks", "/runbooks/device_down.md", "/admin"]


@in_browser
async def test_axe_finds_no_serious_or_critical_violation_on_any_page(browser, world: World) -> None:
    from axe_playwright_python.async_playwright import Axe

    axe = Axe()
    found: dict[str, list[str]] = {}
    context, page = await page_for(browser, world, "quantri")
    try:
        anonymous = await browser.new_context(locale="vi-VN")
        login_page = await anonymous.new_page()
        await login_page.goto(world.server.url + "/login")
        pages = [("/login", login_page)] + [(path, page) for path in _pages(world)]
        for path, tab in pages:
            if tab is page:
                await page.goto(world.server.url + path)
            await tab.wait_for_load_state("networkidle")
            result = await axe.run(tab, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
            bad = [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:5]]} {v['help']}"
                   for v in result.response["violations"] if v["impact"] in ("serious", "critical")]
            if bad:
                found[path] = bad
            text = await tab.evaluate(VIETNAMESE_TEXT)
            english = ENGLISH.findall(text)
            if english:
                found.setdefault(path, []).append(f"English words in the Vietnamese page: {english}")
        await anonymous.close()
        assert not found, json.dumps(found, ensure_ascii=False, indent=1)
    finally:
        await context.close()


@in_browser
async def test_everything_reachable_by_keyboard(browser, world: World) -> None:
    context, page = await page_for(browser, world, "coordinator")
    try:
        await page.goto(world.server.url + "/coordinator")
        await page.wait_for_selector("#coord tbody tr")
        for _ in range(60):  # Tab until the name header's sort button has focus (no mouse)
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.closest('th[data-sort=\"name\"]') !== null"):
                break
        else:
            raise AssertionError("the sortable header is not reachable by keyboard")
        await page.keyboard.press("Enter")
        names = await page.locator("#coord tbody tr td:first-child").all_inner_texts()
        assert names == sorted(names)
        assert await page.get_attribute('#coord th[data-sort="name"]', "aria-sort") == "ascending"
        await page.goto(world.server.url + "/")
        for _ in range(40):  # the NOC search is reached by Tab too
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.id") == "noc-q":
                break
        else:
            raise AssertionError("the NOC search is not reachable by keyboard")
        await page.keyboard.type("hong")
        assert "q=hong" in page.url
    finally:
        await context.close()


# 4. Names everywhere (last: it cuts the whole lab off, then repairs it) -------------------------------


@in_browser
async def test_names_everywhere_and_resolved_incidents_say_how_they_ended(browser, world: World) -> None:
    agg = "p31-agg01"
    cut_all = {agg, *behind(world.inv, agg), *world.silent}
    core = world.server.ctx.alerting
    assert core is not None
    now = int(time.time())
    for ts in range(now, now + 5):
        core(results(world.inv, ts, silent=cut_all))
    client = login(world.server.url, "operator")
    context, page = await page_for(browser, world)
    try:
        active = _ok(client.get("/api/incidents?status=active&limit=100")).json()
        kinds = [(i["kind"], i["device"]) for i in active]
        cut = next((i for i in active if i["kind"] == "communes_cut_off"), None)
        assert cut is not None, kinds
        down = next(i for i in active if i["kind"] == "device_down" and i["device"] == agg)
        await page.goto(f"{world.server.url}/incidents/{cut['id']}")
        names = await page.locator("#inc-communes li a").all_inner_texts()
        assert sorted(names) == sorted(world.name(c) for c in world.codes), names  # every commune, by name
        assert await page.locator("#inc-communes details summary").inner_text() == f"{COMMUNES} xã/phường"
        facts = await page.inner_text("#inc-facts")
        assert not re.search(r"\b1\d{4}\b", facts.replace(f"#{cut['id']}", "")), facts  # no commune codes
        await shot(page, "60-incident-cut-off-names")
        await page.goto(f"{world.server.url}/incidents/{down['id']}")
        links = page.locator("#inc-devices li a")
        assert await links.count() == len(behind(world.inv, agg)) - 1  # behind() counts the router too
        first = await links.first.get_attribute("href")
        assert first and first.startswith("/devices/c")
        assert "Router truy nhập" in (await page.text_content("#inc-devices") or "")  # folded: 32 names
        await page.goto(world.server.url + "/")
        rows = await page.inner_text("#active-rows")
        assert not re.search(r"(?<![\w/])c?1\d{4}(?![\w])", rows), rows  # names, not codes
        assert world.name(world.battery) in rows

        # repair: the aggregation router answers, mains power is back
        mains = {"output_source": 3, "seconds_on_battery": 0, "charge_pct": 90.0}
        world.server.ctx.store.write([Sample("ups", {"device": world.power}, mains, int(time.time()))])
        for ts in range(now + 10, now + 15):
            core(results(world.inv, ts, silent=world.silent))
        battery = next(i for i in active if i["kind"] == "bts_on_battery")
        done = _ok(client.get(f"/api/incidents/{battery['id']}")).json()
        assert done["status"] == "resolved" and done["resolved_local"] and done["duration_s"] > 0
        assert "còn khoảng" not in done["title_shown"]
        assert "đã có điện lưới trở lại lúc" in done["title_shown"]
        await page.goto(f"{world.server.url}/incidents/{battery['id']}")
        head = await page.inner_text("#inc-head")
        assert "còn khoảng" not in head and "đã có điện lưới trở lại" in head, head
        assert "kéo dài" in await page.inner_text("#inc-resolved")
        await shot(page, "61-incident-resolved")
        await page.goto(f"{world.server.url}/incidents/{cut['id']}")
        assert "các xã đã kết nối lại lúc" in await page.inner_text("#inc-head")

        await page.goto(world.server.url + "/reports?period=day")
        row = page.locator("#report-table tbody tr", has_text=world.name(world.cut))
        cell = await row.locator("td.unreachable").inner_text()
        assert "%" in cell, cell  # time unreachable beside the availability, not hidden behind 100 %
        await shot(page, "62-report-unreachable")
    finally:
        client.close()
        await context.close()
