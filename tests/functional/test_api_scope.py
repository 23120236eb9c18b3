"""Scope on every route: a viewer of one commune never sees another commune's code, device id or figure.

Two light servers on the same three-commune inventory live the same timeline:
on ``whole`` the viewer's commune *and* the two others have outages, a BTS on
battery, maintenance windows and a typhoon declared over all three; on
``alone`` only the viewer's commune has them. Every GET route of the OpenAPI
document (with each enumerated query value) and every HTML page is asked as a
commune-scoped viewer (session) and a commune-scoped token:

* on ``whole`` no answer names another commune's code, name or device id
  (the viewer's own upstream routers excepted: its devices' parents);
* the answers on ``whole`` and ``alone`` are the same (times aside): no figure
  counts anything outside the viewer's commune.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.auth.roles import Role
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab.generator import generate_lab
from store.base import Sample
from tests.functional.api_peers import PASSWORD, LightServer, light_server
from tests.functional.web_peers import login
from tests.unit.alerting.helpers import results

pytestmark = pytest.mark.functional
T0 = int(time.time()) // 3600 * 3600 - 6 * 3600  # a fixed past hour: both servers live the same times
STEP = 30
NOT_COVERED = ("/api/storms",)  # storm desk: another room's (no desk on a light server: 503)
VOLATILE = ("/metrics",)  # request latencies: checked for names, not compared
TIME = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?"
    r"|\d\d:\d\d(:\d\d)? \d\d/\d\d/\d{4}|\d\d/\d\d/\d{4} \d\d:\d\d(:\d\d)?"
)
CSRF = re.compile(r'(name="csrf" value="|data-csrf="|csrf-token" content=")[^"]*')


class Typhoon:
    """A typhoon declared over every commune, with a digest that names them all."""

    def __init__(self, communes: list[str]) -> None:
        self.communes = communes

    def current(self) -> dict[str, Any]:
        return {"name": "Yagi", "communes": self.communes, "declared_at": T0,
                "digest": "Tổng hợp: " + ", ".join(f"xã {c}: c{c}-bts1" for c in self.communes)}


@dataclass
class World:
    """The three communes: the viewer's and the two others."""

    inventory: Inventory
    mine: str
    others: list[str]

    @property
    def forbidden(self) -> list[str]:
        """Codes, names and device ids of the other communes (the viewer's upstream excepted)."""
        inv = self.inventory
        upstream = {p for d in inv.devices_by_commune[self.mine] for p in _ancestors(inv, d)}
        out = list(self.others) + [inv.commune_ref(c).name for c in self.others]
        out += [d for c in self.others for d in inv.devices_by_commune[c] if d not in upstream]
        return out


def _ancestors(inv: Inventory, device: str) -> set[str]:
    out: set[str] = set()
    todo = list(inv.devices[device].parents)
    while todo:
        d = todo.pop()
        if d not in out:
            out.add(d)
            todo += inv.devices[d].parents
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    layout = generate_lab(tmp_path_factory.mktemp("lab"), "31", port=16197, limit=3)
    inv = load_inventory(layout.inventory)
    first, mine, last = inv.watched_communes  # the first commune also holds the city core
    return World(inv, mine, [first, last])


def live(server: LightServer, world: World, communes: list[str]) -> None:
    """The same timeline on ``server``: troubles in ``communes`` (the viewer's first, so its ids match)."""
    core = server.ctx.alerting
    assert core is not None
    inv = world.inventory
    server.ctx.typhoon = Typhoon(list(inv.watched_communes))
    for code in communes:
        core.maintenance.add(scope="device", target=f"c{code}-sw1", starts_at=T0, ends_at=T0 + 10 * 86400,
                             recurrence=None, reason=f"thay switch {code}", created_by="tests", now=T0)
    silent: set[str] = set()
    if_down: dict[str, set[int]] = {}
    ts = T0
    core.evaluate(results(inv, ts), ts)
    for code in communes:  # one commune at a time: incident ids follow the same order on both servers
        server.ctx.store.write([Sample("ups", {"device": f"c{code}-pwr1"},
                                       {"output_source": 5, "charge_pct": 70.0, "seconds_on_battery": 60},
                                       ts + STEP)])
        silent.add(f"c{code}-bts1")
        if_down[f"c{code}-r1"] = {1}
        for _ in range(4):
            ts += STEP
            core.evaluate(results(inv, ts, silent=silent, if_down=if_down), ts)
    while ts < T0 + 40 * STEP:  # the same number of cycles everywhere
        ts += STEP
        core.evaluate(results(inv, ts, silent=silent, if_down=if_down), ts)
    server.ctx.store.write([Sample("ups", {"device": f"c{code}-pwr1"},
                                   {"output_source": 5, "charge_pct": 60.0, "seconds_on_battery": 600}, ts)
                            for code in communes])


@dataclass
class Callers:
    """The scoped viewer's session and a scoped token, on one server."""

    server: LightServer
    session: httpx.Client
    token: httpx.Client


@pytest.fixture(scope="module")
def servers(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Callers]]:
    out: dict[str, Callers] = {}
    with (
        light_server(tmp_path_factory.mktemp("whole"), world.inventory) as whole,
        light_server(tmp_path_factory.mktemp("alone"), world.inventory) as alone,
    ):
        lives = (("whole", whole, [world.mine, *world.others]), ("alone", alone, [world.mine]))
        for name, server, troubled in lives:
            live(server, world, troubled)
            server.security.accounts.create_user("cp-viewer", PASSWORD, Role.VIEWER, communes=[world.mine])
            _, secret = server.security.accounts.create_token("cp-token", ["read"], created_by="tests",
                                                               communes=[world.mine])
            bearer = {"Authorization": f"Bearer {secret}"}
            token = httpx.Client(base_url=server.url, timeout=30, headers=bearer)
            out[name] = Callers(server, login(server.url, "cp-viewer"), token)
        try:
            yield out
        finally:
            for c in out.values():
                c.session.close()
                c.token.close()


def _incident_of(server: LightServer, commune: str) -> int:
    core = server.ctx.alerting
    assert core is not None
    found, _ = core.incidents.list(commune=commune, limit=1)
    assert found, f"no incident in {commune}"
    return found[0].id


def _choices(schema: dict[str, Any], doc: dict[str, Any]) -> list[Any]:
    """The enumerated values a query parameter takes, inline or through a named schema (domain enums)."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return list(schema.get("enum") or [e for s in schema.get("anyOf", []) for e in _choices(s, doc)])


def requests_to_make(servers: dict[str, Callers], world: World) -> list[str]:
    """Every GET route of the OpenAPI document, path parameters filled for the viewer's commune, each
    enumerated query value tried; then the pages."""
    whole = servers["whole"]
    doc = whole.token.get("/openapi.json").json()
    mine, inv = world.mine, world.inventory
    incident = _incident_of(whole.server, mine)
    site = next(s.id for s in inv.sites.values() if s.commune == mine)
    fill = {"code": mine, "device_id": f"c{mine}-r1", "site_id": site, "incident_id": str(incident),
            "window_id": "1"}
    bounded = {"start": str(T0), "end": str(T0 + 45 * STEP), "commune": mine, "device": f"c{mine}-bts1"}
    paths: list[str] = []
    for path, ops in sorted(doc["paths"].items()):
        if "get" not in ops or path.startswith(NOT_COVERED):
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: fill[m.group(1)], path)
        paths.append(url)
        for param in ops["get"].get("parameters", []):
            if param["in"] != "query":
                continue
            choices = _choices(param.get("schema", {}), doc)
            for value in choices:
                paths.append(f"{url}?{param['name']}={value}")
            if param["name"] in bounded:
                paths.append(f"{url}?{param['name']}={bounded[param['name']]}")
        names = {p["name"] for p in ops["get"].get("parameters", [])}
        if {"start", "end"} <= names:
            for by in ("commune", "device"):
                paths.append(f"{url}?start={T0}&end={T0 + 45 * STEP}&by={by}")
    pages = ["/", "/incidents", "/incidents?status=", "/maintenance", f"/devices/c{mine}-bts1",
             f"/communes/{mine}", "/coordinator", "/coordinator?province=31", f"/incidents/{incident}",
             f"/reports?period=day&date={time.strftime('%Y-%m-%d', time.localtime(T0))}",
             f"/reports/print?start={T0}&end={T0 + 45 * STEP}",
             f"/api/reports/availability.csv?start={T0}&end={T0 + 45 * STEP}&by=device",
             f"/runbooks/device_down.md?incident={incident}", "/runbooks/bts_on_battery.md", "/admin"]
    return paths + pages


def normalised(answer: httpx.Response) -> str:
    """The answer's status, total and body with times and CSRF tokens blanked."""
    body = answer.text
    if answer.headers.get("content-type", "").startswith("application/json"):
        body = _drop_generated(body)
    body = CSRF.sub(r"\1…", TIME.sub("<t>", body))
    return f"{answer.status_code} {answer.headers.get('x-total-count')} {body}"


def _drop_generated(text: str) -> str:
    """Blank what only tells the clock: generation times, readiness check time, a period's end clipped to now
    (two calls a second apart differ there whatever other communes do)."""
    text = re.sub(r'"generated_(utc|at)":\s*("[^"]*"|\d+)', '"generated":-', text)
    return re.sub(r'"(checked_at|end)":\s*\d+', r'"\1":-', text)


def leaks(text: str, forbidden: list[str]) -> list[str]:
    """The forbidden codes, names and ids in ``text`` (codes as whole numbers only)."""
    found = []
    for word in forbidden:
        whole_word = word.isdigit() or "-" in word
        pattern = rf"(?<![\w-]){re.escape(word)}(?![\w-])" if whole_word else re.escape(word)
        if re.search(pattern, text):
            found.append(word)
    return found


@pytest.mark.parametrize("caller", ["session", "token"])
def test_scoped_viewer_sees_no_other_commune_on_any_route(
    servers: dict[str, Callers], world: World, caller: str
) -> None:
    problems: list[str] = []
    asked = 0
    for path in requests_to_make(servers, world):
        answers = {name: getattr(c, caller).get(path) for name, c in servers.items()}
        whole = answers["whole"]
        if whole.status_code >= 500:
            problems.append(f"{path}: {whole.status_code}")
            continue
        asked += whole.status_code == 200
        found = leaks(whole.text, world.forbidden)
        if found:
            problems.append(f"{path}: names {found[:6]}")
        if not path.startswith(VOLATILE) and normalised(whole) != normalised(answers["alone"]):
            problems.append(f"{path}: differs when other communes change:\n  {_first_difference(answers)}")
    assert not problems, "\n".join(problems)
    assert asked >= 40  # the crawl did reach the routes (not just 403s)


def test_scoped_overview_counts_its_commune(servers: dict[str, Callers], world: World) -> None:
    """The figures are there (the differential above is not comparing empty answers)."""
    viewer = servers["whole"].session
    states = viewer.get("/api/states").json()
    assert states["communes"] == 1 and sum(states["devices"].values()) == 4
    assert sum(states["incidents_by_severity"].values()) == 3  # its own three, not the nine
    ind = viewer.get(f"/api/ioc/v1/indicators?start={T0}&end={T0 + 45 * STEP}").json()["indicators"]
    assert ind["communes"] == 1 and ind["bts"] == 1
    typhoon = viewer.get("/api/typhoon").json()
    assert typhoon["communes"] == [world.mine] and typhoon["digest"] is None
    assert viewer.get("/api/poller").status_code == 403
    city = servers["whole"].server.token()
    bearer = {"Authorization": f"Bearer {city}"}
    whole = httpx.get(servers["whole"].server.url + "/api/states", headers=bearer)
    assert whole.json()["communes"] == 3


def _first_difference(answers: dict[str, httpx.Response]) -> str:
    a, b = normalised(answers["whole"]), normalised(answers["alone"])
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"whole …{a[max(0, i - 80):i + 80]!r}\n  alone …{b[max(0, i - 80):i + 80]!r}"
