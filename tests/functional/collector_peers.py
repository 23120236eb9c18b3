"""Real local peers for the NETCONF, SSH CLI and DNS collectors (tests and bench share them).

Each peer runs as a child process on loopback with its config in a temporary
directory and is stopped by ``stop()``:

* :class:`NetconfPeer` — the PyPI ``netconf`` package's SSH server, serving
  ietf-interfaces/ietf-hardware/ietf-alarms data from a file the test can rewrite,
  with switchable misbehaviour (rpc-error, malformed XML).
* :class:`FakenosPeer` — PyPI ``fakenos`` emulating Cisco IOS devices over SSH.
* :class:`NsdPeer` — Debian's ``nsd`` on a high loopback port (IPv4 and IPv6),
  with a SOA serial the test can bump (``nsd-control reload``).
* :class:`SilentUdp` — a UDP socket that never answers (for DNS timeouts).

Run ``python -m tests.functional.collector_peers netconf …`` to start the NETCONF
server in the foreground (that is how :class:`NetconfPeer` starts it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NC_USER, NC_PASSWORD = "trucban", "nc-pass-123"
CLI_USER, CLI_PASSWORD = "user", "user"
ROOT = Path(__file__).resolve().parents[2]


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """An unused port on ``host`` for ``kind`` (TCP by default)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_tcp(host: str, port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Wait until something accepts TCP connections on ``host:port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"peer exited with code {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {host}:{port} after {timeout}s")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


# ----------------------------------------------------------------------------- NETCONF

def interfaces_xml(interfaces: list[tuple[str, int, str, int, int]]) -> str:
    """ietf-interfaces state for (name, if_index, oper_status, in_octets, out_octets) rows."""
    rows = "".join(
        f"<interface><name>{n}</name><type xmlns:ianaift=\"urn:ietf:params:xml:ns:yang:iana-if-type\">"
        f"ianaift:ethernetCsmacd</type><admin-status>up</admin-status><oper-status>{st}</oper-status>"
        f"<if-index>{i}</if-index><speed>1000000000</speed><statistics><in-octets>{rx}</in-octets>"
        f"<out-octets>{tx}</out-octets><in-errors>0</in-errors><out-errors>0</out-errors></statistics>"
        "</interface>"
        for n, i, st, rx, tx in interfaces
    )
    return f'<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">{rows}</interfaces>'


HARDWARE_XML = (
    '<hardware xmlns="urn:ietf:params:xml:ns:yang:ietf-hardware"><component><name>chassis</name>'
    '<class xmlns:ianahw="urn:ietf:params:xml:ns:yang:iana-hardware">ianahw:chassis</class>'
    "<state><oper-state>enabled</oper-state></state></component>"
    "<component><name>temp-cpu</name><class xmlns:ianahw=\"urn:ietf:params:xml:ns:yang:iana-hardware\">"
    "ianahw:sensor</class><sensor-data><value>47</value><value-type>celsius</value-type>"
    "<value-scale>units</value-scale><oper-status>ok</oper-status></sensor-data></component></hardware>"
)
ALARMS_XML = (
    '<alarms xmlns="urn:ietf:params:xml:ns:yang:ietf-alarms"><alarm-list><number-of-alarms>1'
    "</number-of-alarms><alarm><resource>/interfaces/interface[name='ge-0/0/1']</resource>"
    "<alarm-type-id>link-down</alarm-type-id><alarm-type-qualifier></alarm-type-qualifier>"
    "<is-cleared>false</is-cleared><perceived-severity>major</perceived-severity>"
    "<alarm-text>Mất tín hiệu quang</alarm-text></alarm></alarm-list></alarms>"
)
DEFAULT_INTERFACES = [("ge-0/0/0", 1, "up", 1000, 2000), ("ge-0/0/1", 2, "down", 10, 20)]


class NetconfPeer:
    """The ``netconf`` package's server on 127.0.0.1, in a child process."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="trucban-netconf-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.set_data(interfaces_xml(DEFAULT_INTERFACES) + HARDWARE_XML + ALARMS_XML)
        self.set_mode("normal")

    def start(self, timeout: float = 20) -> NetconfPeer:
        """Start the server and wait until it accepts connections."""
        cmd = [sys.executable, "-m", "tests.functional.collector_peers", "netconf",
               "--port", str(self.port), "--dir", str(self.dir)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "stderr.log", "wb"))  # noqa: SIM115
        wait_tcp("127.0.0.1", self.port, timeout, self.proc)
        return self

    def set_data(self, xml: str) -> None:
        """Replace the operational data the server answers ``<get>`` with."""
        tmp = self.dir / "data.xml.tmp"
        tmp.write_text(f"<data xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">{xml}</data>",
                       encoding="utf-8")
        tmp.replace(self.dir / "data.xml")

    def set_mode(self, mode: str) -> None:
        """``normal``, ``rpc_error`` (answer every get with an rpc-error) or ``malformed``."""
        (self.dir / "mode").write_text(mode, encoding="utf-8")

    def stop_process(self) -> None:
        """Stop the server but keep its data (``start()`` brings it back on the same port)."""
        _stop(self.proc)

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def _serve_netconf(port: int, directory: Path) -> None:  # pragma: no cover - runs in the child
    import paramiko
    import sshutil.server
    from lxml import etree
    from netconf import error as ncerror
    from netconf import server as ncserver

    class _LoopbackSocket(socket.socket):
        def bind(self, address: Any) -> None:
            host, *rest = tuple(address)
            super().bind(("127.0.0.1" if host in ("", "0.0.0.0") else host, *rest))

    class _SocketModule:
        """``socket`` as sshutil sees it: IPv4 only, bound to 127.0.0.1."""

        def __getattr__(self, name: str) -> object:
            return getattr(socket, name)

        @staticmethod
        def socket(family: int = socket.AF_INET, *args: object) -> socket.socket:
            if family == socket.AF_INET6:
                raise OSError(97, "IPv6 disabled for this test peer")  # errno.EAFNOSUPPORT
            return _LoopbackSocket(family, *args)  # type: ignore[arg-type]

    sshutil.server.socket = _SocketModule()  # type: ignore[assignment]
    key_path = directory / "host_key"
    if not key_path.exists():
        paramiko.RSAKey.generate(2048).write_private_key_file(str(key_path))

    class Methods(ncserver.NetconfMethods):
        def nc_append_capabilities(self, capabilities: object) -> None:
            for uri in ("urn:ietf:params:xml:ns:yang:ietf-interfaces?module=ietf-interfaces",
                        "urn:ietf:params:xml:ns:yang:ietf-hardware?module=ietf-hardware",
                        "urn:ietf:params:xml:ns:yang:ietf-alarms?module=ietf-alarms"):
                ncserver.util.subelm(capabilities, "capability").text = uri

        def rpc_get(self, session: object, rpc: object, filter_or_none: object) -> object:
            mode = (directory / "mode").read_text().strip()
            if mode == "rpc_error":
                raise ncerror.RPCServerError(rpc, ncerror.RPCERR_TYPE_APPLICATION,
                                             ncerror.RPCERR_TAG_OPERATION_FAILED,
                                             message="Bộ nhớ đầy (resource exhausted)")
            if mode == "malformed":
                msg_id = rpc.get("message-id")  # type: ignore[attr-defined]
                session.send_message(  # type: ignore[attr-defined]
                    f'<rpc-reply message-id="{msg_id}" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
                    "<data><interfaces><interface><name>ge-0/0/0</nam></data>")
                raise ncerror.RPCServerError(rpc, ncerror.RPCERR_TYPE_APPLICATION,
                                             ncerror.RPCERR_TAG_OPERATION_FAILED, message="sent garbage")
            data = etree.parse(str(directory / "data.xml")).getroot()
            if filter_or_none is None:
                return data
            # Top-level subtree selection (all the collector's filters need); the
            # package's own filter code only knows the namespaces it was built with.
            wanted = {child.tag for child in filter_or_none}  # type: ignore[attr-defined]
            for child in list(data):
                if child.tag not in wanted:
                    data.remove(child)
            return data

    ctl = ncserver.SSHUserPassController(username=NC_USER, password=NC_PASSWORD)
    server = ncserver.NetconfSSHServer(server_ctl=ctl, server_methods=Methods(), port=port,
                                       host_key=str(key_path))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.join()


# ----------------------------------------------------------------------------- SSH CLI

class FakenosPeer:
    """``fakenos`` Cisco IOS devices over SSH on 127.0.0.1, in a child process."""

    def __init__(self, count: int = 2) -> None:
        self.count = count
        self.dir = Path(tempfile.mkdtemp(prefix="trucban-fakenos-"))
        self.ports = [free_port() for _ in range(count)]
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> FakenosPeer:
        """Start every emulated device and wait until each accepts SSH connections."""
        hosts = "\n".join(f"  r{i}: {{port: {p}, platform: cisco_ios}}" for i, p in enumerate(self.ports))
        inv = self.dir / "inventory.yaml"
        inv.write_text(
            "default:\n  username: " + CLI_USER + "\n  password: " + CLI_PASSWORD + "\n"
            "  server: {plugin: ParamikoSshServer, configuration: {address: 127.0.0.1, timeout: 1}}\n"
            "hosts:\n" + hosts + "\n", encoding="utf-8")
        code = (f"import signal, threading, os, fakenos; n = fakenos.FakeNOS(inventory={str(inv)!r}); "
                "n.start(); signal.signal(signal.SIGTERM, lambda *_: os._exit(0)); threading.Event().wait()")
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=self.dir, stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "stderr.log", "wb"))  # noqa: SIM115
        for port in self.ports:
            wait_tcp("127.0.0.1", port, timeout, self.proc)
        return self

    def stop(self) -> None:
        """Stop the emulated devices."""
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


# ----------------------------------------------------------------------------- DNS

ZONE = "tslcd.haiphong.vn."
BROKEN_ZONE = "hong.haiphong.vn."


class NsdPeer:
    """Debian's ``nsd`` in the foreground on a high port of 127.0.0.1 and ::1.

    Serves :data:`ZONE` (SOA, NS, A, AAAA) and has :data:`BROKEN_ZONE`
    configured without a zone file, so it answers SERVFAIL for it; anything
    else is REFUSED.
    """

    def __init__(self, serial: int = 2026010101) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="trucban-nsd-"))
        self.port = free_port(socket.SOCK_DGRAM)
        self.serial = serial
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15, attempts: int = 3) -> NsdPeer:
        """Start nsd, on a fresh port again if the chosen one was taken meanwhile (busy machine)."""
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once(timeout)
            except RuntimeError:
                _stop(self.proc)
                if attempt == attempts:
                    raise
                self.port = free_port(socket.SOCK_DGRAM)
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> NsdPeer:
        """Write config and zone, start nsd, wait until it answers TCP."""
        nsd = shutil.which("nsd") or "/usr/sbin/nsd"
        if not os.path.exists(nsd):
            raise RuntimeError("nsd is not installed (apt-get install nsd; see deploy/debian-packages.txt)")
        self._write_zone()
        d = self.dir
        (d / "nsd.conf").write_text(f"""server:
  ip-address: 127.0.0.1@{self.port}
  ip-address: ::1@{self.port}
  port: {self.port}
  username: ""
  chroot: ""
  zonesdir: "{d}"
  database: ""
  pidfile: "{d}/nsd.pid"
  xfrdfile: "{d}/xfrd.state"
  zonelistfile: "{d}/zone.list"
  logfile: "{d}/nsd.log"
  server-count: 1
  verbosity: 0
  hide-version: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: yes
  control-interface: {d}/control.sock
zone:
  name: {ZONE}
  zonefile: "{d}/zone.db"
zone:
  name: {BROKEN_ZONE}
  zonefile: "{d}/missing.db"
""", encoding="utf-8")
        self.proc = subprocess.Popen([nsd, "-d", "-c", str(d / "nsd.conf")], cwd=d,
                                     stdout=subprocess.DEVNULL, stderr=open(d / "stderr.log", "wb"))  # noqa: SIM115
        wait_tcp("127.0.0.1", self.port, timeout, self.proc)
        return self

    def _write_zone(self) -> None:
        (self.dir / "zone.db").write_text(f"""$ORIGIN {ZONE}
$TTL 300
@   IN SOA ns1.{ZONE} hostmaster.{ZONE} ({self.serial} 3600 600 86400 300)
    IN NS  ns1.{ZONE}
    IN NS  ns2.{ZONE}
    IN A   127.0.0.1
    IN AAAA ::1
ns1 IN A   127.0.0.1
ns1 IN AAAA ::1
ns2 IN A   127.0.0.1
www IN A   127.0.0.1
www IN AAAA ::1
""", encoding="utf-8")

    def set_serial(self, serial: int) -> None:
        """Rewrite the zone with a new SOA serial and reload it (``nsd-control reload``)."""
        self.serial = serial
        self._write_zone()
        ctl = shutil.which("nsd-control") or "/usr/sbin/nsd-control"
        subprocess.run([ctl, "-c", str(self.dir / "nsd.conf"), "reload", ZONE.rstrip(".")],
                       check=True, capture_output=True, timeout=10)

    def stop(self) -> None:
        """Stop nsd and remove its directory."""
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class SilentUdp:
    """A UDP port on 127.0.0.1 that swallows every datagram (a DNS server that never answers)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])

    def stop(self) -> None:
        """Close the socket."""
        self.sock.close()


def main(argv: list[str] | None = None) -> None:
    """Foreground runner for the NETCONF peer."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("peer", choices=["netconf"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    _serve_netconf(args.port, args.dir)


if __name__ == "__main__":
    main()
