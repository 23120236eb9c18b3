"""IOC webhooks: incident open/ack/resolve and typhoon declare/end reach a local HTTP server, signed
with HMAC-SHA256, through the notification outbox — and a 500 is retried until accepted."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alerting.core import AlertingCore
from alerting.db import open_database
from alerting.notify.config import NotifyConfig
from alerting.notify.facade import NotifyService
from alerting.repository import IncidentRepository
from inventory.loader import load_inventory
from lab.generator import generate_lab
from reports.ioc_feed import IocFeed
from reports.signed_webhook import SIGNATURE_HEADER, verify
from store.sqlite import SqliteMetricStore
from tests.unit.alerting.helpers import results

pytestmark = pytest.mark.functional
SECRET = "ioc-webhook-secret-2026"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = 1_790_000_000


class Receiver(BaseHTTPRequestHandler):
    """Records every POST; answers the status codes queued in ``server.codes`` (then 200)."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        code = server.codes.pop(0) if server.codes else 200  # type: ignore[attr-defined]
        server.got.append((dict(self.headers), body, code))  # type: ignore[attr-defined]
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def receiver() -> Iterator[ThreadingHTTPServer]:
    """The IOC's webhook endpoint on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.got, server.codes = [], []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_signed_webhooks_through_the_outbox(receiver: ThreadingHTTPServer, tmp_path: Path) -> None:
    inventory = load_inventory(generate_lab(tmp_path / "lab", "31", port=16197, limit=2).inventory)
    engine = open_database(f"sqlite:///{tmp_path / 'alerting.sqlite'}")
    store = SqliteMetricStore(tmp_path / "metrics.sqlite")
    clock = [float(T0)]
    port = receiver.server_address[1]
    config = NotifyConfig.model_validate({
        "channels": {"ioc": {"kind": "webhook", "max_attempts": 10,
                             "url": f"tbhook://ioc:{SECRET}@127.0.0.1:{port}/hooks/trucban?secure=no"}},
        "retry": {"backoff_s": 1, "max_backoff_s": 2},
    })
    notify = NotifyService.build(engine, inventory, config, incidents=IncidentRepository(engine),
                                 base_url="http://127.0.0.1:8000", timezone=TZ, clock=lambda: clock[0])
    core = AlertingCore(inventory, store, engine, subscribers=[notify.subscriber])
    feed = IocFeed(engine, inventory, ["ioc"], TZ, clock=lambda: clock[0])
    feed.run_once(T0)  # first start: cursors set, no replay
    bts = f"c{inventory.watched_communes[1]}-bts1"
    core.evaluate(results(inventory, T0), T0)
    (opened,) = [c.incident for c in core.evaluate(results(inventory, T0 + 30, silent={bts}), T0 + 30)]
    clock[0] = T0 + 40
    notify.acknowledge(opened.id, "Điều phối viên", "đang xử lý")
    core.evaluate(results(inventory, T0 + 60), T0 + 60)
    clock[0] = T0 + 70
    notify.declare_typhoon("Yagi", by="Điều phối viên", ends_at=T0 + 7200, province="31")
    clock[0] = T0 + 80
    notify.end_typhoon(by="Điều phối viên")
    assert feed.run_once(T0 + 90) == 5
    assert feed.run_once(T0 + 91) == 0  # nothing new, nothing twice
    receiver.codes[:] = [500]  # type: ignore[attr-defined]
    for step in range(12):
        notify.run_once(T0 + 100 + 3 * step)
    got = receiver.got  # type: ignore[attr-defined]
    events = [json.loads(body) for _, body, _ in got]
    assert [e["event"] for e in events] == ["incident.opened", "incident.opened", "incident.acknowledged",
                                            "incident.resolved", "typhoon.declared", "typhoon.ended"]
    assert [code for _, _, code in got][:2] == [500, 200]  # the refused first event came again, unchanged
    assert events[0]["delivery"] == events[1]["delivery"] and got[0][1] == got[1][1]
    for headers, body, _ in got:
        assert verify(SECRET, body, headers[SIGNATURE_HEADER]), headers
        assert not verify("wrong-secret", body, headers[SIGNATURE_HEADER])
        assert headers["X-Trucban-Event"] == json.loads(body)["event"]
        assert SECRET not in body.decode()
    incident = events[0]["incident"]
    assert incident["device"] == bts and incident["status"] == "open"
    assert events[2]["incident"]["acked_by"] == "Điều phối viên" and events[2]["actor"] == "Điều phối viên"
    assert events[3]["incident"]["resolved_at"] == T0 + 60
    assert events[4]["typhoon"]["name"] == "Yagi" and events[4]["occurred_at_local"].endswith("+07:00")
    status = notify.outbox_page(post="ioc")
    assert {row["status"] for row in status["items"]} == {"sent"}
    assert SECRET not in json.dumps(notify.status())
    store.close()
    engine.dispose()
