"""The two real peers of a truth run: an SMTP server that stamps every accepted mail, and Trucban itself.

The SMTP server is aiosmtpd on 127.0.0.1 (no STARTTLS); a mail is *accepted*
when its DATA is answered 250, and that instant is what the checker times.
Trucban runs as ``.venv/bin/trucban run --inventory …`` in a subprocess with its
settings in ``TRUCBAN_*`` variables: only the plan intervals are compressed;
every notification and confirmation timer keeps its shipped default.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.functional.truth.agents import REPO
from tests.functional.truth.schedule import Timing


def free_tcp_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Mail:
    """One accepted e-mail, reduced to what the checker reads."""

    at: float  # epoch s when the server accepted it
    rcpt: tuple[str, ...]
    post: str
    down: tuple[int, ...]
    recovered: tuple[int, ...]
    subject: str

    @property
    def about_incidents(self) -> bool:
        """True when it announces or resolves at least one incident."""
        return bool(self.down or self.recovered)


def _ids(value: str) -> tuple[int, ...]:
    return tuple(int(v) for v in value.replace(",", " ").split() if v.strip().isdigit())


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        at = time.time()
        msg = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        mail = Mail(at, tuple(envelope.rcpt_tos), str(msg.get("X-Trucban-Post", "")),
                    _ids(str(msg.get("X-Trucban-Down", ""))), _ids(str(msg.get("X-Trucban-Recovered", ""))),
                    str(msg.get("Subject", "")))
        with self.sink.lock:
            self.sink.mails.append(mail)
        return "250 OK"


@dataclass
class SmtpSink:
    """aiosmtpd on 127.0.0.1:``port``; ``mails`` in the order accepted."""

    port: int = field(default_factory=free_tcp_port)
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None

    def start(self) -> None:
        """Serve until :meth:`stop`."""
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        controller, self.controller = self.controller, None
        if controller is not None:
            controller.stop()

    def snapshot(self) -> list[Mail]:
        """The mails so far."""
        with self.lock:
            return list(self.mails)


def trucban_executable() -> str:
    """The venv's ``trucban`` console script."""
    return str(REPO / ".venv" / "bin" / "trucban")


@dataclass
class TrucbanProcess:
    """``trucban run --inventory`` as a child process with its settings in the environment."""

    inventory: Path
    data_dir: Path
    smtp_port: int
    noc_email: str
    timing: Timing
    http_port: int = field(default_factory=free_tcp_port)
    extra_env: Mapping[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def log_path(self) -> Path:
        """Where the service's stdout/stderr go."""
        return self.data_dir / "trucban.log"

    @property
    def alerting_db(self) -> Path:
        """The service's alerting SQLite database (default location in data_dir)."""
        return self.data_dir / "alerting.sqlite"

    def env(self) -> dict[str, str]:
        """Our environment without inherited TRUCBAN_* settings, plus the run's settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRUCBAN_")}
        env.update({
            "TRUCBAN_DATA_DIR": str(self.data_dir),
            "TRUCBAN_HTTP_HOST": "127.0.0.1",
            "TRUCBAN_HTTP_PORT": str(self.http_port),
            "TRUCBAN_TRAP_PORT": "0",
            "TRUCBAN_SMTP_HOST": "127.0.0.1",
            "TRUCBAN_SMTP_PORT": str(self.smtp_port),
            "TRUCBAN_SMTP_STARTTLS": "false",
            "TRUCBAN_NOC_EMAIL": self.noc_email,
            "TRUCBAN_POLL_INTERVAL_S": str(self.timing.poll_s),
            "TRUCBAN_HEALTH_INTERVAL_S": str(self.timing.health_s),
            "TRUCBAN_INVENTORY_INTERVAL_S": str(self.timing.inventory_s),
            "TRUCBAN_REPORTS_ENABLED": "false",  # no monthly report (and no headless browser) mid-run
            **self.extra_env,
        })
        return env

    def start(self, timeout: float = 90.0) -> float:
        """Start and wait until ``/healthz`` answers; return that instant."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([trucban_executable(), "run", "--inventory", str(self.inventory)],
                                         stdout=log, stderr=subprocess.STDOUT, env=self.env(), cwd=REPO,
                                         start_new_session=True)
        self.started_at = time.time()
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.http_port}/healthz"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"trucban exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    return time.time()
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"trucban did not serve /healthz within {timeout:.0f} s:\n{self.log_tail()}")

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL (idempotent)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the service's log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"
