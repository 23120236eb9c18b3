"""Limits before work, over real TCP: size and authentication are decided before a body is read.

Each oversized or anonymous request declares (or starts streaming) a large body
and then waits: the answer must come before the body is sent, so the server
cannot have read, parsed or spooled it; the process's memory does not grow.
"""

from __future__ import annotations

import select
import time
from collections.abc import Iterator

import httpx
import pytest

from api.context import WebOptions
from tests.functional.api_peers import (
    LightServer,
    light_inventory,
    light_server,
    raw_request,
    read_answer,
    rss_bytes,
)

pytestmark = pytest.mark.functional
PROBLEM = b"application/problem+json"
JSON = "application/json"
LIMIT = 64 * 1024
UPLOAD_LIMIT = 6 * 2**20


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LightServer]:
    """The app with a 64 KiB body limit and a 6 MiB upload limit."""
    root = tmp_path_factory.mktemp("limits")
    inventory = light_inventory(root / "lab")
    web = WebOptions(body_limit=LIMIT, upload_limit=UPLOAD_LIMIT)
    with light_server(root / "data", inventory, web) as srv:
        yield srv


def head(
    method: str, path: str, length: int | None, *, extra: str = "", ctype: str = "application/json"
) -> str:
    """A request head; ``length=None`` streams the body chunked."""
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n{framing}\r\n"
            f"{extra}\r\n")


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0 when none came)."""
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def test_oversized_anonymous_body_refused_before_reading(api: LightServer) -> None:
    before = rss_bytes()
    meant = 40 * 2**20
    sock = raw_request(api.port, head("POST", "/api/maintenance", meant))
    sent = 0
    try:
        answer = read_answer(sock, timeout=5)  # not one byte of the 40 MB body was sent
        # Sending it anyway: the server has closed the connection, nothing is read or kept.
        sock.settimeout(5)
        block = b" " * 65536
        while sent < meant:
            sock.sendall(block)
            sent += len(block)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    finally:
        sock.close()
    assert status_of(answer) in (401, 413), answer[:200]
    assert PROBLEM in answer
    assert sent < meant // 4, sent
    assert rss_bytes() - before < 16 * 2**20


def test_anonymous_post_gets_401_before_its_body_is_sent(api: LightServer) -> None:
    sock = raw_request(api.port, head("POST", "/api/maintenance", 1000))
    try:
        answer = read_answer(sock, timeout=5)
    finally:
        sock.close()
    assert status_of(answer) == 401 and PROBLEM in answer, answer[:300]
    assert b"www-authenticate: Bearer" in answer.lower().replace(b"bearer", b"Bearer")


def test_anonymous_multipart_upload_refused_before_spooling(api: LightServer) -> None:
    sock = raw_request(api.port, head("POST", "/api/storms", 300 * 2**20,
                                      ctype="multipart/form-data; boundary=xyz"))
    try:
        answer = read_answer(sock, timeout=5)
    finally:
        sock.close()
    assert status_of(answer) in (401, 413) and PROBLEM in answer, answer[:300]


def test_anonymous_chunked_body_refused_before_the_first_chunk(api: LightServer) -> None:
    sock = raw_request(api.port, head("PUT", "/api/incidents/1/ack", None))
    try:
        answer = read_answer(sock, timeout=5)
    finally:
        sock.close()
    assert status_of(answer) == 401, answer[:300]


def test_anonymous_gets_401_not_400_for_a_bad_body(api: LightServer) -> None:
    for path in ("/api/maintenance", "/api/users", "/api/tokens", "/api/storms", "/api/incidents/1/ack"):
        answer = httpx.post(api.url + path, content=b"{not json", headers={"Content-Type": JSON})
        assert answer.status_code == 401, (path, answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    bogus = httpx.post(api.url + "/api/maintenance", content=b"{", headers={"Authorization": "Bearer tbk_no"})
    assert bogus.status_code == 401
    page = httpx.post(api.url + "/maintenance", data={"scope": "device"})
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")


def test_declared_length_over_the_route_limit_is_413_before_sending(api: LightServer) -> None:
    token = api.token()
    sock = raw_request(api.port, head("POST", "/api/maintenance", LIMIT + 1,
                                      extra=f"Authorization: Bearer {token}\r\n"))
    try:
        answer = read_answer(sock, timeout=5)
    finally:
        sock.close()
    assert status_of(answer) == 413 and PROBLEM in answer, answer[:300]
    # The public login form has its own, smaller limit: anonymous but refused by size, unread.
    sock = raw_request(api.port, head("POST", "/login", 2**20, ctype="application/x-www-form-urlencoded"))
    try:
        answer = read_answer(sock, timeout=5)
    finally:
        sock.close()
    assert status_of(answer) == 413, answer[:300]


def test_chunked_body_counted_while_it_streams(api: LightServer) -> None:
    token = api.token()
    before = rss_bytes()
    sock = raw_request(api.port, head("POST", "/api/maintenance", None,
                                      extra=f"Authorization: Bearer {token}\r\n"))
    chunk = b"x" * 16384
    sent, meant = 0, 40 * 2**20
    answer = b""
    try:
        while sent < meant:
            readable, _, _ = select.select([sock], [], [], 0.002)
            if readable:
                answer = read_answer(sock, timeout=5)
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                answer = read_answer(sock, timeout=5)
                break
            sent += len(chunk)
        if not answer:
            answer = read_answer(sock, timeout=5)
    except (TimeoutError, ConnectionResetError):
        pass
    finally:
        sock.close()
    assert status_of(answer) == 413 and PROBLEM in answer, (sent, answer[:300])
    # Refused a small fraction of the way in: what was sent sits at most in socket buffers.
    assert sent < meant // 4, sent
    assert rss_bytes() - before < 16 * 2**20


def test_bodies_within_the_limit_still_work(api: LightServer) -> None:
    token = api.token()
    device = next(iter(api.ctx.inventory.devices))
    now = int(time.time())
    answer = httpx.post(api.url + "/api/maintenance", headers={"Authorization": f"Bearer {token}"},
                        json={"scope": "device", "target": device, "starts_at": now, "ends_at": now + 3600,
                              "reason": "thay ắc quy"})
    assert answer.status_code == 201, answer.text
    listing = httpx.get(api.url + "/api/incidents", headers={"Authorization": f"Bearer {token}"})
    assert listing.status_code == 200
