"""Shared real peers for functional tests: one snmpsim lab, one running Trucban.

Started once per session (session fixtures) and shared by every functional test.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from api.auth.roles import Role
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab.generator import LabLayout, generate_lab
from lab.runner import LabAgents, clear, free_udp_port
from tests.functional.notify_peers import SmtpSink
from tests.functional.web_peers import ensure_user, login
from trucban.service import Service, build_service
from trucban.settings import load_settings

LAB_COMMUNES = 6
POLL_INTERVAL_S = 2.0


@dataclass
class Lab:
    """A running simulated lab: where it lives, its agents and its inventory."""

    layout: LabLayout
    agents: LabAgents
    inventory: Inventory


@dataclass
class RunningService:
    """Trucban serving HTTP on a free loopback port, polling the lab."""

    service: Service
    url: str
    client: httpx.Client | None = None  # logged in as an operator (the API and pages need a login)

    def get(self, path: str) -> httpx.Response:
        """GET a path from the running service."""
        if self.client is not None:
            return self.client.get(path, timeout=5)
        return httpx.get(self.url + path, timeout=5)


def free_tcp_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Six Hải Phòng communes (+ city core) as snmpsim agents on one UDP port."""
    root = tmp_path_factory.mktemp("lab")
    port = free_udp_port()
    layout = generate_lab(root, "31", port=port, limit=LAB_COMMUNES)
    agents = LabAgents(layout.data_dir, layout.state_dir, layout.cache_dir, port=port)
    agents.start(timeout=120)
    try:
        yield Lab(layout, agents, load_inventory(layout.inventory))
    finally:
        agents.stop()


@pytest.fixture()
def healthy_lab(lab: Lab) -> Iterator[Lab]:
    """The lab with every staged change cleared before and after the test."""
    clear(lab.layout.state_dir)
    yield lab
    clear(lab.layout.state_dir)


@pytest.fixture(scope="session")
def running(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """Trucban's single-node service polling the lab every two seconds, over real HTTP."""
    mail = SmtpSink()  # alerts go somewhere real: every post must have a channel (or not be ready)
    mail.start()
    settings = load_settings(
        env={}, data_dir=tmp_path_factory.mktemp("data"), http_port=free_tcp_port(),
        poll_interval_s=POLL_INTERVAL_S, health_interval_s=POLL_INTERVAL_S * 2,
        smtp_host="127.0.0.1", smtp_port=mail.port, smtp_starttls=False, noc_email="noc@lab.invalid",
    )
    service = build_service(settings, lab.inventory)
    server = uvicorn.Server(uvicorn.Config(service.app(), host="127.0.0.1",
                                           port=settings.http_port, log_level="warning", proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("Trucban did not start serving")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{settings.http_port}"
    ensure_user(service, "operator", Role.OPERATOR)
    client = login(url, "operator")
    try:
        yield RunningService(service, url, client)
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=10)
        mail.stop()


def wait_for(predicate, timeout: float, interval: float = 0.25):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns something truthy; return it or fail."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


