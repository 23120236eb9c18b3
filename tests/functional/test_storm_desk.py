"""Storm desk end to end: a coordinator imports a bulletin, sees exposure on the map, confirms.

The lab's first six Hải Phòng communes lie 2.8–22 km apart; the test storm passes
over Phường Tân Hưng (20.9056 N, 106.336 E) with 34-kt winds out to 1 km and then
heads north-east, away from the others — so by hand, Tân Hưng alone is exposed.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from api.auth.roles import Role
from tests.functional.browser_peers import browser_fixture, log_in, shot  # noqa: F401 (fixture)
from tests.functional.conftest import Lab, RunningService
from tests.functional.web_peers import PASSWORD, csrf_headers, ensure_user, login

pytestmark = pytest.mark.functional
TAN_HUNG = "10537"

def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


SOON = time.time() + 6 * 3600
TRACK = {
    "type": "FeatureCollection", "name": "Bão diễn tập 01",
    "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.336, 20.9056]},
         "properties": {"time": _iso(SOON), "max_wind_kt": 70, "radius_34kt_km": 1}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.6, 21.2]},
         "properties": {"time": _iso(SOON + 6 * 3600), "max_wind_kt": 50, "radius_34kt_km": 1}},
    ],
}


def upload(client, name: str = "bulletin.geojson", body: str | None = None):  # type: ignore[no-untyped-def]
    files = {"file": (name, body if body is not None else json.dumps(TRACK), "application/geo+json")}
    return client.post("/api/storms", files=files, headers=csrf_headers(client))


def test_import_is_for_coordinators_and_exposes_by_hand(running: RunningService, healthy_lab: Lab) -> None:
    assert running.client is not None
    assert upload(running.client).status_code == 403  # an operator may not
    ensure_user(running.service, "dieuphoi", Role.COORDINATOR)
    coord = login(running.url, "dieuphoi")
    bad = upload(coord, body=json.dumps(TRACK).replace(_iso(SOON + 6 * 3600), "chiều nay"))
    assert bad.status_code == 422 and "features[1].properties.time" in bad.json()["detail"]
    answer = upload(coord)
    assert answer.status_code == 201, answer.text
    storm = answer.json()
    assert [e["code"] for e in storm["exposure"]] == [TAN_HUNG]
    assert storm["status"] == "proposed"
    assert sorted(storm["readiness"]["backup_ok"] + storm["readiness"]["backup_missing"]) == [TAN_HUNG]
    confirmed = coord.post(f"/api/storms/{storm['id']}/confirm", headers=csrf_headers(coord))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed" and confirmed.json()["declaration_id"]
    assert running.service.notify is not None
    decl = running.service.notify.typhoon.get(confirmed.json()["declaration_id"])
    assert list(decl.communes) == [TAN_HUNG]
    running.service.notify.end_typhoon(by="dieuphoi")
    coord.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_overlay_appears_on_the_coordinator_map(browser, running: RunningService,  # noqa: F811
                                                      healthy_lab: Lab) -> None:
    ensure_user(running.service, "dieuphoi-map", Role.COORDINATOR)
    coord = login(running.url, "dieuphoi-map")
    assert upload(coord).status_code == 201
    coord.close()
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    await log_in(page, running.url, "dieuphoi-map", PASSWORD)
    await page.goto(running.url + "/coordinator")
    # the typhoon map (api/static/map.js): track and wind circles in the storm pane, the commune ringed
    track = "#commune-map.tb-has-storm path.storm-track"
    await page.wait_for_selector(track, state="attached", timeout=15_000)
    assert await page.locator("#commune-map path.storm-radius").count() == 2
    assert await page.locator(f'#commune-map path.tb-dot.exposed[data-code="{TAN_HUNG}"]').count() == 1
    assert await page.locator("#storm-exposed li").count() == 1
    assert await page.locator("#storm-confirm").is_visible()
    path = await shot(page, "07-coordinator-storm-overlay")
    assert path.stat().st_size > 10_000
    await context.close()
