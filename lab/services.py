"""The demo lab's NETCONF routers, DNS servers and SSH-only switches, in one child process.

Why: beside its SNMP agents (snmpsim, :mod:`lab.runner`) the demo needs
devices for the other collectors, with nothing to install from Debian. They
are embedded Python servers from the ``lab`` extra, all on 127.0.0.1:

* DNS: a primary and a secondary of the lab zone (:mod:`lab.dns_server`, dnspython);
* NETCONF: routers on the ``netconf`` package's SSH server (:mod:`lab.netconf_server`);
* SSH CLI: legacy Cisco IOS switches emulated by ``fakenos`` (:mod:`lab.cli_devices`).

The generator writes what to serve to ``services.json`` (:class:`ServicesSpec`);
:class:`LabServices` starts ``python -m lab.services services.json`` and waits
until every server listens. The child follows the staged lab state like the
SNMP agents do: a ``silent`` device stops answering (``lab outage`` works on
these devices too) and comes back when restored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from common.errors import LabError
from lab.ports import busy, tcp_port_free, udp_port_free
from lab.processes import die_with_parent, stop_process, tied_env
from lab.runner import read_state, state_model

HOST = "127.0.0.1"
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class ServerSpec:
    """One embedded server: its kind (dns, netconf, ssh), device id and loopback port."""

    kind: str
    device: str
    port: int
    zone: str | None = None  # dns: the zone served
    primary_port: int | None = None  # dns: set on a secondary, the primary it copies from
    interfaces: tuple[str, ...] = ()  # netconf: interface names, ifIndex 1…


@dataclass(frozen=True)
class ServicesSpec:
    """Everything the child process serves, and the login the NETCONF/SSH devices accept."""

    state_dir: str
    key_dir: str
    username: str
    password: str
    servers: tuple[ServerSpec, ...] = field(default_factory=tuple)

    def write(self, path: Path) -> None:
        """Save as JSON (0600: it holds the lab login)."""
        path.touch(mode=0o600, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> ServicesSpec:
        """Load what :meth:`write` saved."""
        doc = json.loads(path.read_text(encoding="utf-8"))
        servers = tuple(ServerSpec(**{**s, "interfaces": tuple(s.get("interfaces", ()))})
                        for s in doc.pop("servers"))
        return cls(**doc, servers=servers)


def wants_udp(server: ServerSpec) -> bool:
    """DNS listens on UDP too (same port)."""
    return server.kind == "dns"


class LabServices:
    """The child process serving a :class:`ServicesSpec`; ``start()``/``stop()`` or a ``with`` block."""

    def __init__(self, spec_path: Path, log_path: Path | None = None, *, tied: bool = False) -> None:
        """``tied``: the child dies with this process even after SIGKILL (see :mod:`lab.processes`)."""
        self.spec_path = Path(spec_path)
        self.spec = ServicesSpec.read(self.spec_path)
        self.log_path = Path(log_path) if log_path else self.spec_path.parent / "services.log"
        self.tied = tied
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 60, progress: Progress | None = None) -> None:
        """Check every port is free, start the child, wait until each server listens.

        A port in use is a ``LabError`` naming the process that holds it; so is a
        child that exits or does not listen within ``timeout`` (with its log tail).
        """
        if self.running:
            return
        _check_installed({s.kind for s in self.spec.servers})
        for s in self.spec.servers:
            if not tcp_port_free(HOST, s.port):
                raise LabError(f"{busy('tcp', HOST, s.port)}; stop it or choose another lab_port")
            if wants_udp(s) and not udp_port_free(HOST, s.port):
                raise LabError(f"{busy('udp', HOST, s.port)}; stop it or choose another lab_port")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "lab.services", str(self.spec_path)], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env=tied_env() if self.tied else None)
        try:
            self._wait_ready(timeout, progress)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL)."""
        proc, self._proc = self._proc, None
        stop_process(proc)

    def __enter__(self) -> LabServices:
        """Start for a ``with`` block."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop when the ``with`` block ends."""
        self.stop()

    def _wait_ready(self, timeout: float, progress: Progress | None) -> None:
        state_dir = Path(self.spec.state_dir)
        pending = list(self.spec.servers)
        total, deadline = len(pending), time.monotonic() + timeout
        while True:
            # the ports were free before the child started: bound now means the child listens
            # (no test connection: an SSH server would log a client that never said hello)
            pending = [s for s in pending
                       if tcp_port_free(HOST, s.port) and not read_state(state_dir, s.device).get("silent")]
            if progress is not None:
                progress(total - len(pending), total)
            if not pending:
                return
            if not self.running:
                raise LabError(f"lab services exited during start-up; log {self.log_path}:\n{self._tail()}")
            if time.monotonic() > deadline:
                names = ", ".join(f"{s.device} ({s.kind}, tcp/{s.port})" for s in pending)
                raise LabError(f"lab services not listening within {timeout:.0f} s: {names}; "
                               f"log {self.log_path}:\n{self._tail()}")
            time.sleep(0.1)

    def _tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _check_installed(kinds: set[str]) -> None:
    """Fail early, with the fix, when a server's library is missing from this interpreter."""
    import importlib.util

    needed = {"netconf": ("netconf", "sshutil"), "ssh": ("fakenos",), "dns": ("dns",)}
    missing = sorted({m for k in kinds for m in needed.get(k, ()) if importlib.util.find_spec(m) is None})
    if missing:
        raise LabError(f"{', '.join(missing)} not installed for {sys.executable}; install the 'lab' extra "
                       "(pip install -e '.[lab]', or bin/bootstrap lab)")


# ---------------------------------------------------------------- the child process


async def serve(spec: ServicesSpec, state_of: Callable[[str], dict[str, Any]], stop: asyncio.Event,
                follow_s: float = 0.5) -> None:
    """Run every server of ``spec`` until ``stop`` is set, following each device's staged silence."""
    from lab.cli_devices import LegacySwitches
    from lab.dns_server import ZoneServer
    from lab.netconf_server import NetconfRouter, loopback_only

    zones = [ZoneServer(s.device, s.port, s.zone or "lab.invalid", state_of, primary_port=s.primary_port)
             for s in sorted(spec.servers, key=lambda s: s.primary_port is not None) if s.kind == "dns"]
    loopback_only()
    routers = [NetconfRouter(s.device, s.port, list(s.interfaces), spec.username, spec.password,
                             Path(spec.key_dir) / f"{s.device}.key", state_of, state_model)
               for s in spec.servers if s.kind == "netconf"]
    cli_ports = {s.device: s.port for s in spec.servers if s.kind == "ssh"}
    switches = LegacySwitches(cli_ports, spec.username, spec.password) if cli_ports else None

    def follow() -> None:  # a silent device is stopped, a restored one started again
        for router in routers:
            silent = bool(state_of(router.device).get("silent"))
            if silent == router.running:
                (router.stop if silent else router.start)()
        for device in cli_ports:
            assert switches is not None
            silent = bool(state_of(device).get("silent"))
            if silent == switches.running(device):
                (switches.stop if silent else switches.start)(device)

    for zone in zones:
        await zone.start()
    try:
        while not stop.is_set():
            await asyncio.to_thread(follow)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), follow_s)
    finally:
        for zone in zones:
            await zone.stop()
        for router in routers:
            await asyncio.to_thread(router.stop)
        if switches is not None:
            await asyncio.to_thread(switches.stop)


async def _main(spec: ServicesSpec) -> None:
    state_model.init(options=f"state_dir={spec.state_dir}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(spec, state_model.device_state, stop)


def main(argv: list[str] | None = None) -> int:
    """``python -m lab.services SPEC.json``: serve until SIGTERM/SIGINT."""
    die_with_parent()
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m lab.services SPEC.json", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("paramiko", "fakenos"):  # every login, every client hanging up: noise in a lab
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    spec = ServicesSpec.read(Path(args[0]))
    print(f"trucban lab services: {len(spec.servers)} servers on {HOST}", flush=True)
    asyncio.run(_main(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
