"""A BTS site known only by its power system (UPS-MIB), and statuses people read, through the real service.

Issue 16, observation 5: such a site showed "Không có BTS" on the coordinator view
and 0 BTS on battery on the NOC while its ``bts_on_battery`` incident was open.
Observation 7 (part): "unknown" was shown untranslated on commune pages.
The network is written by hand in the documented inventory format (an
aggregation router, a BTS power system behind it, a DNS host, and a second
commune with an access router, a BTS and two uplinks); the alerting core is fed
poll results directly, the API and pages are the real ones.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.context import ApiContext
from collectors.base import PollResult
from inventory.loader import load_inventory
from store.base import Sample
from tests.functional.conftest import free_tcp_port, wait_for
from tests.functional.web_peers import PASSWORD, login
from trucban.service import Service, build_service
from trucban.settings import load_settings
from trucban.web import web_security

pytestmark = pytest.mark.functional

CODE = "11311"
POWER = "pwr-11311"
OTHER = "11359"
ROUTER = f"r1-{OTHER}"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
INVENTORY = f"""\
province: "31"
communes:
  - code: "{CODE}"
    command_post: Ban Chỉ huy phòng thủ dân sự phường Hồng Bàng
  - code: "11329"
  - code: "{OTHER}"
sites:
  - {{id: bts-{CODE}, name: Trạm BTS Hồng Bàng, kind: bts_site, commune: "{CODE}", lat: 20.86, lon: 106.68}}
  - {{id: noc, name: NOC thành phố, kind: noc, commune: "11329"}}
  - {{id: dns-site, name: Trạm DNS thành phố, kind: dns_site, commune: "11329"}}
  - {{id: hq-{OTHER}, name: Trụ sở UBND phường Gia Viên, kind: commune_hq, commune: "{OTHER}"}}
  - {{id: bts-{OTHER}, name: Trạm BTS Gia Viên, kind: bts_site, commune: "{OTHER}"}}
devices:
  - {{id: agg-01, name: Router tổng hợp, site: noc, role: router, address: 10.31.0.254}}
  - {{id: {POWER}, name: Nguồn BTS Hồng Bàng, site: bts-{CODE}, role: power, address: 10.31.0.9,
     hardening_level: 4, parents: [agg-01]}}
  - {{id: dns-01, name: DNS thành phố, site: dns-site, role: dns, address: 10.31.0.53, parents: [agg-01]}}
  - {{id: {ROUTER}, name: Router Gia Viên, site: hq-{OTHER}, role: router, address: 10.31.1.1,
     parents: [agg-01]}}
  - {{id: bts1-{OTHER}, name: BTS Gia Viên, site: bts-{OTHER}, role: bts, address: 10.31.1.2,
     parents: [{ROUTER}]}}
links:
  - {{id: {OTHER}-primary, device: {ROUTER}, if_index: 1, kind: primary, medium: fibre, commune: "{OTHER}"}}
  - {{id: {OTHER}-backup, device: {ROUTER}, if_index: 2, kind: backup, medium: 4g, commune: "{OTHER}"}}
"""
# codes that must never reach a person as text (statuses, roles, kinds, link kinds and media),
# as words of their own, not inside identifiers such as "11359-backup"
CODES = re.compile(
    r"(?<![\w-])(unknown|unreachable|degraded|maintenance|primary|backup|isolated|power|router|switch|"
    r"bts_site|commune_hq|data_centre|dns_site|fibre|up|down)(?![\w-])"
)


@dataclass
class Served:
    """The service (not polling), its HTTP address and a reader's token."""

    service: Service
    client: httpx.Client
    headers: dict[str, str]
    url: str

    def feed(self, ts: int, silent: frozenset[str] = frozenset(), ups: dict | None = None) -> None:
        """One cycle: every device answers unless silent; the power system's UPS reading if given."""
        if ups is not None:
            self.service.store.write([Sample("ups", {"device": POWER}, ups, ts)])
        results = {
            dev: PollResult(dev, dev not in silent, ts, observed=float(ts), samples=interfaces(dev, ts),
                            error=f"{dev}: no SNMP answer (timeout)" if dev in silent else None,
                            error_kind="timeout" if dev in silent else None)
            for dev in self.service.alerting.inventory.devices
        }
        self.service.alerting(results)

    def api(self, path: str) -> object:
        """GET a JSON endpoint with the token."""
        answer = self.client.get(path, headers=self.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def row(self) -> dict:
        """The commune's coordinator row."""
        rows = self.api(f"/api/coordinator?q={CODE}")
        assert isinstance(rows, list)
        return next(r for r in rows if r["code"] == CODE)


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[Served]:
    """Trucban's app over the hand-written network, on a free loopback port."""
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    inventory = load_inventory(path)
    settings = load_settings(env={}, data_dir=tmp_path / "data", http_port=free_tcp_port())
    service = build_service(settings, inventory)
    security = web_security(settings, service.alerting.engine)
    ctx = ApiContext(inventory, service.alerting.tracker, service.store, service.cycle,
                     ZoneInfo(settings.timezone), service.alerting, security=security)
    _, secret = security.accounts.create_token("coordinator", ["read"], created_by="tests")
    security.accounts.create_user("operator", PASSWORD, "operator")
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=settings.http_port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    client = httpx.Client(base_url=f"http://127.0.0.1:{settings.http_port}", timeout=10)
    try:
        yield Served(service, client, {"Authorization": f"Bearer {secret}"}, str(client.base_url))
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=10)
        service.store.close()
        service.alerting.engine.dispose()


def interfaces(dev: str, ts: int) -> list[Sample]:
    """The access router's two uplink interfaces, both up."""
    if dev != ROUTER:
        return []
    return [Sample("snmp_if", {"device": dev, "if_index": str(i)}, {"oper_status": 1, "admin_status": 1}, ts)
            for i in (1, 2)]


def visible(page: str) -> str:
    """What a person reads on a page: text outside tags, scripts and styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def mains(charge: float = 100.0) -> dict:
    return {"output_source": 3, "seconds_on_battery": 0, "charge_pct": charge, "minutes_remaining": 480}


def battery(seconds: int, charge: float) -> dict:
    return {"output_source": 5, "seconds_on_battery": seconds, "charge_pct": charge, "minutes_remaining": 95}


def test_power_only_site_is_a_bts_site_on_battery_then_last_known(served: Served) -> None:
    t0 = int(time.time()) - 15 * 60
    served.feed(t0, ups=mains())
    assert wait_for(lambda: served.row()["bts"] == "up", 15)
    assert served.row()["bts_label"] != "Không có BTS"

    last = t0
    for i in range(1, 5):  # mains lost: 1 % per minute
        last = t0 + 30 * i
        served.feed(last, ups=battery(30 * i, 90.0 - i / 2))
    assert f"bts_on_battery:{POWER}" in served.service.alerting.incidents.active()
    row = wait_for(lambda: (r := served.row())["bts"] == "battery" and r, 15)
    assert row["bts_label"].startswith("Đang chạy ắc quy") and row["minutes_left"] is not None
    states = served.api("/api/states")
    assert isinstance(states, dict) and states["bts_on_battery"] == [CODE]
    person = login(served.url, "operator")
    try:
        assert re.search(r'id="n-battery">1<', person.get("/").text)
        page = person.get("/coordinator").text
        shown = re.search(rf'<tr id="k{CODE}" data-b="([a-z]+)".*?<td class="b">([^<]*)<', page)
        assert shown is not None and shown.group(1) == "battery"
        assert shown.group(2).startswith("Đang chạy ắc quy")
    finally:
        person.close()

    # the power system stops answering (its router is fine): last known, with the time of the reading
    seen = datetime.fromtimestamp(last, TZ).strftime("%H:%M")
    for i in range(1, 6):
        served.feed(last + 30 * i, silent=frozenset({POWER}))
    assert served.service.alerting.tracker.states[POWER].status.value in ("down", "unreachable", "unknown")
    row = wait_for(lambda: (r := served.row())["bts"] == "battery" and "lần cuối" in r["bts_label"] and r, 15)
    assert f"(lần cuối lúc {seen})" in row["bts_label"]
    states = served.api("/api/states")
    assert isinstance(states, dict) and states["bts_on_battery"] == [CODE]

    # then it is seen again, back on mains
    served.feed(last + 200, ups=mains(80.0))
    assert wait_for(lambda: served.row()["bts"] == "up", 15)
    assert served.api("/api/states")["bts_on_battery"] == []  # type: ignore[index]


def test_pages_show_every_status_in_vietnamese(served: Served) -> None:
    pages = [f"/communes/{CODE}", f"/communes/{OTHER}", "/coordinator", "/", f"/devices/{POWER}",
             f"/devices/{ROUTER}"]
    person = login(served.url, "operator")
    try:
        _vietnamese_only(served, person, pages)
    finally:
        person.close()


def _vietnamese_only(served: Served, person: httpx.Client, pages: list[str]) -> None:
    never_seen = {path: CODES.findall(visible(person.get(path).text)) for path in pages}
    assert never_seen == dict.fromkeys(pages, [])
    commune = visible(person.get(f"/communes/{CODE}").text)
    assert "Chưa rõ / chưa có số liệu" in commune

    t0 = int(time.time()) - 60
    served.feed(t0, ups=mains())
    dark = frozenset(served.service.alerting.inventory.devices)  # the aggregation router and all behind it
    for i in range(1, 4):
        served.feed(t0 + 30 * i, silent=dark)
    seen = {path: CODES.findall(visible(person.get(path).text)) for path in pages}
    assert seen == dict.fromkeys(pages, [])
    assert "Không liên lạc được (do thiết bị phía trên)" in visible(person.get(f"/communes/{OTHER}").text)
