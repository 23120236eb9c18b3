"""``trucban run`` as a newcomer runs it: every collector polls, stops cleanly, starts again after a kill.

Starts the real command (a two-commune demo lab with its SNMP agents and its
embedded DNS, NETCONF and SSH CLI devices) as a child process with short poll
intervals, reads the per-plan poller gauges from ``/metrics``, stages an
outage through the CLI, and stops it with SIGTERM, SIGINT and SIGKILL.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lab.ports import tcp_port_free, udp_port_free

pytestmark = pytest.mark.functional
ROOT = Path(__file__).resolve().parents[2]
SERVICES = 6  # lab/generator.py with two communes: 2 DNS, 2 NETCONF, 2 SSH-only switches
GAUGE = re.compile(r'^trucban_poller_(devices|ok)\{plan="([^"]+)"\} ([0-9.]+)$')


def _trucban() -> list[str]:
    exe = Path(sys.executable).parent / "trucban"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "trucban.cli"]


def _free_block(size: int) -> int:
    """A port P with P … P+size-1 free on UDP and TCP (the lab's SNMP port and its services)."""
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = int(sock.getsockname()[1])
        ports = range(base, base + size)
        if base + size < 65000 and all(udp_port_free("127.0.0.1", p) and tcp_port_free("127.0.0.1", p)
                                       for p in ports):
            return base
    raise RuntimeError("no free block of ports")


class Demo:
    """``trucban run`` (lab demo) in a child process, its output in files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lab_port = _free_block(SERVICES + 1)
        self.http_port = _free_block(1)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TRUCBAN_")} | {
            "TRUCBAN_DATA_DIR": str(root / "data"), "TRUCBAN_LAB_PORT": str(self.lab_port),
            "TRUCBAN_LAB_LIMIT": "2", "TRUCBAN_TRAP_PORT": "0", "TRUCBAN_POLL_INTERVAL_S": "4",
            "TRUCBAN_HEALTH_INTERVAL_S": "4", "TRUCBAN_INVENTORY_INTERVAL_S": "6", "COLUMNS": "200"}
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 90) -> None:
        """Start and wait for /healthz."""
        self.runs += 1
        self.out = self.root / f"stdout-{self.runs}.txt"
        self.err = self.root / f"stderr-{self.runs}.txt"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen([*_trucban(), "run", "--port", str(self.http_port)], cwd=ROOT,
                                         env=self.env, stdout=out, stderr=err, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"trucban run exited {self.proc.returncode}:\n{self.stderr()}"
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"not serving after {timeout} s:\n{self.stderr()}"
            time.sleep(0.3)

    def stop(self, sig: int, timeout: float = 30) -> int:
        """Send ``sig``; the exit code."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def plans(self) -> dict[str, dict[str, float]]:
        """Per poll plan: devices polled and devices ok in its last cycle (from /metrics)."""
        out: dict[str, dict[str, float]] = {}
        for line in httpx.get(self.url + "/metrics", timeout=5).text.splitlines():
            if m := GAUGE.match(line):
                out.setdefault(m.group(2), {})[m.group(1)] = float(m.group(3))
        return out

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*_trucban(), *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=60)

    def ports_free(self) -> bool:
        """Nothing of the demo listens any more: web, SNMP agents, DNS/NETCONF/SSH devices."""
        lab = range(self.lab_port, self.lab_port + SERVICES + 1)
        return (tcp_port_free("127.0.0.1", self.http_port) and udp_port_free("127.0.0.1", self.lab_port)
                and all(tcp_port_free("127.0.0.1", p) for p in lab[1:])
                and all(udp_port_free("127.0.0.1", p) for p in lab[1:3]))

    def leftovers(self) -> list[str]:
        """Processes still running with this demo's data dir on their command line."""
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(self.root) in cmd:
                found.append(f"{pid}: {cmd}")
        return found


def wait_until(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


@pytest.fixture()
def demo(tmp_path: Path) -> Iterator[Demo]:
    d = Demo(tmp_path)
    yield d
    if d.proc is not None and d.proc.poll() is None:
        d.proc.kill()
        d.proc.wait(timeout=10)


def _every_collector_ok(demo: Demo) -> dict[str, dict[str, float]] | None:
    plans = demo.plans()
    wanted = ("netconf", "dns", "ssh", "snmp-reachability")
    if all(plans.get(p, {}).get("devices", 0) > 0 and plans[p]["ok"] == plans[p]["devices"] for p in wanted):
        return plans
    return None


def test_demo_polls_every_collector_and_sigterm_stops_everything(demo: Demo) -> None:
    demo.start()
    plans = wait_until(lambda: _every_collector_ok(demo), 60, "netconf, dns and ssh cycles with ok devices")
    assert plans["netconf"]["devices"] == 2 and plans["dns"]["devices"] == 2 and plans["ssh"]["devices"] == 2

    cut = demo.cli("lab", "outage", "p31-pe1", "--json")  # lab outage works on the new devices too
    assert cut.returncode == 0 and json.loads(cut.stdout) == {"action": "cut", "devices": ["p31-pe1"]}
    wait_until(lambda: demo.plans()["netconf"]["ok"] == 1, 30, "the NETCONF router's outage to show")
    status = json.loads(demo.cli("lab", "status", "--json").stdout)
    listening = {s["device"]: s["listening"] for s in status["services"]}
    assert listening["p31-pe1"] is False and listening["p31-pe2"] is True and status["snmp"]["listening"]
    assert demo.cli("lab", "outage", "p31-pe1", "--restore").returncode == 0
    wait_until(lambda: demo.plans()["netconf"]["ok"] == 2, 30, "the NETCONF router to come back")

    assert demo.stop(signal.SIGTERM) == 0
    err = demo.stderr()
    assert "Traceback" not in err and "CancelledError" not in err, err
    assert "Trực ban đã dừng (SIGTERM)" in err
    assert demo.out.read_text() == ""  # run writes nothing on stdout: logs and progress are on stderr
    assert demo.ports_free() and demo.leftovers() == []


def test_after_kill_9_a_second_start_finds_its_ports_free(demo: Demo) -> None:
    demo.start()
    assert demo.proc is not None
    demo.proc.kill()  # SIGKILL: no clean-up code runs in trucban itself
    demo.proc.wait(timeout=10)
    wait_until(lambda: demo.ports_free() and not demo.leftovers(), 15, "the lab's processes to die with it")
    demo.start()  # same ports
    assert demo.stop(signal.SIGINT) == 0  # Ctrl-C: a clean stop too
    err = demo.stderr()
    assert "Traceback" not in err and "Trực ban đã dừng (SIGINT)" in err, err
    assert demo.ports_free() and demo.leftovers() == []


def test_a_busy_web_port_names_the_process_holding_it(demo: Demo) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", demo.http_port))
        squatter.listen()
        done = subprocess.run([*_trucban(), "run", "--port", str(demo.http_port)], cwd=ROOT, env=demo.env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"held by process {os.getpid()} (" in done.stderr and str(demo.http_port) in done.stderr
    assert demo.leftovers() == []
