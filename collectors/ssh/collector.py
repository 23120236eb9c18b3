"""SSH CLI collector on netmiko: one CLI session per device, reused between polls.

netmiko is synchronous, so each device's work runs on a worker of the
collector's own thread pool. Logins are limited (``max_logins`` at a time) and
bounded by the device's timeout, so slow logins never stall a cycle. A broken
session is re-opened once within the same poll. The same sessions serve
on-demand diagnostics (:meth:`SshCollector.run_diagnostic`) for runbooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from netmiko.exceptions import ReadTimeout

from collectors.base import PollResult
from collectors.ssh.errors import CliTimeout, CliUnparseable, CliUnreachable
from collectors.ssh.parse import parse_rows, raw_sample, to_samples
from collectors.ssh.platforms import Platform, load_platforms
from collectors.ssh.session import open_ssh
from common.errors import CollectorError
from inventory.model import Device
from store.base import Sample

log = logging.getLogger(__name__)


@dataclass
class _Session:
    conn: Any
    opened: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SshCollector:
    """Polls devices with an ``ssh`` access block by running show commands."""

    name = "ssh"

    def __init__(self, credentials: dict[str, Any], platforms: dict[str, Platform] | None = None,
                 max_sessions: int = 32, max_logins: int = 4) -> None:
        self._credentials = credentials
        self._platforms = platforms if platforms is not None else load_platforms()
        self._pool = ThreadPoolExecutor(max_workers=max_sessions, thread_name_prefix="ssh-cli")
        self._logins = threading.BoundedSemaphore(max_logins)
        self._sessions: dict[str, _Session] = {}
        self.reconnects: dict[str, int] = {}

    async def poll(self, device: Device, tags: dict[str, str]) -> PollResult:
        """Run the platform's show commands; failures come back inside the result."""
        ts = int(time.time())
        start = time.perf_counter()
        result = PollResult(device=device.id, ok=False, ts=ts)
        try:
            samples = await self._in_thread(device, self._collect, device, tags, ts)
            result.samples, result.ok = samples, True
        except CliUnparseable as exc:
            result.samples = [raw_sample(exc, tags, ts)]
            result.error, result.error_kind = str(exc), exc.kind
        except CollectorError as exc:
            result.error, result.error_kind = str(exc), exc.kind
        except Exception as exc:  # a bug or odd device must not abort the cycle
            log.exception("internal error polling %s over SSH", device.id)
            result.error, result.error_kind = f"{device.id}: internal error: {exc!r}", "internal"
        result.duration_ms = (time.perf_counter() - start) * 1000
        return result

    async def run_diagnostic(self, device: Device, command: str) -> str:
        """Raw output of one allowed diagnostic command (for incidents and runbooks)."""
        platform = self._platform(device)
        if command not in platform.diagnostics:
            raise PermissionError(f"{command!r} is not an allowed diagnostic for {platform.name}")
        return str(await self._in_thread(device, self._send, device, command))

    async def close(self) -> None:
        """Log out of every session and stop the worker pool."""
        for dev_id in list(self._sessions):
            self._drop(dev_id)
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _in_thread(self, device: Device, fn: Any, *args: Any) -> Any:
        if device.ssh is None:
            raise CliUnreachable(device.id, "device has no SSH access configured")
        budget = device.ssh.timeout_s * 4 + 5
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._pool, fn, *args), budget)
        except CollectorError:
            raise
        except TimeoutError:
            raise CliTimeout(device.id, f"SSH CLI poll did not finish within {budget:.0f}s") from None

    # -- worker thread side ------------------------------------------------------------------

    def _platform(self, device: Device) -> Platform:
        assert device.ssh is not None
        try:
            return self._platforms[device.ssh.platform]
        except KeyError:
            raise CliUnreachable(device.id, f"unknown SSH CLI platform {device.ssh.platform!r}") from None

    def _collect(self, device: Device, tags: dict[str, str], ts: int) -> list[Sample]:
        platform = self._platform(device)
        samples: list[Sample] = []
        for spec in platform.commands:
            raw = self._send(device, spec.command)
            rows = parse_rows(device.id, platform.device_type, spec, raw)
            samples += to_samples(spec, rows, tags, ts)
        return samples

    def _send(self, device: Device, command: str) -> str:
        for attempt in (1, 2):
            fresh = device.id not in self._sessions
            session = self._session(device)
            try:
                with session.lock:
                    return str(session.conn.send_command(command, read_timeout=device.ssh.timeout_s))  # type: ignore[union-attr]
            except ReadTimeout:
                self._drop(device.id)
                raise CliTimeout(device.id, f"{command!r} gave no prompt back in time") from None
            except (OSError, EOFError, Exception) as exc:
                self._drop(device.id)
                if fresh or attempt == 2:
                    raise CliUnreachable(device.id, f"SSH session lost during {command!r}: "
                                                    f"{type(exc).__name__}") from None
                log.info("%s: SSH session broke, re-establishing", device.id)
        raise AssertionError("unreachable")

    def _session(self, device: Device) -> _Session:
        existing = self._sessions.get(device.id)
        if existing is not None:
            return existing
        assert device.ssh is not None
        access, platform = device.ssh, self._platform(device)
        if not self._logins.acquire(timeout=access.timeout_s):
            raise CliTimeout(device.id, "too many SSH logins in progress; try next cycle")
        try:
            conn = open_ssh(device, self._credentials, platform.device_type, enable=platform.enable,
                            timeout_s=access.timeout_s)
        finally:
            self._logins.release()
        session = _Session(conn)
        self.reconnects[device.id] = self.reconnects.get(device.id, -1) + 1
        self._sessions[device.id] = session
        return session

    def _drop(self, dev_id: str) -> None:
        session = self._sessions.pop(dev_id, None)
        if session is not None:
            with contextlib.suppress(Exception):  # already gone; logging out is best effort
                session.conn.disconnect()
