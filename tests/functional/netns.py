"""IPv6 test networks built from Linux network namespaces and veth pairs, and peers that run inside them.

:class:`NetNs` creates a namespace joined to the root namespace by one veth pair
with IPv6 addresses only (``nodad``, a ULA prefix unique to this test run) and,
for the dual-stack case, an IPv4 address from the benchmarking range 198.18.0.0/15.
The namespace's loopback keeps ``::1`` but loses ``127.0.0.1``, so nothing in an
IPv6-only namespace has an IPv4 address. Peers run inside with ``ip netns exec``;
Trucban polls them from the root namespace over the veth. ``destroy()`` kills
every process left in the namespace and deletes it (the veth goes with it).

Run ``python -m tests.functional.netns {netconf,fakenos} …`` to start one peer in the
foreground on an IPv6 address (that is how the fixtures start them in a namespace).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

from lab.processes import stop_process

ROOT = Path(__file__).resolve().parents[2]
NSD = shutil.which("nsd") or "/usr/sbin/nsd"
SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=10)


def netns_unavailable() -> str | None:
    """Why this machine cannot build namespaces for the tests (None when it can)."""
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed (apt-get install iproute2; see deploy/debian-packages.txt)"
    if os.geteuid() != 0:
        return "creating network namespaces needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN)"
    probe = f"tbprobe{os.getpid() % 100000}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=10)
    if made.returncode != 0:
        return f"`ip netns add` fails here: {made.stderr.strip() or made.returncode}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10)
    if not Path("/proc/sys/net/ipv6").exists():
        return "IPv6 is disabled in this kernel"
    return None


class NetNs:
    """One namespace + one veth pair: ``host6`` (root side) ↔ ``ns6`` (inside), optionally IPv4 too."""

    def __init__(self, tag: str, index: int, *, ipv4: bool = False) -> None:
        """``tag`` (≤ 4 chars) and ``index`` keep names and prefixes apart between namespaces and runs."""
        run = os.getpid() & 0xFFFF
        self.name = f"tb-{tag}-{os.getpid()}"
        self.host_if = f"tb{tag}{run:x}h"[:15]
        self.ns_if = f"tb{tag}{run:x}n"[:15]
        self.prefix = f"fd00:7b:{run:x}:{index:x}"
        self.host6, self.ns6 = f"{self.prefix}::1", f"{self.prefix}::2"
        v4net = (run * 4 + index) % 16384  # a /30 inside 198.18.0.0/15
        base = (198 << 24) | (18 << 16) | (v4net << 2)
        self.host4 = socket.inet_ntoa((base + 1).to_bytes(4, "big")) if ipv4 else None
        self.ns4 = socket.inet_ntoa((base + 2).to_bytes(4, "big")) if ipv4 else None
        self._procs: list[subprocess.Popen[bytes]] = []

    def create(self) -> NetNs:
        """Build the namespace and the veth pair; addresses are usable at once (nodad)."""
        self.destroy()  # leftovers of a crashed run with the same pid
        atexit.register(self.destroy)
        try:
            _ip("netns", "add", self.name)
            _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
            _ip("link", "set", self.ns_if, "netns", self.name)
            _ip("-n", self.name, "link", "set", "lo", "up")
            _ip("-n", self.name, "addr", "del", "127.0.0.1/8", "dev", "lo", check=False)
            _ip("addr", "add", f"{self.host6}/64", "dev", self.host_if, "nodad")
            _ip("-n", self.name, "addr", "add", f"{self.ns6}/64", "dev", self.ns_if, "nodad")
            if self.host4 and self.ns4:
                _ip("addr", "add", f"{self.host4}/30", "dev", self.host_if)
                _ip("-n", self.name, "addr", "add", f"{self.ns4}/30", "dev", self.ns_if)
            _ip("link", "set", self.host_if, "up")
            _ip("-n", self.name, "link", "set", self.ns_if, "up")
        except BaseException:
            self.destroy()
            raise
        self.wait_reachable()
        return self

    def wait_reachable(self, timeout: float = 10) -> None:
        """Wait until the namespace's IPv6 address answers (the veth carrier is up)."""
        deadline = time.monotonic() + timeout
        while not answers(self.ns6):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.ns6} is not reachable from {self.host6} over {self.host_if}")
            time.sleep(0.1)

    def exec_prefix(self) -> list[str]:
        """Command prefix that runs a program inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def run(self, *cmd: str, check: bool = True, timeout: float = 20,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace and wait for it."""
        return subprocess.run([*self.exec_prefix(), *cmd], capture_output=True, text=True, check=check,
                              timeout=timeout, env=env)

    def spawn(self, cmd: list[str], log: Path, cwd: Path | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a long-running peer inside the namespace; stopped by :meth:`destroy`."""
        with open(log, "ab") as out:
            proc = subprocess.Popen([*self.exec_prefix(), *cmd], stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=cwd or ROOT, env=env,
                                    start_new_session=True)
        self._procs.append(proc)
        return proc

    def ipv4_addresses(self) -> str:
        """Every IPv4 address inside the namespace, as ``ip -4 addr`` prints them ('' when none)."""
        return _ip("-n", self.name, "-4", "-o", "addr", "show").stdout.strip()

    def drop_ipv6(self) -> None:
        """Break the IPv6 path: remove the namespace's IPv6 address (IPv4, if any, stays)."""
        _ip("-n", self.name, "addr", "del", f"{self.ns6}/64", "dev", self.ns_if)

    def restore_ipv6(self) -> None:
        """Give the namespace its IPv6 address back."""
        _ip("-n", self.name, "addr", "replace", f"{self.ns6}/64", "dev", self.ns_if, "nodad")

    def set_link(self, up: bool) -> None:
        """Bring the root side of the veth down (every address inside becomes unreachable) or up."""
        _ip("link", "set", self.host_if, "up" if up else "down")
        if up:
            self.wait_reachable()

    def destroy(self) -> None:
        """Stop the peers, kill anything left inside, delete the namespace and the veth."""
        atexit.unregister(self.destroy)
        for proc in self._procs:
            stop_process(proc)
        self._procs.clear()
        listed = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True,
                                timeout=10)
        for pid in listed.stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=10)


def answers(host: str, port: int = 9) -> bool:
    """True when ``host`` answers at all: a TCP connect is accepted or actively refused."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except ConnectionRefusedError:
        return True
    except OSError:
        return False




def wait_tcp6(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until ``[host]:port`` accepts TCP connections from the root namespace."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"peer exited with code {proc.returncode} before listening on [{host}]:{port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on [{host}]:{port} after {timeout}s")


# ----------------------------------------------------------------------------- peers in a namespace

def start_nsd(ns: NetNs, directory: Path, zone: str, records: str, port: int = 53) -> subprocess.Popen[bytes]:
    """Debian's nsd inside ``ns``, bound to the namespace's IPv6 address only, serving ``zone``."""
    if not Path(NSD).exists():
        raise RuntimeError("nsd is not installed (apt-get install nsd; see deploy/debian-packages.txt)")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "zone.db").write_text(f"$ORIGIN {zone}\n$TTL 300\n{records}", encoding="utf-8")
    (directory / "nsd.conf").write_text(f"""server:
  ip-address: {ns.ns6}@{port}
  port: {port}
  do-ip4: no
  username: ""
  chroot: ""
  zonesdir: "{directory}"
  database: ""
  pidfile: "{directory}/nsd.pid"
  xfrdfile: "{directory}/xfrd.state"
  zonelistfile: "{directory}/zone.list"
  logfile: "{directory}/nsd.log"
  server-count: 1
  verbosity: 0
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: {zone}
  zonefile: "{directory}/zone.db"
""", encoding="utf-8")
    proc = ns.spawn([NSD, "-d", "-c", str(directory / "nsd.conf")], directory / "stderr.log", cwd=directory)
    wait_tcp6(ns.ns6, port, 15, proc)
    return proc


def start_snmpd(ns: NetNs, directory: Path, config: str, port: int = 161) -> subprocess.Popen[bytes]:
    """net-snmp's snmpd inside ``ns`` on ``udp6:[ns6]:port`` (SNMPv3 users from ``config``)."""
    if not Path(SNMPD).exists():
        raise RuntimeError("snmpd is not installed (apt-get install snmpd; see deploy/debian-packages.txt)")
    persist = directory / "persist"
    persist.mkdir(parents=True, exist_ok=True)
    (directory / "snmpd.conf").write_text(config, encoding="utf-8")
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(persist), SNMPCONFPATH=str(directory), MIBS="")
    return ns.spawn([SNMPD, "-f", "-Lo", "-C", "-c", str(directory / "snmpd.conf"), "-p",
                     str(directory / "pid"), f"udp6:[{ns.ns6}]:{port}"], directory / "snmpd.log", env=env)


def start_netconf(ns: NetNs, directory: Path, port: int = 830) -> subprocess.Popen[bytes]:
    """The NETCONF test server (``collector_peers``' data and modes) inside ``ns`` on ``[ns6]:port``."""
    from tests.functional.collector_peers import ALARMS_XML, DEFAULT_INTERFACES, HARDWARE_XML, interfaces_xml

    directory.mkdir(parents=True, exist_ok=True)
    data = interfaces_xml(DEFAULT_INTERFACES) + HARDWARE_XML + ALARMS_XML
    envelope = f'<data xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">{data}</data>'
    (directory / "data.xml").write_text(envelope, encoding="utf-8")
    (directory / "mode").write_text("normal", encoding="utf-8")
    proc = ns.spawn([sys.executable, "-m", "tests.functional.netns", "netconf", "--port", str(port),
                     "--dir", str(directory)], directory / "stderr.log")
    wait_tcp6(ns.ns6, port, 30, proc)
    return proc


def start_fakenos(ns: NetNs, directory: Path, port: int = 22) -> subprocess.Popen[bytes]:
    """fakenos (Cisco IOS over SSH) inside ``ns`` on ``[ns6]:port``."""
    from tests.functional.collector_peers import CLI_PASSWORD, CLI_USER

    directory.mkdir(parents=True, exist_ok=True)
    inv = directory / "inventory.yaml"
    inv.write_text(
        f"default:\n  username: {CLI_USER}\n  password: {CLI_PASSWORD}\n"
        f"  server: {{plugin: ParamikoSshServer, configuration: {{address: '{ns.ns6}', timeout: 1}}}}\n"
        f"hosts:\n  r0: {{port: {port}, platform: cisco_ios}}\n", encoding="utf-8")
    proc = ns.spawn([sys.executable, "-m", "tests.functional.netns", "fakenos", "--inventory", str(inv)],
                    directory / "stderr.log")
    wait_tcp6(ns.ns6, port, 60, proc)
    return proc


# ----------------------------------------------------------------------------- foreground runners

class _Inet6Sockets:
    """``socket`` as fakenos's server sees it: TCP sockets are IPv6 (its code hard-codes AF_INET)."""

    def __getattr__(self, name: str) -> object:
        return getattr(socket, name)

    @staticmethod
    def socket(family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM, *args: Any) -> socket.socket:
        return socket.socket(socket.AF_INET6 if family == socket.AF_INET else family, kind, *args)


def _run_fakenos(inventory: Path) -> None:  # pragma: no cover - runs in the namespace
    import threading

    import fakenos
    import fakenos.core.servers as servers

    servers.socket = _Inet6Sockets()  # type: ignore[assignment]
    nos = fakenos.FakeNOS(inventory=str(inventory))
    nos.start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Event().wait()


class _KeepSocket(types.ModuleType):
    """A module whose ``socket`` attribute cannot be replaced (keeps sshutil's IPv6 listener)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name != "socket":
            super().__setattr__(name, value)


def _run_netconf(port: int, directory: Path) -> None:  # pragma: no cover - runs in the namespace
    import sshutil.server

    from tests.functional import collector_peers

    # collector_peers pins its server to 127.0.0.1/IPv4; here sshutil listens on :: as it does by itself.
    sshutil.server.__class__ = _KeepSocket
    collector_peers._serve_netconf(port, directory)


def main(argv: list[str] | None = None) -> None:
    """Foreground runner for the peers started inside a namespace."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("peer", choices=["netconf", "fakenos"])
    parser.add_argument("--port", type=int, default=830)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--inventory", type=Path)
    args = parser.parse_args(argv)
    if args.peer == "netconf":
        _run_netconf(args.port, args.dir)
    else:
        _run_fakenos(args.inventory)


if __name__ == "__main__":
    main()
