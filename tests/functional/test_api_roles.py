"""The JSON API over real HTTP on the running service: every endpoint, every role, errors, paging."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from api.auth.roles import Role
from tests.functional.conftest import RunningService, wait_for
from tests.functional.web_peers import PASSWORD, accounts_of, csrf_headers, ensure_user, login

pytestmark = pytest.mark.functional
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def communes(running: RunningService) -> list[str]:
    """The lab's watched communes."""
    return list(running.service.inventory.watched_communes)


@pytest.fixture(scope="module")
def clients(running: RunningService, communes: list[str]) -> Iterator[dict[str, httpx.Client]]:
    """Logged-in clients for each role (the viewer sees the first commune only)."""
    ensure_user(running.service, "admin", Role.ADMIN)
    ensure_user(running.service, "coord", Role.COORDINATOR)
    ensure_user(running.service, "viewer-a", Role.VIEWER, [communes[0]])
    out = {name: login(running.url, name) for name in ("admin", "coord", "viewer-a")}
    out["operator"] = running.client  # type: ignore[assignment]
    yield out
    for name in ("admin", "coord", "viewer-a"):
        out[name].close()


def test_everything_needs_a_login(running: RunningService) -> None:
    for path in (
        "/api/communes",
        "/api/devices",
        "/api/incidents",
        "/api/states",
        "/api/coordinator",
        "/api/maintenance",
        "/api/poller",
        "/api/me",
    ):
        answer = httpx.get(running.url + path)
        assert answer.status_code == 401, path
        assert answer.headers["content-type"].startswith(PROBLEM)
        assert answer.json()["status"] == 401
    page = httpx.get(running.url + "/coordinator")
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    assert httpx.get(running.url + "/healthz").status_code == 200
    assert httpx.get(running.url + "/openapi.json").status_code == 200


def test_read_endpoints_for_operator(
    running: RunningService, clients: dict[str, httpx.Client], communes: list[str]
) -> None:
    op = clients["operator"]
    code = communes[0]
    listed = op.get("/api/communes", params={"limit": 2})
    assert listed.status_code == 200 and len(listed.json()) == 2
    assert listed.headers["X-Total-Count"] == str(len(communes))
    assert 'rel="next"' in listed.headers["Link"]
    detail = op.get(f"/api/communes/{code}").json()
    assert detail["code"] == code and detail["contacts"] and detail["links"] and detail["sites"]
    assert {d["role"] for d in detail["device_list"]} >= {"router", "bts", "power"}
    sites = op.get("/api/sites", params={"commune": code}).json()
    assert {s["kind"] for s in sites} >= {"commune_hq", "bts_site"}
    assert op.get(f"/api/sites/{sites[0]['id']}").json()["commune"] == code
    bts = op.get("/api/devices", params={"commune": code, "role": "bts"}).json()
    assert [d["id"] for d in bts] == [f"c{code}-bts1"]
    assert op.get(f"/api/devices/c{code}-r1").json()["role"] == "router"
    states = op.get("/api/states").json()
    assert states["communes"] == len(communes) and sum(states["devices"].values()) > 0
    coord = op.get("/api/coordinator", params={"sort": "bts"}).json()
    assert {r["code"] for r in coord} == set(communes)
    assert all(r["bts"] in ("up", "battery", "down", "isolated", "unknown") for r in coord)
    assert op.get("/api/poller").json()["devices"] > 0
    assert op.get("/api/typhoon").json() is None
    me = op.get("/api/me").json()
    assert me["role"] == "operator" and "ack" in me["permissions"] and me["communes"] is None


def test_series_for_a_device(running: RunningService, communes: list[str]) -> None:
    code = communes[0]
    wait_for(
        lambda: running.get(f"/api/devices/c{code}-r1/series?metric=rtt&range=1h").json()["lines"], timeout=20
    )
    rtt = running.get(f"/api/devices/c{code}-r1/series?metric=rtt&range=1h").json()
    assert rtt["unit"] == "ms" and rtt["lines"][0]["points"]
    battery = running.get(f"/api/devices/c{code}-pwr1/series?metric=battery&range=6h").json()
    assert battery["unit"] == "%"
    assert running.get(f"/api/devices/c{code}-r1/series?metric=utilisation&range=7d").status_code == 200
    bad = running.get(f"/api/devices/c{code}-r1/series?metric=nope")
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
    assert bad.json()["errors"][0]["loc"][-1] == "metric"


def test_viewer_sees_only_its_commune(clients: dict[str, httpx.Client], communes: list[str]) -> None:
    viewer = clients["viewer-a"]
    a, b = communes[0], communes[1]
    assert [c["code"] for c in viewer.get("/api/communes").json()] == [a]
    assert viewer.get(f"/api/communes/{a}").status_code == 200
    assert viewer.get(f"/api/communes/{b}").status_code == 403
    assert viewer.get(f"/api/devices/c{b}-bts1").status_code == 404
    assert viewer.get(f"/api/devices/c{b}-bts1/series").status_code == 404
    assert viewer.get("/api/devices", params={"commune": b}).status_code == 403
    assert {d["commune"] for d in viewer.get("/api/devices").json()} == {a}
    assert [r["code"] for r in viewer.get("/api/coordinator").json()] == [a]
    assert viewer.get("/api/incidents", params={"commune": b}).status_code == 403
    assert all(i["commune"] == a for i in viewer.get("/api/incidents").json())
    assert viewer.get(f"/communes/{b}").status_code == 403
    assert viewer.get(f"/communes/{a}").status_code == 200
    assert (
        viewer.post(
            "/api/maintenance",
            json={"scope": "commune", "target": a, "ends_at": 2**31, "reason": "x"},
            headers=csrf_headers(viewer),
        ).status_code
        == 403
    )


def test_roles_gate_writes(clients: dict[str, httpx.Client], communes: list[str]) -> None:
    now = int(time.time())
    body = {
        "scope": "device",
        "target": f"c{communes[1]}-sw1",
        "starts_at": now + 86400 * 30,
        "ends_at": now + 86400 * 30 + 3600,
        "reason": "thay switch",
    }
    coord = clients["coord"]
    assert coord.post("/api/maintenance", json=body, headers=csrf_headers(coord)).status_code == 403
    assert coord.get("/api/users").status_code == 403
    op = clients["operator"]
    assert op.post("/api/maintenance", json=body).status_code == 403  # no CSRF header: refused
    made = op.post("/api/maintenance", json=body, headers=csrf_headers(op))
    assert made.status_code == 201, made.text
    window = made.json()
    assert window["created_by"] == "operator" and not window["active"]
    listed = op.get("/api/maintenance").json()
    assert window["id"] in [w["id"] for w in listed]
    ended = op.post(f"/api/maintenance/{window['id']}/end", headers=csrf_headers(op))
    assert ended.status_code == 200 and ended.json()["cancelled_utc"]
    assert op.post("/api/maintenance/999999/end", headers=csrf_headers(op)).status_code == 404
    bad = op.post("/api/maintenance", json={**body, "target": "no-such"}, headers=csrf_headers(op))
    assert bad.status_code == 422 and "no-such" in bad.json()["detail"]
    assert op.post("/api/incidents/999999/ack", json={}, headers=csrf_headers(op)).status_code == 404
    audit = clients["admin"].get("/api/audit", params={"actor": "operator"}).json()
    assert {"maintenance.create", "maintenance.end"} <= {e["action"] for e in audit}


def test_tokens_are_scoped_and_revocable(
    running: RunningService, clients: dict[str, httpx.Client], communes: list[str]
) -> None:
    admin = clients["admin"]
    made = admin.post(
        "/api/tokens",
        json={"name": "ioc", "scopes": ["read"], "communes": [communes[1]]},
        headers=csrf_headers(admin),
    )
    assert made.status_code == 201, made.text
    secret = made.json()["token"]
    assert secret.startswith("tbk_")
    auth = {"Authorization": f"Bearer {secret}"}
    assert [c["code"] for c in httpx.get(running.url + "/api/communes", headers=auth).json()] == [communes[1]]
    assert httpx.get(running.url + f"/api/communes/{communes[0]}", headers=auth).status_code == 403
    no_ack = httpx.post(running.url + "/api/incidents/1/ack", json={}, headers=auth)
    assert no_ack.status_code == 403
    listed = admin.get("/api/tokens").json()
    assert all("token" not in t for t in listed) and secret not in str(listed)
    revoked = admin.delete(f"/api/tokens/{made.json()['id']}", headers=csrf_headers(admin))
    assert revoked.status_code == 200 and revoked.json()["revoked_utc"]
    assert httpx.get(running.url + "/api/communes", headers=auth).status_code == 401
    assert (
        httpx.get(running.url + "/api/communes", headers={"Authorization": "Bearer tbk_nope"}).status_code
        == 401
    )
    actions = {e["action"] for e in admin.get("/api/audit").json()}
    assert {"token.create", "token.revoke"} <= actions


def test_admin_manages_users(
    running: RunningService, clients: dict[str, httpx.Client], communes: list[str]
) -> None:
    admin = clients["admin"]
    made = admin.post(
        "/api/users",
        json={"username": "cp-b", "password": PASSWORD, "role": "viewer", "communes": [communes[1]]},
        headers=csrf_headers(admin),
    )
    assert made.status_code == 201, made.text
    dup = admin.post(
        "/api/users",
        json={"username": "cp-b", "password": PASSWORD, "role": "viewer", "communes": [communes[1]]},
        headers=csrf_headers(admin),
    )
    assert dup.status_code == 409
    weak = admin.post(
        "/api/users",
        json={"username": "weak", "password": "aaaaaaaaaa", "role": "operator"},
        headers=csrf_headers(admin),
    )
    assert weak.status_code == 422
    cp = login(running.url, "cp-b")
    assert cp.get("/api/me").json()["communes"] == [communes[1]]
    assert (
        admin.post(f"/api/users/{made.json()['id']}/disable", headers=csrf_headers(admin)).status_code == 200
    )
    assert cp.get("/api/me").status_code in (200, 401)  # session cache lives a few seconds at most
    accounts_of(running.service)._cache.clear()
    wait_for(lambda: cp.get("/api/me").status_code == 401, timeout=8)
    cp.close()
    assert "password" not in admin.get("/api/users").text


def test_login_is_rate_limited_and_audited(running: RunningService, clients: dict[str, httpx.Client]) -> None:
    client = httpx.Client(base_url=running.url)
    client.get("/login")
    csrf = client.cookies.get("tb_csrf")
    codes = [
        client.post(
            "/login", data={"username": "ratelimited", "password": f"wrong-{i}", "csrf": csrf}
        ).status_code
        for i in range(7)
    ]
    assert codes[:5] == [401] * 5 and codes[-1] == 429
    no_csrf = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert no_csrf.status_code == 403
    client.close()
    audit = clients["admin"].get("/api/audit", params={"actor": "ratelimited"}).json()
    assert {"login.failed", "login.blocked"} <= {e["action"] for e in audit}


def test_session_cookie_flags(running: RunningService) -> None:
    client = httpx.Client(base_url=running.url)
    client.get("/login")
    answer = client.post(
        "/login", data={"username": "operator", "password": PASSWORD, "csrf": client.cookies.get("tb_csrf")}
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "tb_session=" in cookie
    client.close()


def test_errors_have_one_shape(running: RunningService) -> None:
    for path, status in (
        ("/api/communes/99999", 404),
        ("/api/devices?commune=00000", 404),
        ("/api/incidents?severity=9", 422),
        ("/api/devices/nope", 404),
    ):
        answer = running.get(path)
        assert answer.status_code == status, path
        body = answer.json()
        assert answer.headers["content-type"].startswith(PROBLEM)
        assert set(body) >= {"type", "title", "status", "detail"} and body["status"] == status
