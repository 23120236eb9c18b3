"""One snmpsim process per device: its data file, its live power state, freeze/kill/restart.

Each agent serves one ``.snmprec`` file (community :data:`~.world.COMMUNITY`) on
its own UDP port of 127.0.0.1, below the kernel's ephemeral range so a killed
agent's port cannot be taken by a poller socket before it restarts. Records go
through the generic ``trucban_state`` snmpsim variation module (``lab/variation``,
used only as a mechanism: a JSON state file → UPS-MIB values, a growing
sysUpTime); the data files and state files are written here.

Faults an agent can take:

- ``freeze``/``thaw``: SIGSTOP/SIGCONT — the agent is silent, then answers again
  at once (same boot, uptime keeps counting); the harness also freezes every
  agent cut off behind failed parents, since on loopback a child would
  otherwise keep answering through its "failed" parent;
- ``kill``/``restart``: SIGKILL, later a new process on the same port (a reboot:
  sysUpTime starts again); "up" is the first answer to our own probe;
- ``mains_lost``/``mains_back``: the power system's UPS-MIB flips to battery
  (upsOutputSource 5, seconds on battery counting, charge draining at
  ``drain_per_min`` %/min, minutes left = charge / drain) and back to mains.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.functional.truth.world import COMMUNITY, DeviceSpec

REPO = Path(__file__).resolve().parents[3]
VARIATION_DIR = REPO / "lab" / "variation"
RESPONDER = Path(__file__).with_name("responder.py")
MODULE = "trucban_state"
PORT_RANGE = (20000, 32000)  # below net.ipv4.ip_local_port_range (32768-60999 here)
RECHARGE_PER_MIN = 0.5  # what trucban_state does on mains
SYS_OBJECT_IDS = {  # deliberately not the lab's vendors; power uses a generic UPS agent id
    "router": "1.3.6.1.4.1.2636.1.1.1.2.29",  # Juniper MX
    "switch": "1.3.6.1.4.1.25506.1.1",  # H3C
    "dns": "1.3.6.1.4.1.8072.3.2.10",  # net-snmp Linux
    "bts": "1.3.6.1.4.1.2011.2.350",  # Huawei BTS
    "power": "1.3.6.1.4.1.534.1",  # Eaton/Powerware UPS (no vendor profile: role picks UPS-MIB)
}
UPS = "1.3.6.1.2.1.33.1"


def python() -> str:
    """The project's venv interpreter when present, else this one."""
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def records(device: DeviceSpec, rng: random.Random) -> list[tuple[str, str, str]]:
    """(OID, snmpsim tag, trucban_state value) of one device, sorted by OID."""
    def text(value: str) -> str:
        return "str:" + value.encode("ascii", "replace").decode("ascii")

    out = [
        ("1.3.6.1.2.1.1.1.0", "4", text(f"truth {device.role} {device.id}")),
        ("1.3.6.1.2.1.1.2.0", "6", "oid:" + SYS_OBJECT_IDS[device.role]),
        ("1.3.6.1.2.1.1.3.0", "67", f"uptime:{rng.randrange(86400, 90 * 86400)}"),
        ("1.3.6.1.2.1.1.4.0", "4", text("noc@truth.test")),
        ("1.3.6.1.2.1.1.5.0", "4", text(device.id)),
        ("1.3.6.1.2.1.1.6.0", "4", text(device.site)),
        ("1.3.6.1.2.1.1.7.0", "2", "int:6"),
        ("1.3.6.1.2.1.2.1.0", "2", "int:2"),
    ]
    for index in (1, 2):
        rate = rng.uniform(1e5, 5e6)
        e, x = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
        out += [
            (f"{e}.1.{index}", "2", f"int:{index}"),
            (f"{e}.2.{index}", "4", text(f"ge-0/0/{index}")),
            (f"{e}.3.{index}", "2", "int:6"),
            (f"{e}.5.{index}", "66", "int:1000000000"),
            (f"{e}.7.{index}", "2", "int:1"),
            (f"{e}.8.{index}", "2", f"oper:{index}"),
            (f"{e}.10.{index}", "65", f"ctr:{index}:{rng.randrange(10**6)}:{rate:.6g}:32"),
            (f"{e}.13.{index}", "65", "int:0"),
            (f"{e}.14.{index}", "65", "int:0"),
            (f"{e}.16.{index}", "65", f"ctr:{index}:{rng.randrange(10**6)}:{rate / 3:.6g}:32"),
            (f"{e}.19.{index}", "65", "int:0"),
            (f"{e}.20.{index}", "65", "int:0"),
            (f"{x}.1.{index}", "4", text(f"ge-0/0/{index}")),
            (f"{x}.6.{index}", "70", f"ctr:{index}:{rng.randrange(10**9)}:{rate:.6g}:64"),
            (f"{x}.10.{index}", "70", f"ctr:{index}:{rng.randrange(10**9)}:{rate / 3:.6g}:64"),
            (f"{x}.15.{index}", "66", "int:1000"),
            (f"{x}.18.{index}", "4", text("uplink" if index == 1 else "")),
        ]
    if device.role == "power":
        out += [
            (f"{UPS}.1.1.0", "4", text("Eaton")),
            (f"{UPS}.1.2.0", "4", text("93PM-48V")),
            (f"{UPS}.2.1.0", "2", "ups:status"),
            (f"{UPS}.2.2.0", "2", "ups:seconds_on_battery"),
            (f"{UPS}.2.3.0", "2", "ups:minutes"),
            (f"{UPS}.2.4.0", "2", "ups:charge"),
            (f"{UPS}.2.5.0", "2", "ups:voltage"),
            (f"{UPS}.2.7.0", "2", "ups:temperature:27"),
            (f"{UPS}.3.1.0", "65", "ups:line_bads:0"),
            (f"{UPS}.3.2.0", "2", "int:1"),
            (f"{UPS}.3.3.1.1.1", "2", "int:1"),
            (f"{UPS}.3.3.1.2.1", "2", "ups:in_frequency"),
            (f"{UPS}.3.3.1.3.1", "2", "ups:in_voltage:220"),
            (f"{UPS}.4.1.0", "2", "ups:output_source"),
        ]
    return sorted(out, key=lambda r: tuple(int(p) for p in r[0].split(".")))


def free_agent_ports(n: int, rng: random.Random | None = None) -> list[int]:
    """``n`` distinct free UDP ports on 127.0.0.1 in :data:`PORT_RANGE`."""
    rng = rng or random.Random()
    out: list[int] = []
    tried: set[int] = set()
    while len(out) < n:
        port = rng.randrange(*PORT_RANGE)
        if port in tried:
            continue
        tried.add(port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        out.append(port)
    return out


# ------------------------------------------------------------------ a tiny SNMPv2c GET (probe only)


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def snmp_answers(port: int, timeout: float = 0.5, community: str = COMMUNITY) -> bool:
    """True when 127.0.0.1:``port`` answers an SNMPv2c GET of sysUpTime.0 within ``timeout``."""
    request_id = random.randrange(1, 2**31 - 1)
    varbind = _tlv(0x30, _tlv(0x30, _oid("1.3.6.1.2.1.1.3.0") + b"\x05\x00"))
    pdu = _tlv(0xA0, _int(request_id) + _int(0) + _int(0) + varbind)
    message = _tlv(0x30, _int(1) + _tlv(0x04, community.encode()) + pdu)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(message, ("127.0.0.1", port))
            data, _ = sock.recvfrom(65535)
        except OSError:
            return False
    return data[:1] == b"\x30" and _int(request_id) in data


# ------------------------------------------------------------------ the agent process


@dataclass
class Agent:
    """The snmpsim process of one device."""

    device: DeviceSpec
    root: Path
    charge: float = 100.0  # battery % at ``since`` (power systems)
    since: float = field(default_factory=time.time)
    mains: bool = True
    drain_per_min: float = 0.0
    proc: subprocess.Popen[bytes] | None = None
    frozen: bool = False

    @property
    def port(self) -> int:
        """The agent's UDP port."""
        return self.device.port

    def write_data(self, rng: random.Random) -> None:
        """The data file and the initial (healthy, on mains) state file."""
        for sub in ("data", "state", "cache"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        lines = [f"{oid}|{tag}:{MODULE}|{value}\n" for oid, tag, value in records(self.device, rng)]
        (self.root / "data" / f"{COMMUNITY}.snmprec").write_text("".join(lines), encoding="utf-8")
        self._write_state({"mains": True, "battery_charge": self.charge, "since": self.since})

    def command(self) -> list[str]:
        """The responder's command line."""
        return [
            python(), str(RESPONDER),
            f"--data-dir={self.root / 'data'}",
            f"--agent-udpv4-endpoint=127.0.0.1:{self.port}",
            f"--cache-dir={self.root / 'cache'}",
            f"--variation-modules-dir={VARIATION_DIR}",
            f"--variation-module-options={MODULE}:state_dir={self.root / 'state'}",
            "--logging-method=stderr", "--log-level=error",
        ]

    def spawn(self) -> None:
        """Start the process (does not wait)."""
        env = dict(os.environ, SNMPSIM_ALLOW_ROOT="true", PYTHONDONTWRITEBYTECODE="1")
        with open(self.root / "agent.log", "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True, cwd=self.root)
        self.frozen = False

    def wait_ready(self, timeout: float = 30.0) -> float:
        """Block until the agent answers a GET; return the instant it did."""
        deadline = time.monotonic() + timeout
        while True:
            if snmp_answers(self.port, 0.3):
                return time.time()
            if self.proc is None or self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.root / "agent.log").read_text(errors="replace")[-1500:]
                raise RuntimeError(f"agent {self.device.id} on udp/{self.port} did not answer:\n{log}")

    @property
    def alive(self) -> bool:
        """True while the process exists (frozen or not)."""
        return self.proc is not None and self.proc.poll() is None

    def freeze(self) -> float:
        """SIGSTOP (idempotent; a dead agent is silent already): silent from now; returns the instant."""
        if self.alive and not self.frozen:
            assert self.proc is not None
            os.kill(self.proc.pid, signal.SIGSTOP)
            self.frozen = True
        return time.time()

    def thaw(self) -> float:
        """SIGCONT (idempotent): answering again from now; returns the instant."""
        if self.alive and self.frozen:
            assert self.proc is not None
            os.kill(self.proc.pid, signal.SIGCONT)
        self.frozen = False
        return time.time()

    def kill(self) -> float:
        """SIGKILL and reap; returns the instant it was sent."""
        assert self.proc is not None
        self.proc.kill()
        at = time.time()
        self.proc.wait(timeout=10)
        self.frozen = False
        return at

    def restart(self) -> float:
        """A new process on the same port; returns the spawn instant (readiness: :meth:`wait_ready`)."""
        at = time.time()
        self.spawn()
        return at

    def charge_at(self, now: float) -> float:
        """Battery charge % at ``now`` by the same formula as the variation module."""
        minutes = max(0.0, now - self.since) / 60.0
        if self.mains:
            return min(100.0, self.charge + RECHARGE_PER_MIN * minutes)
        return max(0.0, self.charge - self.drain_per_min * minutes)

    def mains_lost(self, drain_per_min: float) -> float:
        """The site loses mains: UPS on battery, draining; returns the instant."""
        now = time.time()
        self.charge, self.since = self.charge_at(now), now
        self.mains, self.drain_per_min = False, drain_per_min
        self._write_state({"mains": False, "battery_charge": round(self.charge, 3),
                           "drain_per_min": drain_per_min, "since": now})
        return now

    def mains_back(self) -> float:
        """Mains returns: UPS back on mains, recharging; returns the instant."""
        now = time.time()
        self.charge, self.since, self.mains = self.charge_at(now), now, True
        self._write_state({"mains": True, "battery_charge": round(self.charge, 3), "since": now})
        return now

    def stop(self) -> None:
        """End the process for good (thawed first so SIGTERM is handled)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        if self.frozen:
            os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def _write_state(self, state: dict[str, object]) -> None:
        path = self.root / "state" / f"{COMMUNITY}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, path)
