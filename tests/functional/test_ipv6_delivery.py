"""Outgoing alert deliveries to IPv6 hosts: a webhook and an SMTP server listening on ``::1`` only."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from alerting.notify.channel_urls import smtp_channel
from alerting.notify.channels import ChannelSender
from alerting.notify.config import Channel, ChannelKind
from alerting.notify.messages import Rendered

pytestmark = pytest.mark.functional
MESSAGE = Rendered("Mất đường IPv6: Router lõi 2", "Mất IPv6 r2", "Mất đường IPv6 tới Router lõi 2",
                   "<p>Mất đường IPv6 tới Router lõi 2</p>")


class _Http6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class Peers6:
    """An HTTP server and an SMTP server on ``[::1]``, recording what arrives and from where."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, Any]] = []
        peers = self

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                peers.received.append(("http", self.client_address[0], body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        class Mail:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                peers.received.append(("smtp", session.peer[0], envelope.rcpt_tos))
                return "250 OK"

        self.http = _Http6(("::1", 0), Hook)
        self.http_port = int(self.http.server_address[1])
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
            self.smtp_port = int(probe.getsockname()[1])
        self.smtp = Controller(Mail(), hostname="::1", port=self.smtp_port)

    def start(self) -> None:
        """Serve both."""
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.smtp.start()

    def stop(self) -> None:
        """Stop both."""
        self.http.shutdown()
        self.http.server_close()
        self.smtp.stop()


@pytest.fixture(scope="module")
def peers6() -> Iterator[Peers6]:
    """Both servers, on IPv6 loopback only."""
    if not socket.has_ipv6:
        pytest.skip("this Python has no IPv6 support")
    peers = Peers6()
    peers.start()
    yield peers
    peers.stop()


def test_webhook_to_an_ipv6_host(peers6: Peers6) -> None:
    hook = Channel(kind=ChannelKind.WEBHOOK, url=SecretStr(f"json://[::1]:{peers6.http_port}/hook/{{target}}"))
    result = ChannelSender({"hook": hook}, timeout_s=5).send("hook", "noc", MESSAGE, "t-hook")
    assert result.ok, result.error
    kind, source, body = next(r for r in peers6.received if r[0] == "http")
    assert source == "::1" and "Mất đường IPv6" in body["message"]


def test_email_to_an_ipv6_smtp_server(peers6: Peers6) -> None:
    email = smtp_channel("::1", peers6.smtp_port, "trucban@lab.invalid", starttls=False, verify=False)
    result = ChannelSender({"email": email}, timeout_s=5).send("email", "noc@lab.invalid", MESSAGE, "t-mail")
    assert result.ok, result.error
    assert ("smtp", "::1", ["noc@lab.invalid"]) in peers6.received
