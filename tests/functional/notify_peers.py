"""Real peers for notification tests, all on loopback: an SMTP server (aiosmtpd, optional
STARTTLS) and one HTTP server speaking the Zalo Bot API, Zalo OA/ZNS and SMS-gateway formats.

Both record what they accepted and can be told to fail (SMTP down, HTTP 429/500)
so fault tests exercise retries and fallback.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1/localhost (for STARTTLS)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class Mail:
    """One accepted e-mail."""

    sender: str
    rcpt: list[str]
    message: EmailMessage
    tls: bool

    @property
    def subject(self) -> str:
        """Decoded subject."""
        return str(self.message["Subject"])

    def header(self, name: str) -> str:
        """A header's value or ''."""
        return str(self.message.get(name, ""))

    def body(self) -> str:
        """HTML (or plain) body, decoded."""
        part = self.message.get_body(("html", "plain"))
        return part.get_content() if part is not None else ""


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        msg = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        with self.sink.lock:
            self.sink.mails.append(
                Mail(
                    envelope.mail_from or "",
                    list(envelope.rcpt_tos),
                    msg,  # type: ignore[arg-type]
                    session.ssl is not None,
                )
            )
        return "250 OK"


@dataclass
class SmtpSink:
    """A real SMTP server on 127.0.0.1 that can be stopped and started again on the same port."""

    port: int = field(default_factory=free_port)
    tls: tuple[Path, Path] | None = None
    user: str = "trucban"
    password: str = "smtpSecretPass123"
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None

    def start(self) -> None:
        """Listen (again)."""
        kwargs: dict[str, Any] = {}
        if self.tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            kwargs = {
                "tls_context": ctx,
                "require_starttls": True,
                "authenticator": self._auth,
                "auth_require_tls": True,
            }
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def _auth(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.user
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok)

    def stop(self) -> None:
        """Stop listening: connections are refused until :meth:`start`."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[Mail]:
        """Mails accepted for one recipient."""
        with self.lock:
            return [m for m in self.mails if address in m.rcpt]

    def clear(self) -> None:
        """Forget what was received."""
        with self.lock:
            self.mails.clear()


@dataclass
class HttpPeers:
    """Zalo Bot API, Zalo OA/ZNS and an SMS gateway on one loopback HTTP server."""

    port: int = field(default_factory=free_port)
    zalo_token: str = "123456789:zaloBotSecretToken"
    oa_token: str = "oaAccessTokenSecret123"
    sms_key: str = "smsGatewayKeySecret123"
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail: dict[str, list[int]] = field(default_factory=dict)  # service → status codes to answer next
    delay_s: float = 0.0  # answer this late (a slow gateway), after recording the request
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve in a daemon thread."""
        peers = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                service, ok = peers._classify(self.path, dict(self.headers))
                if service is None:
                    return self._answer(404, {"ok": False})
                if not ok:
                    return self._answer(401, {"ok": False, "error": -124})
                with peers.lock:
                    codes = peers.fail.get(service) or []
                    code = codes.pop(0) if codes else 200
                    if code == 200:
                        peers.requests.append({"service": service, "path": self.path, "body": body})
                if peers.delay_s:
                    time.sleep(peers.delay_s)
                if code != 200:
                    return self._answer(code, {"ok": False, "error": code}, retry_after=code == 429)
                if service == "zalo":
                    return self._answer(200, {"ok": True, "result": {"message_id": "m1"}})
                if service in ("zns", "oa"):
                    return self._answer(200, {"error": 0, "message": "Success", "data": {"msg_id": "z1"}})
                return self._answer(202, {"status": "accepted", "id": "s1"})

            def _answer(self, code: int, payload: dict, retry_after: bool = False) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if retry_after:
                    self.send_header("Retry-After", "1")
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _classify(self, path: str, headers: dict[str, str]) -> tuple[str | None, bool]:
        if path.startswith("/bot") and path.endswith("/sendMessage"):
            return "zalo", path == f"/bot{self.zalo_token}/sendMessage"
        if path == "/message/template":
            return "zns", headers.get("access_token") == self.oa_token
        if path == "/v3.0/oa/message/cs":
            return "oa", headers.get("access_token") == self.oa_token
        if path == "/hook":
            return "hook", True
        if path == "/api/sms/send":
            return "sms", headers.get("Authorization") == f"Bearer {self.sms_key}"
        return None, False

    def stop(self) -> None:
        """Stop serving."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def of(self, service: str) -> list[dict[str, Any]]:
        """Accepted requests to one service."""
        with self.lock:
            return [r for r in self.requests if r["service"] == service]

    def clear(self) -> None:
        """Forget requests and pending failures."""
        with self.lock:
            self.requests.clear()
            self.fail.clear()


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpSink]:
    """A STARTTLS + AUTH SMTP server on loopback (self-signed certificate)."""
    sink = SmtpSink(tls=self_signed(tmp_path_factory.mktemp("smtp")))
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def peers() -> Iterator[HttpPeers]:
    """Zalo Bot API, Zalo OA/ZNS and SMS gateway on one loopback HTTP server."""
    server = HttpPeers()
    server.start()
    yield server
    server.stop()


def channels(smtp: SmtpSink, peers: HttpPeers, **overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Channel definitions (routes-file shape) pointing at the local peers."""
    out: dict[str, dict[str, Any]] = {
        "email": {
            "kind": "email",
            "url": f"mailtos://{smtp.user}:{smtp.password}@127.0.0.1:{smtp.port}/"
            "?from=trucban@lab.invalid&to={target}&mode=starttls&verify=no",
            "max_attempts": 2,
        },
        "zalo": {
            "kind": "zalo",
            "url": f"zalo://{peers.zalo_token}/{{target}}",
            "api_base": peers.base,
            "max_attempts": 2,
        },
        "zns": {
            "kind": "zalo_oa",
            "url": f"zalooa://{peers.oa_token}@127.0.0.1:{peers.port}/{{target}}?template=7895417&secure=no",
            "max_attempts": 2,
        },
        "sms": {
            "kind": "sms",
            "url": f"smsgw://{peers.sms_key}@127.0.0.1:{peers.port}/{{target}}?brandname=TRUCBAN&secure=no",
            "max_attempts": 2,
        },
        "hook": {"kind": "webhook", "url": f"json://127.0.0.1:{peers.port}/hook"},
    }
    for name, values in overrides.items():
        out[name] = {**out.get(name, {}), **values}
    return out
