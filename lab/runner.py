"""Run the simulated SNMP lab and stage per-device state.

Why: tests and demos need hundreds of SNMP agents on one UDP port of
127.0.0.1 and a way to stage outages while they run. ``LabAgents`` starts one
snmpsim process (through ``lab/snmpsim_main.py``) serving every
``<community>.snmprec`` in a data directory; ``stage``/``clear``/``read_state``
change a device by writing ``<state_dir>/<community>.json``, which the
``trucban_state`` variation module re-reads when it changes. Staging needs no
IPC, so a CLI in another process can do it. Start-up waits for a real SNMP GET
through the collectors' own engine (:mod:`lab.probe`); the lab's other devices
(DNS, NETCONF, SSH CLI) run in :mod:`lab.services` and follow the same state.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

from common.errors import LabError
from lab.ports import busy, free_udp_port, udp_port_free
from lab.probe import run_blocking, snmp_get
from lab.processes import stop_process, tied_env

LAB_DIR = Path(__file__).resolve().parent
VARIATION_DIR = LAB_DIR / "variation"
WRAPPER = LAB_DIR / "snmpsim_main.py"
SYS_NAME_OID = "1.3.6.1.2.1.1.5.0"

Progress = Callable[[int, int], None]  # (done, total)


def _load_state_module() -> ModuleType:
    """Import the variation module by path (it is not a package member)."""
    spec = importlib.util.spec_from_file_location(
        "trucban_lab_state", VARIATION_DIR / "trucban_state.py"
    )
    if spec is None or spec.loader is None:  # pragma: no cover - file ships with lab
        raise LabError(f"cannot load {VARIATION_DIR / 'trucban_state.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


state_model = _load_state_module()


# ---------------------------------------------------------------- the process


class LabAgents:
    """One snmpsim process serving every device in ``data_dir`` on one UDP port.

    Use as a context manager, or call ``start()``/``stop()``. The cache dir
    keeps snmpsim's indexes so later starts over the same data are fast.
    """

    def __init__(
        self,
        data_dir: Path,
        state_dir: Path,
        cache_dir: Path,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        log_path: Path | None = None,
        log_level: str = "error",
        extra_hosts: tuple[str, ...] = (),
        netns: str | None = None,
        tied: bool = False,
    ) -> None:
        """Remember where data, state, indexes and the log live; nothing starts yet.

        ``host`` and ``extra_hosts`` may be IPv4 or IPv6 addresses (the agents listen on
        each, same port); ``netns`` runs snmpsim inside that network namespace
        (``ip netns exec``), where port 0 means 161. ``tied``: snmpsim dies with this
        process even if it is killed with SIGKILL (call ``start`` from a thread that
        lives as long as the lab: Linux ties the child to the thread that started it).
        """
        self.data_dir = Path(data_dir)
        self.state_dir = Path(state_dir)
        self.cache_dir = Path(cache_dir)
        self.host = host
        self.extra_hosts = tuple(extra_hosts)
        self.netns = netns
        self.log_path = Path(log_path) if log_path else self.state_dir.parent / "snmpsim.log"
        self.log_level = log_level
        self.tied = tied
        self._port = port
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        """UDP port the agents listen on (chosen at ``start()`` when 0 was given)."""
        return self._port

    @property
    def running(self) -> bool:
        """True while the snmpsim process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        """Command line that starts snmpsim through the patching wrapper."""
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        endpoints = [_endpoint_option(h, self._port) for h in (self.host, *self.extra_hosts)]
        return [
            *prefix,
            sys.executable,
            str(WRAPPER),
            f"--data-dir={self.data_dir}",
            *endpoints,
            f"--cache-dir={self.cache_dir}",
            f"--variation-modules-dir={VARIATION_DIR}",
            f"--variation-module-options=trucban_state:state_dir={self.state_dir}",
            "--logging-method=stderr",
            f"--log-level={self.log_level}",
        ]

    def start(self, timeout: float = 120, progress: Progress | None = None) -> None:
        """Launch snmpsim and wait until an agent answers a real SNMP GET.

        Raises ``LabError`` (with the log tail) if snmpsim exits or does not
        answer within ``timeout`` seconds (a cold index build takes ~30 s per
        1000 agents). ``progress(done, total)`` hears how many agents' indexes exist.
        """
        if self.running:
            return
        probe = self._probe_community()
        _check_snmpsim_installed()
        for path in (self.state_dir, self.cache_dir, self.log_path.parent):
            path.mkdir(parents=True, exist_ok=True)
        if not self._port:
            self._port = 161 if self.netns else free_udp_port(self.host)
        elif not self.netns and not udp_port_free(self.host, self._port):
            # pysnmp binds with SO_REUSEADDR, so a second lab would start "fine"
            # and silently share the port with the first one.
            raise LabError(f"{busy('udp', self.host, self._port)}; stop it or choose another lab_port")
        self._spawn()
        atexit.register(self.stop)  # never leave an orphan snmpsim behind
        try:
            self._wait_ready(probe, timeout, progress)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate snmpsim (kill it if it does not exit within 5 s)."""
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        stop_process(proc)

    def log_tail(self, lines: int = 30) -> str:
        """Last lines of the snmpsim log, for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> LabAgents:
        """Start the lab for a ``with`` block."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the lab when the ``with`` block ends."""
        self.stop()

    # -- internals

    def _probe_community(self) -> str:
        files = sorted(self.data_dir.glob("*.snmprec"))
        if not files:
            raise LabError(f"no *.snmprec data files in {self.data_dir}; write some first")
        return files[0].name[: -len(".snmprec")]

    def _spawn(self) -> None:
        env = dict(tied_env() if self.tied else os.environ, SNMPSIM_ALLOW_ROOT="true", PYTHONUNBUFFERED="1")
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def _wait_ready(self, community: str, timeout: float, progress: Progress | None) -> None:
        deadline = time.monotonic() + timeout
        total = len(list(self.data_dir.glob("*.snmprec")))
        while True:
            if progress is not None:  # snmpsim indexes every data file, then answers: done at the answer
                progress(min(total - 1, len(list(self.cache_dir.glob("*.dbm.dir")))), total)
            if not self.running:
                raise LabError(
                    f"snmpsim exited during start-up; log {self.log_path}:\n{self.log_tail()}"
                )
            if run_blocking(snmp_get(self.host, self._port, community, SYS_NAME_OID, 1.0, 0)) is not None:
                if progress is not None:
                    progress(total, total)
                return
            if time.monotonic() > deadline:
                raise LabError(
                    f"snmpsim did not answer on {self.host}:{self._port} within "
                    f"{timeout:.0f} s; log {self.log_path}:\n{self.log_tail()}"
                )


def _check_snmpsim_installed() -> None:
    """Fail early, with the fix, when snmpsim is missing from this interpreter."""
    responder = Path(sys.executable).parent / "snmpsim-command-responder"
    if importlib.util.find_spec("snmpsim") is None or not responder.exists():
        raise LabError(
            f"snmpsim is not installed for {sys.executable}; install the 'lab' extra "
            "(pip install -e '.[lab]')"
        )


def _endpoint_option(host: str, port: int) -> str:
    """snmpsim's listen option for one address: ``--agent-udpv6-endpoint=[::1]:161`` for IPv6."""
    if ":" in host:
        return f"--agent-udpv6-endpoint=[{host}]:{port}"
    return f"--agent-udpv4-endpoint={host}:{port}"


# ---------------------------------------------------------------- staging


def state_path(state_dir: Path, community: str) -> Path:
    """Path of one device's state file."""
    if not community or "/" in community or community.startswith("."):
        raise LabError(f"bad device id {community!r} for a state file")
    return Path(state_dir) / f"{community}.json"


def read_state(state_dir: Path, community: str) -> dict[str, Any]:
    """Current staged state of one device ({} = healthy)."""
    try:
        data = json.loads(state_path(state_dir, community).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise LabError(f"unreadable lab state for {community}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def stage(state_dir: Path, community: str, **changes: Any) -> dict[str, Any]:
    """Merge ``changes`` into a device's state atomically and return the new state.

    Keys: silent, if_down, mains, battery_charge, drain_per_min, since,
    rebooted_at, wrap_at, zone_serial and transfer (DNS, :mod:`lab.dns_server`);
    a value of None removes the key. ``since`` becomes now
    (unless given) and the battery charge is carried over from its current
    value, so a running discharge stays continuous across later stagings.
    Losing mains also bumps upsInputLineBads.
    """
    unknown = set(changes) - state_model.STATE_KEYS
    if unknown:
        known = ", ".join(sorted(state_model.STATE_KEYS))
        raise LabError(f"unknown lab state key(s) {sorted(unknown)}; known: {known}")
    with _locked(Path(state_dir)):
        old = read_state(state_dir, community)
        new = _merge(old, changes, time.time())
        _write_json(state_path(state_dir, community), new)
    return new


def _merge(old: dict[str, Any], changes: dict[str, Any], now: float) -> dict[str, Any]:
    """New state = old + changes; ``since`` becomes now, the battery charge carries over."""
    new = dict(old)
    if "battery_charge" not in changes and ("mains" in old or "battery_charge" in old):
        new["battery_charge"] = round(state_model.battery_charge(old, now), 3)
    if "mains" in changes and state_model.on_mains(old) and not changes["mains"]:
        new["input_line_bads"] = int(old.get("input_line_bads", 0)) + 1
    for key, value in changes.items():
        if value is None:
            new.pop(key, None)
        else:
            new[key] = sorted(int(i) for i in value) if key == "if_down" else value
    if "since" not in changes:
        new["since"] = now
    return new


def clear(state_dir: Path, community: str | None = None) -> None:
    """Reset one device (or every device when ``community`` is None) to healthy."""
    state_dir = Path(state_dir)
    with _locked(state_dir):
        paths = (
            [state_path(state_dir, community)]
            if community is not None
            else list(state_dir.glob("*.json"))
        )
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically: temp file in the same dir, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Serialise read-modify-write of state files across processes."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
