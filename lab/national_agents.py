"""The national lab: ~26,600 SNMP agents on one loopback UDP port, answered by a small asyncio responder.

Why: snmpsim indexes ~30 s per 1000 agents and spends milliseconds of CPU per
answer, so a lab for the whole country (all 34 provinces, 3,321 communes, the
topology of :mod:`lab.national`) would take a quarter of an hour to start and
would be the bottleneck of any benchmark. This responder keeps the snmpsim
lab's model and its staging unchanged and only replaces the machinery:

- every device is the agent named by its community (= device id), as in the
  Hải Phòng lab; its MIB is built from the same record generators
  (:mod:`lab.snmpdata`), the OIDs and their BER encoding once per role, the
  per-device values (seeded by device id) on its first request;
- constant values are encoded once per device; live ones (uptime, counters,
  link state, UPS) go through the same formulas as snmpsim's variation module
  (``trucban_state.compute``), so a device on battery drains exactly as in the
  Hải Phòng lab;
- state comes from the same ``<state_dir>/<device>.json`` files that
  :func:`lab.runner.stage` writes (``trucban lab outage`` and
  :mod:`lab.outages` work unchanged): the state directory is rescanned twice a
  second, so a staged change is live within ~0.5 s; a ``silent`` device drops
  every request (the manager sees a timeout).

GET, GETNEXT and GETBULK of SNMP v1/v2c are answered (a v1 GETBULK is dropped,
as real agents do); a request for an unknown community is dropped.
Run it as ``python -m lab.national_agents --port P --state-dir D`` or through
:class:`NationalAgents`; :func:`national_lab_inventory` is the matching inventory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import subprocess
import sys
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from collectors.snmp import ber
from collectors.snmp.values import END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, Oid
from common.errors import LabError
from inventory.inventory import Inventory
from lab.national import national_inventory
from lab.ports import busy, free_udp_port, udp_port_free
from lab.probe import run_blocking, snmp_get
from lab.processes import stop_process, tied_env
from lab.runner import SYS_NAME_OID, state_model
from lab.snmpdata import (
    ROLE_PROFILES,
    entity_sensor_records,
    host_resources_records,
    interface_records,
    system_records,
    ups_records,
)

#: Interfaces per role (names as the Hải Phòng lab's generator gives them).
ROLE_INTERFACES: dict[str, tuple[str, ...]] = {
    "router": ("tslcd-fibre", "backup-4g", "lan", "bts"),
    "switch": ("uplink", "port-2", "port-3", "port-4"),
    "bts": ("backhaul", "radio-1", "radio-2", "radio-3"),
    "power": ("mgmt",),
    "leo": ("wan", "lan"),
    "dns": ("eth0", "lo"),
}
RESCAN_S = 0.5  # how often the state directory is looked at
MAX_RESPONSE_OCTETS = 1400  # GETBULK answers stop before this, as an agent with a 1500-octet MTU would
_TAGS = {2: 0x02, 4: 0x04, 6: 0x06, 65: 0x41, 66: 0x42, 67: 0x43, 70: 0x46}
_CONSTANT = ("str", "int", "hex", "oid")


def records(device_id: str, role: str, seed: int) -> list[tuple[str, str, str]]:
    """(oid, snmprec tag, value kind) records of one device, as :func:`lab.snmpdata.write_snmprec` makes."""
    rng = random.Random(f"{seed}:{device_id}")
    profile = ROLE_PROFILES[role]
    out = system_records(profile, rng, device_id, f"{role} {device_id} (national lab)",
                         "NOC Trucban <noc@trucban.local>", "")
    out += interface_records(profile, rng, list(ROLE_INTERFACES[role]))
    if role == "power":
        out += ups_records(rng)
    if role == "dns":
        out += host_resources_records(rng)
    if role in ("router", "switch"):
        out += entity_sensor_records(rng)
    return sorted(out, key=lambda r: tuple(int(x) for x in r[0].split(".")))


def encode_value(tag: str, kind_value: str, state: dict[str, Any], now: float) -> bytes:
    """BER of one record's value for ``state`` at ``now`` (the variation module's formulas)."""
    kind, args = state_model.parse_kind(kind_value)
    t = _TAGS[int(tag)]
    if kind == "str":
        return ber.tlv(0x04, args[0].encode("utf-8"))
    if kind == "hex":
        return ber.tlv(0x04, bytes.fromhex(args[0]))
    if kind == "oid":
        return ber.enc_oid(tuple(int(a) for a in args[0].split(".")))
    value = int(state_model.compute(kind_value, state, now))
    return ber.enc_int(value) if t == 0x02 else ber.enc_uint(value, t)


@dataclass(slots=True)
class Agent:
    """One device's MIB: OIDs (shared per role), encoded OIDs and, per record, its value."""

    oids: list[Oid]
    enc_oids: list[bytes]
    tags: list[str]
    #: encoded constant value (bytes) or the live value's kind (str), one per record
    values: list[bytes | str]

    def varbind(self, i: int, state: dict[str, Any], now: float) -> bytes:
        """Encoded VarBind of record ``i``."""
        v = self.values[i]
        body = v if isinstance(v, bytes) else encode_value(self.tags[i], v, state, now)
        return ber.tlv(0x30, self.enc_oids[i] + body)


class Responder(asyncio.DatagramProtocol):
    """Answers SNMP requests for every device of ``roles`` (device id → role) from its MIB and state."""

    def __init__(self, roles: dict[str, str], state_dir: Path) -> None:
        """Nothing is built yet: agents are made on their first request (start-up stays instant)."""
        self.roles = roles
        self.seeds = {dev: n for n, dev in enumerate(sorted(roles))}
        self.state_dir = Path(state_dir)
        self.states: dict[str, dict[str, Any]] = {}
        self._stamps: dict[str, tuple[int, int]] = {}
        self._agents: dict[str, Agent] = {}
        self._layouts: dict[str, tuple[list[Oid], list[bytes]]] = {}
        self.transport: asyncio.DatagramTransport | None = None
        self.answered = 0
        self.dropped = 0

    # -- state

    def rescan(self) -> None:
        """Re-read the state files that changed since the last scan; forget removed ones."""
        seen: set[str] = set()
        try:
            entries = list(os.scandir(self.state_dir))
        except FileNotFoundError:
            entries = []
        for entry in entries:
            if not entry.name.endswith(".json") or entry.name.startswith("."):
                continue
            dev = entry.name[:-5]
            seen.add(dev)
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue
            stamp = (st.st_mtime_ns, st.st_ino)
            if self._stamps.get(dev) != stamp:
                self._stamps[dev] = stamp
                self.states[dev] = state_model._load(entry.path)
        for dev in set(self.states) - seen:
            self.states.pop(dev, None)
            self._stamps.pop(dev, None)

    # -- agents

    def agent(self, dev: str) -> Agent:
        """The device's MIB, built on first use."""
        agent = self._agents.get(dev)
        if agent is None:
            role = self.roles[dev]
            recs = records(dev, role, self.seeds[dev])
            layout = self._layouts.get(role)
            if layout is None:
                oids = [tuple(int(x) for x in r[0].split(".")) for r in recs]
                layout = self._layouts[role] = (oids, [ber.enc_oid(o) for o in oids])
            values: list[bytes | str] = [
                encode_value(tag, value, {}, 0.0) if value.partition(":")[0] in _CONSTANT
                else sys.intern(value) for _, tag, value in recs]
            agent = self._agents[dev] = Agent(layout[0], layout[1], [sys.intern(r[1]) for r in recs], values)
        return agent

    def answer(self, data: bytes) -> bytes | None:
        """The response datagram for one request, or None to drop it (garbage, unknown, silent)."""
        try:
            pdu = ber.decode(data)
        except ber.BerError:
            return None
        dev = pdu.community.decode("ascii", "replace")
        if dev not in self.roles or pdu.tag not in (ber.GET, ber.GETNEXT, ber.GETBULK):
            return None
        if pdu.tag == ber.GETBULK and pdu.version == 0:
            return None
        state = self.states.get(dev, {})
        if state.get("silent"):
            return None
        agent, now = self.agent(dev), time.time()
        oids = [o for o, _ in pdu.binds]
        parts: list[bytes] = []
        if pdu.tag == ber.GET:
            for oid in oids:
                i = bisect_left(agent.oids, oid)
                if i < len(agent.oids) and agent.oids[i] == oid:
                    parts.append(agent.varbind(i, state, now))
                else:
                    same_object = i < len(agent.oids) and agent.oids[i][:len(oid) - 1] == oid[:-1]
                    absent = NO_SUCH_INSTANCE if same_object else NO_SUCH_OBJECT
                    parts.append(ber.tlv(0x30, ber.enc_oid(oid) + ber.enc_value(absent)))
        elif pdu.tag == ber.GETNEXT:
            parts = [self._next(agent, oid, state, now) for oid in oids]
        else:
            parts = self._bulk(agent, oids, max(0, pdu.error_status), max(0, pdu.error_index), state, now)
        self.answered += 1
        body = ber.enc_int(pdu.request_id) + b"\x02\x01\x00\x02\x01\x00" + ber.tlv(0x30, b"".join(parts))
        return ber.tlv(0x30, ber.enc_int(pdu.version) + ber.tlv(0x04, pdu.community)
                       + ber.tlv(ber.RESPONSE, body))

    @staticmethod
    def _next(agent: Agent, oid: Oid, state: dict[str, Any], now: float) -> bytes:
        i = bisect_right(agent.oids, oid)
        if i < len(agent.oids):
            return agent.varbind(i, state, now)
        return ber.tlv(0x30, ber.enc_oid(oid) + ber.enc_value(END_OF_MIB_VIEW))

    def _bulk(self, agent: Agent, oids: list[Oid], non_rep: int, max_rep: int, state: dict[str, Any],
              now: float) -> list[bytes]:
        """RFC 3416 4.2.3: non-repeaters once, then rows of the repeaters until the size limit."""
        parts = [self._next(agent, oid, state, now) for oid in oids[:non_rep]]
        size = sum(map(len, parts))
        cursors = [bisect_right(agent.oids, oid) for oid in oids[non_rep:]]
        ends = list(oids[non_rep:])
        for _ in range(max_rep):
            if not cursors:
                break
            row: list[bytes] = []
            for k, i in enumerate(cursors):
                if i < len(agent.oids):
                    row.append(agent.varbind(i, state, now))
                    cursors[k] = i + 1
                else:
                    row.append(ber.tlv(0x30, ber.enc_oid(ends[k]) + ber.enc_value(END_OF_MIB_VIEW)))
            row_size = sum(map(len, row))
            if size + row_size > MAX_RESPONSE_OCTETS and len(parts) > non_rep:
                break
            parts += row
            size += row_size
            if all(i >= len(agent.oids) for i in cursors):
                break
        return parts

    # -- asyncio

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport to answer on."""
        self.transport = transport  # type: ignore[assignment]  # a datagram endpoint's transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """Answer (or drop) one request."""
        reply = self.answer(data)
        if reply is None:
            self.dropped += 1
        elif self.transport is not None:
            self.transport.sendto(reply, addr)


def device_roles(inventory: Inventory) -> dict[str, str]:
    """Device id → role name, for every device the responder must answer."""
    return {dev_id: d.role.value for dev_id, d in inventory.devices.items()}


async def serve(roles: dict[str, str], state_dir: Path, host: str, port: int,
                ready: Callable[[], None] | None = None) -> None:
    """Answer on ``host:port`` until cancelled, rescanning ``state_dir`` every :data:`RESCAN_S`."""
    loop = asyncio.get_running_loop()
    responder = Responder(roles, state_dir)
    responder.rescan()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    sock.bind((host, port))
    transport, _ = await loop.create_datagram_endpoint(lambda: responder, sock=sock)
    if ready is not None:
        ready()
    try:
        while True:
            await asyncio.sleep(RESCAN_S)
            responder.rescan()
    finally:
        transport.close()


# ---------------------------------------------------------------- the responder's process


class NationalAgents:
    """The responder in its own process (its CPU apart from Trucban's), like :class:`lab.runner.LabAgents`."""

    def __init__(self, state_dir: Path, port: int = 0, host: str = "127.0.0.1", province: str | None = None,
                 *, tied: bool = False, log_path: Path | None = None) -> None:
        """Remember where state lives and where to listen; nothing starts yet."""
        self.state_dir = Path(state_dir)
        self.host = host
        self.province = province
        self.tied = tied
        self.log_path = Path(log_path) if log_path else self.state_dir.parent / "national-agents.log"
        self._port = port
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        """UDP port the agents listen on."""
        return self._port

    @property
    def pid(self) -> int | None:
        """The responder's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """True while the responder process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 60) -> None:
        """Start the responder and wait until a device answers a real SNMP GET."""
        if self.running:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if not self._port:
            self._port = free_udp_port(self.host)
        elif not udp_port_free(self.host, self._port):
            raise LabError(f"{busy('udp', self.host, self._port)}; stop it or choose another lab_port")
        cmd = [sys.executable, "-m", "lab.national_agents", "--host", self.host, "--port", str(self._port),
               "--state-dir", str(self.state_dir)]
        if self.province:
            cmd += ["--province", self.province]
        env = dict(tied_env() if self.tied else os.environ, PYTHONUNBUFFERED="1")
        root = Path(__file__).resolve().parent.parent
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(cmd, cwd=root, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, env=env, start_new_session=True)
        probe = "p01-core1" if not self.province else f"p{self.province}-core1"
        deadline = time.monotonic() + timeout
        while run_blocking(snmp_get(self.host, self._port, probe, SYS_NAME_OID, 0.5, 0)) is None:
            if not self.running or time.monotonic() > deadline:
                self.stop()
                raise LabError(f"the national lab did not answer on {self.host}:{self._port}; "
                               f"log {self.log_path}")

    def stop(self) -> None:
        """Terminate the responder."""
        proc, self._proc = self._proc, None
        stop_process(proc)

    def __enter__(self) -> NationalAgents:
        """Start for a ``with`` block."""
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop at the end of the ``with`` block."""
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m lab.national_agents --port P --state-dir D [--province NN]``: serve until killed."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--state-dir", type=Path, required=True)
    ap.add_argument("--province", default=None)
    opts = ap.parse_args(argv)
    roles = device_roles(national_inventory(opts.province))
    print(f"national lab: {len(roles)} agents on udp://{opts.host}:{opts.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(roles, opts.state_dir, opts.host, opts.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
