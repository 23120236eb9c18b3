"""The diagnostics runner: checks every request, then runs it gently.

Everything asked for is checked against the allow-list *before* anything is
sent; one refused request refuses the whole run (:class:`DiagnosticRefused`).
Runs are limited globally (``limits.concurrency`` at a time across Trucban),
one at a time per device, bounded by ``limits.timeout_s``, outputs clipped, and
a device is not probed again within ``limits.cooldown_s``: a second incident
asking for the same checks then shares the first run's output.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from inventory.model import Device
from poller.diagnostics.allowlist import AllowList, DiagnosticRefused
from poller.diagnostics.steps import DiagnosticReport, Step, StepResult
from poller.diagnostics.transports import Transport
from runbooks.catalog import Diagnostics

log = logging.getLogger(__name__)


class DiagnosticRunner:
    """Runs allow-listed, read-only steps on devices through protocol transports."""

    def __init__(self, allowlist: AllowList, transports: Mapping[str, Transport]) -> None:
        self.allowlist = allowlist
        self.limits = allowlist.limits
        self.transports = dict(transports)
        self._slots = asyncio.Semaphore(self.limits.concurrency)
        self._device_locks: dict[str, asyncio.Lock] = {}
        self._last_run: dict[str, tuple[float, int, dict[tuple[str, str], StepResult]]] = {}
        self.active = 0
        self.peak = 0  # most runs in progress at once (self-metric; tests check the limit holds)

    def check(self, device: Device, step: Step) -> None:
        """Raise :class:`DiagnosticRefused` unless ``step`` is read-only and allow-listed for ``device``."""
        if step.protocol == "ssh":
            if device.ssh is None:
                raise DiagnosticRefused(device.id, step.request, "device has no SSH access configured")
            self.allowlist.check_ssh(device.id, device.ssh.platform, step.request)
        elif step.protocol == "netconf":
            self.allowlist.check_netconf(device.id, step.request)
        elif step.protocol == "dns":
            qtype, _, name = step.request.partition(" ")
            self.allowlist.check_dns(device.id, qtype, name or "@")
        else:
            raise DiagnosticRefused(device.id, step.request, f"unknown protocol {step.protocol!r}")
        if step.protocol not in self.transports:
            raise DiagnosticRefused(device.id, step.request, f"no {step.protocol} transport configured")

    def plan(self, device: Device, diagnostics: Diagnostics) -> list[Step]:
        """The runbook's steps that apply to ``device`` (by its access blocks), at most ``max_steps``."""
        steps: list[Step] = []
        if device.ssh is not None:
            steps += [Step("ssh", c) for c in diagnostics.ssh.get(device.ssh.platform, ())]
        if device.netconf is not None:
            steps += [Step("netconf", n) for n in diagnostics.netconf]
        if device.dns is not None:
            steps += [Step("dns", f"{q.type} {q.name}") for q in diagnostics.dns]
        return [s for s in steps if s.protocol in self.transports][: self.limits.max_steps]

    async def run_command(self, device: Device, command: str) -> StepResult:
        """Run one CLI show command (checked) and return its result."""
        report = await self.run(device, [Step("ssh", command)], respect_cooldown=False)
        return report.results[0]

    async def run(self, device: Device, steps: list[Step], *, target: str = "device",
                  respect_cooldown: bool = True) -> DiagnosticReport:
        """Check every step, then run them (grouped per protocol, one session each)."""
        for step in steps:
            self.check(device, step)
        steps = steps[: self.limits.max_steps]
        report = DiagnosticReport(device.id, target, int(time.time()))
        lock = self._device_locks.setdefault(device.id, asyncio.Lock())
        async with lock:
            shared = self._recent(device.id) if respect_cooldown else {}
            missing = [s for s in steps if (s.protocol, s.request) not in shared]
            fresh: dict[tuple[str, str], StepResult] = {}
            if missing:
                async with self._slots:
                    ran = await self._run_now(device, missing, report.started)
                fresh = {(r.protocol, r.request): r for r in ran}
            if len(missing) < len(steps):  # same device, same checks a moment ago: share, don't re-probe
                report.reused_from = self._last_run[device.id][1]
            report.results = [fresh.get((s.protocol, s.request)) or shared[(s.protocol, s.request)]
                              for s in steps]
            report.finished = int(time.time())
            return report

    def _recent(self, device_id: str) -> dict[tuple[str, str], StepResult]:
        """Results of this device's checks still within the cool-down, by (protocol, request)."""
        entry = self._last_run.get(device_id)
        if entry is None or time.monotonic() - entry[0] >= self.limits.cooldown_s:
            return {}
        return dict(entry[2])

    async def _run_now(self, device: Device, steps: list[Step], started: int) -> list[StepResult]:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            results = await self._run_checked(device, steps)
        finally:
            self.active -= 1
        keyed = {(r.protocol, r.request): r for r in results}
        entry = self._last_run.get(device.id)
        if entry is not None and time.monotonic() - entry[0] < self.limits.cooldown_s:
            keyed = {**entry[2], **keyed}  # widen the shared set, keep the original run's time
            self._last_run[device.id] = (entry[0], entry[1], keyed)
        else:
            self._last_run[device.id] = (time.monotonic(), started, keyed)
        return results

    async def _run_checked(self, device: Device, steps: list[Step]) -> list[StepResult]:
        deadline = time.monotonic() + self.limits.timeout_s
        by_protocol: dict[str, list[str]] = {}
        for step in steps:
            by_protocol.setdefault(step.protocol, []).append(step.request)
        out: list[StepResult] = []
        for protocol, requests in by_protocol.items():
            left = deadline - time.monotonic()
            if left <= 0:
                out += [StepResult(protocol, r, False, error="not run: time budget used up",
                                   error_kind="timeout") for r in requests]
                continue
            per_call = min(self.limits.command_timeout_s, left)
            try:
                results = await asyncio.wait_for(
                    self.transports[protocol].run(device, requests, per_call), left)
            except TimeoutError:
                results = [StepResult(protocol, r, False, error=f"no result within {left:.0f}s",
                                      error_kind="timeout") for r in requests]
            except Exception as exc:  # a transport bug must not lose the other protocols' output
                log.exception("diagnostic transport %s failed on %s", protocol, device.id)
                results = [StepResult(protocol, r, False, error=f"internal error: {type(exc).__name__}",
                                      error_kind="internal") for r in requests]
            out += [r.clip(self.limits.max_output_chars) for r in results]
        return out

    def close(self) -> None:
        """Release the transports' worker pools."""
        for transport in self.transports.values():
            close = getattr(transport, "close", None)
            if close is not None:
                close()
