"""The InfluxDB backend's HTTP behaviour against a scripted loopback server.

gzip, batching, retries with backoff, how answers are sorted into 'try later'
and 'refused', which write API a server version gets, credentials kept out of
messages, and the 2.x setup calls. Real servers are in tests/functional.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from store.base import Sample, StoreRejected, StoreUnavailable
from store.influx import InfluxMetricStore, api_for_version, quote_ident, quote_string
from store.influx_setup import Retention, SetupError, duration_seconds, setup


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeInflux:
    """Answers from a script: path → list of (status, body); the last one repeats."""

    version: str = "2.7.4"
    script: dict[str, list[tuple[int, object]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def answer(self, method: str, path: str) -> tuple[int, object]:
        replies = self.script.get(f"{method} {path}") or self.script.get(path) or [(204, "")]
        return replies.pop(0) if len(replies) > 1 else replies[0]


@pytest.fixture()
def fake() -> Iterator[FakeInflux]:
    state = FakeInflux()

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            url = urlparse(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            state.seen.append(Seen(self.command, url.path, parse_qs(url.query), dict(self.headers), body))
            status, reply = state.answer(self.command, url.path)
            data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
            self.send_response(status)
            self.send_header("X-Influxdb-Version", state.version)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _any

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def samples(n: int) -> list[Sample]:
    return [Sample("reachability", {"device": f"d{i}"}, {"up": 1}, 1_700_000_000) for i in range(n)]


def quick(url: str, **kwargs: object) -> InfluxMetricStore:
    return InfluxMetricStore(url, max_retries=3, retry_interval_s=0.01, max_retry_time_s=2,
                             **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("version", "api"), [("1.6.7~rc0", "v1"), ("1.7.11", "v1"), ("1.8.10", "v2"),
                                              ("v2.7.4", "v2"), ("3.0.1", "v2"), ("", "v2")])
def test_write_api_follows_the_version(version: str, api: str) -> None:
    assert api_for_version(version) == api


def test_v2_writes_gzip_batches_with_token_and_precision(fake: FakeInflux) -> None:
    store = quick(fake.url, token="s3cret", org="o", bucket="b", batch_size=4)
    store.write(samples(10))
    writes = [s for s in fake.seen if s.path == "/api/v2/write"]
    assert [len(w.body.splitlines()) for w in writes] == [4, 4, 2]
    assert writes[0].headers["Content-Encoding"] == "gzip"
    assert writes[0].headers["Authorization"] == "Token s3cret"
    assert writes[0].query == {"org": ["o"], "bucket": ["b"], "precision": ["s"]}
    assert writes[0].body.splitlines()[0] == b"reachability,device=d0 up=1i 1700000000"
    store.close()


def test_v1_writes_gzip_to_the_database_with_basic_auth(fake: FakeInflux) -> None:
    fake.version = "1.6.7~rc0"
    store = quick(fake.url, token="admin:pw", database="db", retention_policy="raw")
    store.write(samples(3))
    [write] = [s for s in fake.seen if s.path == "/write"]
    assert write.query == {"db": ["db"], "rp": ["raw"], "precision": ["s"]}
    assert write.headers["Content-Encoding"] == "gzip" and write.headers["Authorization"].startswith("Basic ")
    assert len(write.body.splitlines()) == 3
    store.close()


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_overload_is_retried_with_backoff(fake: FakeInflux, api: str) -> None:
    path = "/write" if api == "v1" else "/api/v2/write"
    fake.script[path] = [(503, {"error": "busy"}), (429, {"error": "slow down"}), (204, "")]
    store = quick(fake.url, api=api)
    store.write(samples(2))
    assert [s.path for s in fake.seen].count(path) == 3
    store.close()


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_still_down_after_the_retries_is_unavailable(fake: FakeInflux, api: str) -> None:
    fake.script["/write" if api == "v1" else "/api/v2/write"] = [(503, {"error": "busy"})]
    store = quick(fake.url, api=api)
    with pytest.raises(StoreUnavailable):
        store.write(samples(2))
    store.close()


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_refused_credentials_or_database_are_unavailable_not_rejected(fake: FakeInflux, api: str) -> None:
    path = "/write" if api == "v1" else "/api/v2/write"
    for status in (401, 404):
        fake.script[path] = [(status, {"error": "nope"})]
        store = quick(fake.url, api=api, token="user:topsecret")
        with pytest.raises(StoreUnavailable) as failure:
            store.write(samples(1))
        assert "topsecret" not in str(failure.value)
        store.close()


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_refused_data_is_rejected_after_the_other_batches_are_written(fake: FakeInflux, api: str) -> None:
    path = "/write" if api == "v1" else "/api/v2/write"
    fake.script[path] = [(204, ""), (400, {"error": "field type conflict"}), (204, "")]
    store = quick(fake.url, api=api, batch_size=2)
    batch = samples(6)
    with pytest.raises(StoreRejected) as refused:
        store.write(batch)
    assert refused.value.samples == batch[2:4]
    assert "field type conflict" in str(refused.value)
    assert [s.path for s in fake.seen].count(path) == 3
    store.close()


def test_unreachable_server_is_unavailable_quickly() -> None:
    from tests.functional.store_servers import free_port

    store = quick(f"http://127.0.0.1:{free_port()}", api="v2")
    with pytest.raises(StoreUnavailable, match="unreachable"):
        store.write(samples(1))
    auto = quick(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreUnavailable):
        auto.write(samples(1))  # the version cannot even be asked
    store.close()
    auto.close()


def test_query_errors_are_reported(fake: FakeInflux) -> None:
    fake.script["/query"] = [(200, {"results": [{"statement_id": 0, "error": "database not found: x"}]})]
    store = quick(fake.url)
    with pytest.raises(StoreRejected, match="database not found"):
        store.latest("m")
    fake.script["/query"] = [(401, {"error": "authorization failed"})]
    with pytest.raises(StoreUnavailable, match="authorization failed"):
        store.latest("m")
    store.close()


def test_influxql_quoting() -> None:
    assert quote_ident('we"ird\\') == '"we\\"ird\\\\"'
    assert quote_string("Hồng Bàng's") == "'Hồng Bàng\\'s'"


def test_setup_v2_makes_buckets_and_dbrp_mappings(fake: FakeInflux) -> None:
    fake.script.update({
        "/api/v2/orgs": [(200, {"orgs": [{"id": "org1", "name": "trucban"}]})],
        "GET /api/v2/buckets": [(200, {"buckets": []}),
                                (200, {"buckets": [{"id": "bk2", "name": "trucban_1h"}]})],
        "POST /api/v2/buckets": [(201, {"id": "bk1"})],
        "PATCH /api/v2/buckets/bk2": [(200, {"id": "bk2"})],
        "GET /api/v2/dbrps": [(200, {"content": []}),
                              (200, {"content": [{"id": "m2", "bucketID": "other", "default": False}]})],
        "POST /api/v2/dbrps": [(201, {"id": "m"})],
        "DELETE /api/v2/dbrps/m2": [(204, "")],
    })
    store = quick(fake.url, token="tok")
    done = setup(store, Retention("30d", "INF"))
    assert any("bucket trucban: 30d" in line for line in done)
    calls = [(s.method, s.path, json.loads(s.body) if s.body else None) for s in fake.seen
             if s.path != "/ping"]
    month = [{"type": "expire", "everySeconds": 2592000}]
    assert ("POST", "/api/v2/buckets", {"orgID": "org1", "name": "trucban", "retentionRules": month}) in calls
    assert ("PATCH", "/api/v2/buckets/bk2", {"retentionRules": []}) in calls  # INF: no expiry
    posted = [body for method, path, body in calls if (method, path) == ("POST", "/api/v2/dbrps")]
    assert posted == [
        {"orgID": "org1", "bucketID": "bk1", "database": "trucban", "retention_policy": "raw",
         "default": True},
        {"orgID": "org1", "bucketID": "bk2", "database": "trucban", "retention_policy": "rollup_1h",
         "default": False},
    ]
    assert ("DELETE", "/api/v2/dbrps/m2", None) in calls  # the old mapping pointed elsewhere
    store.close()


def test_setup_refuses_what_it_cannot_do(fake: FakeInflux) -> None:
    fake.version = ""
    store = quick(fake.url)
    with pytest.raises(SetupError, match="does not say it is InfluxDB"):
        setup(store, Retention())
    fake.version = "3.0.1"
    assert "influxdb3" in " ".join(setup(store, Retention()))
    fake.version = "2.7.4"
    fake.script["/api/v2/orgs"] = [(200, {"orgs": []})]
    with pytest.raises(SetupError, match="organisation 'trucban' not found"):
        setup(store, Retention())
    with pytest.raises(SetupError):
        Retention(raw="thirty days")
    assert duration_seconds("2w") == 1_209_600 and duration_seconds("INF") == 0
    store.close()
