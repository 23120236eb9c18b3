"""Run a runbook's diagnostics when an incident opens and attach the output to its timeline.

An :class:`alerting.core.AlertingCore` subscriber. It never blocks the
evaluation: work goes to its own event loop on a background thread, is
capped (``max_pending``), and each report becomes one ``diagnostic`` event.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Coroutine
from typing import Any

from alerting.incidents import Incident, IncidentEvent
from alerting.manager import Change, ChangeKind
from alerting.repository import IncidentRepository
from common.errors import ConfigError, Problem
from inventory.inventory import Inventory
from inventory.model import Device
from poller.diagnostics.allowlist import AllowList, DiagnosticRefused, load_allowlist
from poller.diagnostics.runner import DiagnosticRunner
from poller.diagnostics.steps import DiagnosticReport, Step
from poller.diagnostics.transports import DnsTransport, NetconfTransport, SshTransport, Transport
from runbooks.catalog import Catalog, Diagnostics, load_catalog

log = logging.getLogger(__name__)


class DiagnosticsSubscriber:
    """On every opened incident: pick targets, run the runbook's checks, record the output."""

    def __init__(self, runner: DiagnosticRunner, catalog: Catalog, inventory: Inventory,
                 repo: IncidentRepository, *, max_parents: int = 2, max_pending: int = 50) -> None:
        problems = check_catalog(catalog, runner.allowlist)
        if problems:
            raise ConfigError(problems, what="runbook diagnostics")
        self.runner = runner
        self.catalog = catalog
        self.inventory = inventory
        self.repo = repo
        self.max_parents = max_parents
        self.max_pending = max_pending
        self._pending: set[concurrent.futures.Future[list[DiagnosticReport]]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._pending_lock = threading.Lock()

    def __call__(self, changes: list[Change]) -> None:
        """Core subscriber: diagnose each newly opened incident."""
        for change in changes:
            if change.kind is ChangeKind.OPENED:
                self.submit(change.incident)

    def submit(self, incident: Incident) -> concurrent.futures.Future[list[DiagnosticReport]] | None:
        """Queue diagnostics for ``incident``; None when there is nothing to run or too much queued."""
        if not self.targets(incident):
            return None
        with self._pending_lock:
            if len(self._pending) >= self.max_pending:
                log.warning("diagnostics queue full (%d); incident #%d not diagnosed", self.max_pending,
                            incident.id)
                return None
            future = self._start(self.diagnose(incident))
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: concurrent.futures.Future[list[DiagnosticReport]]) -> None:
        with self._pending_lock:
            self._pending.discard(future)

    def targets(self, incident: Incident) -> list[tuple[Device, str, list[Step]]]:
        """(device, "device"/"parent", steps) for each device the runbook says to check."""
        diag = self._diagnostics(incident)
        dev = self.inventory.devices.get(incident.device or "")
        if diag is None or diag.empty or dev is None:
            return []
        candidates: list[tuple[Device, str]] = []
        for target in diag.targets:
            if target == "device":
                candidates.append((dev, "device"))
            else:
                candidates += [(self.inventory.devices[p], "parent") for p in dev.parents[: self.max_parents]
                               if p in self.inventory.devices]
        out, seen = [], set()
        for device, role in candidates:
            steps = self.runner.plan(device, diag)
            if steps and device.id not in seen:
                seen.add(device.id)
                out.append((device, role, steps))
        return out

    async def diagnose(self, incident: Incident) -> list[DiagnosticReport]:
        """Run every target's steps and attach each report to the incident's timeline."""
        reports = []
        for device, role, steps in self.targets(incident):
            try:
                report = await self.runner.run(device, steps, target=role)
            except DiagnosticRefused as exc:  # checked at start-up, so only if the data changed under us
                log.error("%s", exc)
                now = int(time.time())
                report = DiagnosticReport(device.id, role, now, now, skipped=str(exc))
            await asyncio.to_thread(self._attach, incident.id, report)
            reports.append(report)
        return reports

    def wait_idle(self, timeout: float = 60) -> bool:
        """Wait until every queued diagnosis has finished; False on timeout (tests, shutdown)."""
        with self._pending_lock:
            pending = list(self._pending)
        if not pending:
            return True
        _, not_done = concurrent.futures.wait(pending, timeout=timeout)
        return not not_done

    def close(self) -> None:
        """Stop the background loop and the transports."""
        with self._guard:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
        self.runner.close()

    # -- internals -----------------------------------------------------------------------------

    def _diagnostics(self, incident: Incident) -> Diagnostics | None:
        book = self.catalog.runbooks.get(incident.kind.value)
        return book.meta.diagnostics if book is not None else None

    def _attach(self, incident_id: int, report: DiagnosticReport) -> None:
        event = IncidentEvent(report.finished or int(time.time()), "diagnostic", report.summary_vi(),
                              data=report.data())
        with self.repo.engine.begin() as conn:
            self.repo.add_event(conn, incident_id, event)

    def _start(self, coro: Coroutine[Any, Any, list[DiagnosticReport]]
               ) -> concurrent.futures.Future[list[DiagnosticReport]]:
        with self._guard:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="diagnostics",
                                                daemon=True)
                self._thread.start()
            return asyncio.run_coroutine_threadsafe(coro, self._loop)


def check_catalog(catalog: Catalog, allowlist: AllowList) -> list[Problem]:
    """Every diagnostic a runbook names must pass the allow-list; problems name the runbook's line."""
    problems: list[Problem] = []
    for book in catalog.runbooks.values():
        diag = book.meta.diagnostics
        asked: list[tuple[str, Any]] = []
        asked += [(f"diagnostics.ssh.{p}", (p, c)) for p, cmds in diag.ssh.items() for c in cmds]
        asked += [("diagnostics.netconf", ("netconf", n)) for n in diag.netconf]
        asked += [("diagnostics.dns", ("dns", q)) for q in diag.dns]
        for field, (what, item) in asked:
            try:
                if what == "netconf":
                    allowlist.check_netconf(book.kind, item)
                elif what == "dns":
                    allowlist.check_dns(book.kind, item.type, item.name)
                else:
                    allowlist.check_ssh(book.kind, what, item)
            except DiagnosticRefused as exc:
                problems.append(Problem(str(book.path), _line_of(book.path, exc.request), field, exc.request,
                                        exc.reason))
    return problems


def _line_of(path: Any, text: str) -> int | None:
    needle = text.split(" ")[-1] if " " in text and text.split(" ")[0].isupper() else text
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    return None


def build_diagnostics(inventory: Inventory, repo: IncidentRepository, *, allowlist: AllowList | None = None,
                      catalog: Catalog | None = None) -> DiagnosticsSubscriber:
    """The subscriber with the shipped allow-list and runbooks and every transport."""
    allow = allowlist or load_allowlist()
    creds: dict[str, Any] = dict(inventory.credentials)
    workers = allow.limits.concurrency
    peers: dict[str, list[Device]] = {}
    for dev in inventory.devices.values():
        if dev.dns is not None:
            peers.setdefault(dev.dns.zone.rstrip(".") + ".", []).append(dev)
    transports: dict[str, Transport] = {
        "ssh": SshTransport(creds, workers=workers),
        "netconf": NetconfTransport(creds, dict(allow.netconf), workers=workers),
        "dns": DnsTransport(peers),
    }
    runner = DiagnosticRunner(allow, transports)
    return DiagnosticsSubscriber(runner, catalog or load_catalog(), inventory, repo)
