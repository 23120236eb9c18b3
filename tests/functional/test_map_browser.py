"""The typhoon map in real Chromium: Hải Phòng's outline from the shipped Natural Earth data, approximate
commune areas, zoom and pan (wheel, drag, buttons, keyboard), labels when zoomed in, fit to the communes
in view with Bạch Long Vĩ in an inset (it does not squeeze the rest), the list's filter followed,
click-through to the commune page, dots out of the tab order, storm colours apart from status colours,
and a commune-scoped viewer who sees a map rather than one dot in an empty box.

The real app on uvicorn (a light server: no poller; the test plays poll results into the real alerting
core) over the whole province (114 communes). Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.auth.roles import Role
from api.context import WebOptions
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab.generator import generate_lab
from lab.outages import behind
from storm.desk import StormDesk
from tests.functional.api_peers import PASSWORD, LightServer, light_server
from tests.functional.browser_peers import ARTIFACTS, browser_fixture, log_in  # noqa: F401 - the fixture
from tests.unit.alerting.helpers import results

pytestmark = [pytest.mark.functional, pytest.mark.asyncio(loop_scope="session")]
ISLAND = "11948"  # Đặc khu Bạch Long Vĩ, ~110 km out in the Gulf of Tonkin
CUT = "10507"  # its access router down: the commune is cut off
TRACK = Path(__file__).resolve().parents[1] / "unit" / "storm" / "data" / "track.geojson"
MAP = "#commune-map"
DOTS = ".leaflet-tb-dots-pane path.tb-dot"
AREAS = ".leaflet-tb-areas-pane path.tb-area"
STATUS_COLOURS = {"rgb(26, 127, 55)", "rgb(183, 121, 31)", "rgb(198, 40, 40)", "rgb(106, 27, 154)",
                  "rgb(138, 143, 152)", "rgb(91, 42, 134)"}  # ok, battery, down, isolated, unknown; old storm


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LightServer, Inventory]]:
    root: Path = tmp_path_factory.mktemp("map")
    inventory = load_inventory(generate_lab(root / "lab", "31", port=16197).inventory)
    with light_server(root / "server", inventory, web=WebOptions(refresh_s=2)) as server:
        server.security.accounts.create_user("coordinator", PASSWORD, Role.COORDINATOR)
        server.security.accounts.create_user("xa-thanh-dong", PASSWORD, Role.VIEWER, communes=[CUT])
        core = server.ctx.alerting
        assert core is not None
        now = int(time.time())
        core(results(inventory, now - 60))
        core(results(inventory, now, silent=set(behind(inventory, f"c{CUT}-r1"))))
        yield server, inventory


async def open_map(browser, server: LightServer, user: str = "coordinator", path: str = "/coordinator",
                   **context_args: object):  # type: ignore[no-untyped-def]
    args = {"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN", **context_args}
    context = await browser.new_context(**args)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await log_in(page, server.url, user, PASSWORD)
    await page.goto(server.url + path)
    await page.wait_for_selector(f"{MAP}[data-state=drawn]", state="attached", timeout=15_000)
    return context, page, errors


async def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """The screen as the person sees it (the viewport, not the 5,000 px list) into test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


async def until(page, expression: str, timeout_s: float = 10) -> None:  # type: ignore[no-untyped-def]
    """Poll ``expression`` until it is true (wait_for_function would eval, which the CSP forbids)."""
    deadline = time.monotonic() + timeout_s
    while not await page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {expression}"
        await page.wait_for_timeout(100)


async def data(page, name: str) -> str:  # type: ignore[no-untyped-def]
    return await page.eval_on_selector(MAP, f"el => el.dataset.{name} || ''")


async def settled(page) -> None:  # type: ignore[no-untyped-def]
    """Until Leaflet's zoom/pan animation (inertia included) is over and the figures stop changing."""
    last, same = None, 0
    for _ in range(60):
        now = (await data(page, "moving"), await data(page, "zoom"), await data(page, "center"))
        same = same + 1 if now == last and now[0] != "yes" else 0
        if same >= 2:
            return
        last = now
        await page.wait_for_timeout(150)


async def dot_box(page, code: str, scope: str = MAP):  # type: ignore[no-untyped-def]
    return await page.locator(f'{scope} {DOTS}[data-code="{code}"]').bounding_box()


async def test_outline_areas_and_fit_with_the_island_in_an_inset(browser, world) -> None:  # type: ignore[no-untyped-def]
    server, inventory = world
    communes = inventory.watched_communes
    context, page, errors = await open_map(browser, server)
    try:
        assert await page.locator(".leaflet-tb-land-pane path.tb-province").count() >= 34
        assert await page.locator(".leaflet-tb-land-pane path.tb-foreign").count() >= 1
        border = await page.locator(".leaflet-tb-borders-pane path.tb-border").get_attribute("d")
        assert border and border.count("L") > 100, "Hải Phòng's outline is drawn in full"
        assert await page.locator(AREAS).count() == len(communes)
        assert await page.locator(DOTS).count() == len(communes)
        assert await page.locator(f"{MAP} .leaflet-control-attribution").inner_text() \
            == "Nền: Natural Earth (phạm vi công cộng) · vùng xã là ước lượng"

        frame = await page.locator(f"{MAP} .tb-map-canvas").bounding_box()
        boxes = [await dot_box(page, c) for c in communes if c != ISLAND]
        xs = [b["x"] + b["width"] / 2 for b in boxes]
        ys = [b["y"] + b["height"] / 2 for b in boxes]
        assert all(frame["x"] <= x <= frame["x"] + frame["width"] for x in xs)
        assert all(frame["y"] <= y <= frame["y"] + frame["height"] for y in ys)
        used = max((max(xs) - min(xs)) / frame["width"], (max(ys) - min(ys)) / frame["height"])
        assert used > 0.6, f"the mainland fills {used:.0%} of the map: squeezed"
        island = await dot_box(page, ISLAND)
        bottom, right = frame["y"] + frame["height"], frame["x"] + frame["width"]
        assert island is None or island["y"] > bottom or island["x"] > right, "the island is in the main view"
        assert await data(page, "insets") == ISLAND
        inset = page.locator(f'{MAP} .tb-inset[data-codes="{ISLAND}"]')
        caption = (await inset.locator("button").inner_text()).strip()
        assert re.fullmatch(r"Bạch Long Vĩ · ~\d+ km ĐN", caption), caption
        await inset.locator(f'path.tb-dot[data-code="{ISLAND}"]').wait_for()
        assert await page.locator(f"{AREAS}.st-isolated").count() == 1
        await shot(page, "50-map-coordinator-fit-inset")

        await inset.locator("button").click()  # the inset takes the main map to the island
        await until(
            page,
            f"(() => {{ const b = document.querySelector('{DOTS}[data-code=\"{ISLAND}\"]');"
            f" const f = document.querySelector('{MAP} .tb-map-canvas').getBoundingClientRect();"
            " if (!b) return false; const r = b.getBoundingClientRect();"
            " return r.left > f.left && r.right < f.right && r.top > f.top && r.bottom < f.bottom; })()",
            5,
        )
        assert not errors, errors
    finally:
        await context.close()


async def test_zoom_and_pan_by_wheel_drag_buttons_and_keyboard_with_labels(browser, world) -> None:  # type: ignore[no-untyped-def]
    server, _ = world
    context, page, errors = await open_map(browser, server)
    try:
        await settled(page)
        fitted = float(await data(page, "zoom"))
        labels_fitted = int(await data(page, "labels"))
        assert labels_fitted <= 3, "at the whole-province view only problem communes are named"
        frame = await page.locator(f"{MAP} .tb-map-canvas").bounding_box()
        cx, cy = frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 2

        await page.mouse.move(cx, cy)  # wheel
        for _ in range(3):
            await page.mouse.wheel(0, -120)
            await page.wait_for_timeout(120)
        await settled(page)
        wheeled = float(await data(page, "zoom"))
        assert wheeled >= fitted + 1, (fitted, wheeled)
        labels = int(await data(page, "labels"))
        assert labels > labels_fitted + 5, (labels_fitted, labels)
        names = await page.locator(f"{MAP} .tb-label:not(.tb-hide)").all_inner_texts()
        assert all(n and not n.startswith(("Xã ", "Phường ")) for n in names)
        await shot(page, "51-map-zoomed-in-labels")

        before = await data(page, "center")  # drag
        await page.mouse.move(cx, cy)
        await page.mouse.down()
        await page.mouse.move(cx - 200, cy - 120, steps=8)
        await page.mouse.up()
        await settled(page)
        assert await data(page, "center") != before

        await page.click(f"{MAP} .leaflet-control-zoom-out")  # buttons
        await settled(page)
        assert float(await data(page, "zoom")) == pytest.approx(wheeled - 0.5)
        await page.click(f"{MAP} .leaflet-control-zoom-in")
        await settled(page)
        assert float(await data(page, "zoom")) == pytest.approx(wheeled)

        await page.focus(f"{MAP} .tb-map-canvas")  # keyboard
        await page.keyboard.press("Minus")
        await settled(page)
        assert float(await data(page, "zoom")) == pytest.approx(wheeled - 0.5)
        before = await data(page, "center")
        await page.keyboard.press("ArrowRight")
        await settled(page)
        assert float((await data(page, "center")).split(",")[1]) > float(before.split(",")[1])

        await page.click(f"{MAP} .tb-fit button")  # back to the communes in view
        await settled(page)
        assert float(await data(page, "zoom")) == pytest.approx(fitted)
        assert not errors, errors
    finally:
        await context.close()


async def test_map_follows_the_list_filter_and_fits_to_what_is_shown(browser, world) -> None:  # type: ignore[no-untyped-def]
    server, inventory = world
    context, page, errors = await open_map(browser, server)
    try:
        await settled(page)
        whole = float(await data(page, "zoom"))
        await page.fill("#q", "bach long")
        await until(page, f"document.querySelector('{MAP}').dataset.visible === '1'")
        await settled(page)
        assert await page.locator(DOTS).count() == 1
        assert await page.locator(AREAS).count() == 1
        assert await data(page, "insets") == ""
        box = await dot_box(page, ISLAND)
        frame = await page.locator(f"{MAP} .tb-map-canvas").bounding_box()
        assert abs(box["x"] + box["width"] / 2 - (frame["x"] + frame["width"] / 2)) < 40  # centred on it
        assert float(await data(page, "zoom")) > whole + 2
        assert await page.locator(f"{MAP} .tb-label:not(.tb-hide)").all_inner_texts() == ["Bạch Long Vĩ"]
        await shot(page, "52-map-filtered-to-the-island")

        await page.fill("#q", "")
        await page.select_option("#bts-filter", "isolated")
        await until(page, f"document.querySelector('{MAP}').dataset.visible === '1'")
        shown = await page.locator("#coord tbody tr:not([hidden])").count()
        assert shown == 1 and await page.locator(f'{DOTS}[data-code="{CUT}"]').count() == 1
        assert "st-isolated" in (await page.get_attribute(f'{DOTS}[data-code="{CUT}"]', "class") or "")

        await page.select_option("#bts-filter", "down")  # nothing matches: the map says so
        await until(page, f"document.querySelector('{MAP}').dataset.visible === '0'")
        assert await page.locator(f"{MAP} .tb-map-empty").is_visible()
        await page.select_option("#bts-filter", "")
        every = len(inventory.watched_communes)
        await until(page, f"document.querySelector('{MAP}').dataset.visible === '{every}'")
        assert await data(page, "insets") == ISLAND
        assert not errors, errors
    finally:
        await context.close()


async def test_click_through_to_the_commune_page(browser, world) -> None:  # type: ignore[no-untyped-def]
    server, inventory = world
    context, page, _ = await open_map(browser, server)
    try:
        await settled(page)
        await page.fill("#q", "thanh dong")  # one commune, fitted large: its dot and its area
        await until(page, f"document.querySelector('{MAP}').dataset.visible === '1'")
        await settled(page)
        box = await dot_box(page, CUT)
        await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        await page.wait_for_url(f"**/communes/{CUT}")
        await page.go_back()
        await page.wait_for_selector(f"{MAP}[data-state=drawn]")
        await settled(page)
        other = inventory.watched_communes[40]
        spot = await page.evaluate(  # a point of that commune's area, off its dot
            f"""(() => {{
              const a = document.querySelector('{AREAS}[data-code="{other}"]').getBoundingClientRect();
              for (let i = 1; i < 10; i++) for (let j = 1; j < 10; j++) {{
                const x = a.left + a.width * i / 10, y = a.top + a.height * j / 10;
                const el = document.elementFromPoint(x, y);
                if (el && el.matches('path.tb-area') && el.dataset.code === '{other}') return [x, y];
              }}
              return null;
            }})()""")
        assert spot, "the area is on screen"
        await page.mouse.click(*spot)
        await page.wait_for_url(f"**/communes/{other}")
    finally:
        await context.close()


async def test_map_dots_are_out_of_the_tab_order(browser, world) -> None:  # type: ignore[no-untyped-def]
    server, _ = world
    context, page, _ = await open_map(browser, server)
    try:
        focusable = await page.eval_on_selector_all(
            f"{MAP} a[href], {MAP} button, {MAP} [tabindex]:not([tabindex='-1'])",
            "els => els.map(e => e.tagName.toLowerCase() + (e.className && e.className.baseVal === undefined"
            " ? '.' + String(e.className).split(' ')[0] : ''))",
        )
        assert all(not f.startswith(("path", "svg", "g")) for f in focusable), focusable
        assert len(focusable) <= 6, focusable  # the map, zoom in/out, fit, the inset's button
        canvas = page.locator(f"{MAP} .tb-map-canvas")
        assert await canvas.get_attribute("role") == "region" and await canvas.get_attribute("aria-label")
        tabs = 0  # from the map's fold to the list's search box
        await page.focus(".map-fold > summary")
        while await page.evaluate("document.activeElement.id") != "q":
            await page.keyboard.press("Tab")
            tabs += 1
            seen = await page.evaluate("document.activeElement.outerHTML.slice(0, 80)")
            assert tabs < 12, f"the search box is far down the tab order (at {seen})"
    finally:
        await context.close()


async def test_storm_overlay_in_its_own_colours(browser, world) -> None:  # type: ignore[no-untyped-def]
    server, inventory = world
    core = server.ctx.alerting
    server.ctx.storms = StormDesk(core.engine, inventory, core)
    server.ctx.storms.import_track(TRACK, by="tests")
    context, page, errors = await open_map(browser, server)
    try:
        await page.wait_for_selector(f"{MAP}.tb-has-storm path.storm-track", timeout=10_000)
        track = await page.eval_on_selector(f"{MAP} path.storm-track", "e => getComputedStyle(e).stroke")
        radius = await page.eval_on_selector(f"{MAP} path.storm-radius", "e => getComputedStyle(e).stroke")
        ring = await page.eval_on_selector(f"{MAP} {DOTS}.exposed", "e => getComputedStyle(e).stroke")
        assert {track, radius, ring}.isdisjoint(STATUS_COLOURS), (track, radius, ring)
        assert await page.locator(f"{DOTS}.exposed").count() >= 1
        assert await page.locator(f"{MAP} .tb-legend").is_visible()
        await shot(page, "53-map-storm-overlay")
        assert not errors, errors
    finally:
        await context.close()
        server.ctx.storms = None


async def test_commune_scoped_viewer_sees_its_commune_in_its_province(browser, world) -> None:  # type: ignore[no-untyped-def]
    server, inventory = world
    context, page, errors = await open_map(browser, server, user="xa-thanh-dong")
    try:
        await settled(page)
        assert await page.locator(DOTS).count() == 1 and await page.locator(AREAS).count() == 1
        assert await page.locator(".leaflet-tb-borders-pane path.tb-border").count() == 1
        assert await page.locator(".leaflet-tb-land-pane path.tb-province").count() >= 34
        assert float(await data(page, "zoom")) >= 11  # fitted to its commune, not a dot in a box
        assert await page.locator(f"{MAP} .tb-label:not(.tb-hide)").all_inner_texts() == ["Thành Đông"]
        area = await page.locator(AREAS).bounding_box()
        frame = await page.locator(f"{MAP} .tb-map-canvas").bounding_box()
        assert area["width"] > frame["width"] * 0.3 or area["height"] > frame["height"] * 0.3
        await shot(page, "54-map-commune-viewer")
        assert not errors, errors
    finally:
        await context.close()


async def test_map_on_a_phone_folds_and_opens(browser, world) -> None:  # type: ignore[no-untyped-def]
    server, inventory = world
    context, page, errors = await open_map(
        browser, server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
        device_scale_factor=2)
    try:
        assert not await page.locator(f"{MAP}").is_visible()  # the list comes first on a phone
        await page.click(".map-fold > summary")
        await page.wait_for_selector(f"{MAP} .tb-map-canvas", state="visible")
        await settled(page)
        assert await data(page, "insets") == ISLAND
        await page.locator(MAP).scroll_into_view_if_needed()
        await shot(page, "55-map-phone-opened")
        assert not errors, errors
    finally:
        await context.close()


async def test_noc_map_follows_the_noc_filters(browser, world) -> None:  # type: ignore[no-untyped-def]
    server, inventory = world
    context, page, errors = await open_map(browser, server, path="/")
    try:
        await settled(page)
        rows = await page.locator("#commune-rows tr:not([hidden])").count()
        assert rows == len(inventory.watched_communes)
        assert await page.locator(DOTS).count() == rows and await data(page, "insets") == ISLAND
        assert "st-isolated" in (await page.get_attribute(f'{DOTS}[data-code="{CUT}"]', "class") or "")
        await page.select_option("#noc-status", "isolated")
        await until(page, f"document.querySelector('{MAP}').dataset.visible === '1'")
        assert await page.locator(DOTS).count() == 1
        await settled(page)
        assert float(await data(page, "zoom")) >= 11
        await page.locator(MAP).scroll_into_view_if_needed()
        await shot(page, "56-map-noc-filtered")
        await page.goto(server.url + "/?q=bach+long")  # a shared link: the filter in the URL, the map with it
        await page.wait_for_selector(f"{MAP}[data-state=drawn]", state="attached")
        await until(page, f"document.querySelector('{MAP}').dataset.visible === '1'")
        assert await page.locator(f'{DOTS}[data-code="{ISLAND}"]').count() == 1
        assert not errors, errors
    finally:
        await context.close()


async def test_map_turns_with_the_list_when_a_commune_is_cut_off(browser, world) -> None:  # type: ignore[no-untyped-def]
    server, inventory = world
    other = inventory.watched_communes[7]
    context, page, errors = await open_map(browser, server)
    core = server.ctx.alerting
    silent = set(behind(inventory, f"c{CUT}-r1"))
    try:
        await page.wait_for_selector('body[data-live="on"]', timeout=10_000)
        await page.evaluate("window.__sameDocument = true")
        started = time.monotonic()
        core(results(inventory, int(time.time()), silent=silent | set(behind(inventory, f"c{other}-r1"))))
        await until(page, f"(document.querySelector('{DOTS}[data-code=\"{other}\"]')"
                          ".getAttribute('class') || '').includes('st-isolated')", 7)
        took = time.monotonic() - started
        assert took <= 5, took
        assert await page.evaluate("window.__sameDocument === true")
        assert "st-isolated" in (await page.get_attribute(f'{AREAS}[data-code="{other}"]', "class") or "")
        assert not errors, errors
    finally:
        core(results(inventory, int(time.time()), silent=silent))
        await context.close()
