"""A light Trucban API on a real uvicorn server on loopback: no poller, no SNMP agents.

For tests of the HTTP front itself (limits, authentication, error shapes): a
small lab-shaped inventory, a fresh alerting database and metric store, and
the app from :func:`api.app.create_app` served over real TCP.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import uvicorn

from alerting.core import AlertingCore
from alerting.db import database_url, open_database
from api.app import create_app
from api.auth.accounts import AccountStore
from api.auth.audit import AuditLog
from api.auth.roles import Principal
from api.context import ApiContext, Security, WebOptions
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab.generator import generate_lab
from poller.cycle import CycleReport
from store.base import MetricStore
from store.sqlite import SqliteMetricStore
from tests.functional.conftest import free_tcp_port

PASSWORD = "Trực-ban-2026-an-toàn"


class NoCycle:
    """No poller: there is never a last cycle."""

    last: CycleReport | None = None


@dataclass
class LightServer:
    """The app served on ``url``; ``security`` to make accounts and tokens."""

    url: str
    port: int
    ctx: ApiContext
    security: Security

    def token(self, scopes: list[str] | None = None) -> str:
        """A fresh API token's secret (read, ack, maintenance, typhoon by default)."""
        scopes = scopes or ["read", "ack", "maintenance", "typhoon"]
        name = f"t{secrets.token_hex(3)}"
        _, secret = self.security.accounts.create_token(name, scopes, created_by="tests")
        return secret

    def principal_of(self, secret: str) -> Principal | None:
        """Who a token is (None when unknown)."""
        return self.security.accounts.token_principal(secret)


def light_inventory(root: Path) -> Inventory:
    """Two Hải Phòng communes (plus city core and DNS), generated, never started."""
    layout = generate_lab(root, "31", port=16197, limit=2)
    return load_inventory(layout.inventory)


@contextmanager
def light_server(
    root: Path, inventory: Inventory, web: WebOptions | None = None, store: MetricStore | None = None,
    proxy_headers: bool = False,
) -> Iterator[LightServer]:
    """Serve the app on a free loopback port until the block ends.

    ``proxy_headers=False`` as Trucban runs it: the app alone decides which
    forwarded headers to believe (``trusted_proxies``).
    """
    root.mkdir(parents=True, exist_ok=True)
    own_store = store is None
    metric_store: MetricStore = store or SqliteMetricStore(root / "metrics.sqlite")
    engine = open_database(database_url(root / "alerting.sqlite"))
    core = AlertingCore(inventory, metric_store, engine, timezone=ZoneInfo("Asia/Ho_Chi_Minh"))
    security = Security(AccountStore(engine, secrets.token_bytes(32)), AuditLog(engine))
    ctx = ApiContext(inventory, core.tracker, metric_store, NoCycle(), ZoneInfo("Asia/Ho_Chi_Minh"), core,
                     security=security, web=web or WebOptions())
    port = free_tcp_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning",
                                           proxy_headers=proxy_headers))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "API server did not start"
        time.sleep(0.02)
    try:
        yield LightServer(f"http://127.0.0.1:{port}", port, ctx, security)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if own_store:
            metric_store.close()
        engine.dispose()


def rss_bytes() -> int:
    """This process's resident memory (the server runs in a thread of it)."""
    with open(f"/proc/{os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def raw_request(port: int, head: str) -> socket.socket:
    """A connected socket that has sent ``head`` (request line and headers, no body yet)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head.encode("latin-1"))
    return sock


def read_answer(sock: socket.socket, timeout: float) -> bytes:
    """Whatever the server answers within ``timeout`` (until it closes or sends the full head)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        pass
    return data
