"""A NETCONF router for the demo lab, on the ``netconf`` package's SSH server.

Why: the demo must show the NETCONF collector without a real router. Each
:class:`NetconfRouter` listens on one loopback port and answers ``<get>`` with
ietf-interfaces, ietf-hardware and ietf-alarms data computed from the device's
staged lab state by the same formulas the SNMP agents use: counters grow from
lab start and freeze while an interface is staged down (``if_down``), which
also raises a ``link-down`` alarm; the temperature sensor moves slowly. A
``silent`` router is stopped (listener and sessions closed) and started again
when restored (see :mod:`lab.services`).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import paramiko
import sshutil.server
from lxml import etree
from netconf import server as ncserver

HOST = "127.0.0.1"
IF_NS = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
HW_NS = "urn:ietf:params:xml:ns:yang:ietf-hardware"
ALARM_NS = "urn:ietf:params:xml:ns:yang:ietf-alarms"
MODULES = (f"{IF_NS}?module=ietf-interfaces", f"{HW_NS}?module=ietf-hardware",
           f"{ALARM_NS}?module=ietf-alarms")
RATE_BPS = 1_250_000  # bytes per second in, per interface; out is 60 % of it


class _LoopbackSocket(socket.socket):
    """A socket whose wildcard binds become 127.0.0.1 (the lab never listens beyond loopback)."""

    def bind(self, address: Any) -> None:
        host, *rest = tuple(address)
        super().bind((HOST if host in ("", "0.0.0.0") else host, *rest))


class _LoopbackSockets:
    """``socket`` as sshutil sees it: IPv4 only, bound to 127.0.0.1.

    sshutil's server binds every address with no way to choose one; this is the
    only seam, and it is used by the lab's own process only.
    """

    def __getattr__(self, name: str) -> object:
        return getattr(socket, name)

    @staticmethod
    def socket(family: int = socket.AF_INET, *args: Any) -> socket.socket:
        if family == socket.AF_INET6:
            raise OSError(97, "IPv6 disabled for the lab")  # EAFNOSUPPORT: sshutil then binds IPv4
        return _LoopbackSocket(family, *args)


def loopback_only() -> None:
    """Make sshutil (under the ``netconf`` server) bind 127.0.0.1 only; quiet its GC-time logging."""
    sshutil.server.socket = _LoopbackSockets()  # type: ignore[assignment]
    for name in ("sshutil", "netconf"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def operational_data(interfaces: list[str], state: dict[str, Any], now: float, model: Any) -> str:
    """``<data>`` for one router: interfaces, hardware and alarms for ``state`` at ``now``.

    ``model`` is the lab's state module (``lab.runner.state_model``): its
    ``counter``, ``if_down`` and ``wave`` keep NETCONF and SNMP answers alike.
    """
    down = model.if_down(state)
    rows, alarms = [], []
    for index, name in enumerate(interfaces, start=1):
        rx = model.counter(state, now, index, 10_000 * index, RATE_BPS, 64)
        tx = model.counter(state, now, index, 6_000 * index, RATE_BPS * 0.6, 64)
        oper = "down" if index in down else "up"
        rows.append(
            f"<interface><name>{escape(name)}</name><type xmlns:ianaift=\"urn:ietf:params:xml:ns:yang:"
            f"iana-if-type\">ianaift:ethernetCsmacd</type><admin-status>up</admin-status>"
            f"<oper-status>{oper}</oper-status><if-index>{index}</if-index><speed>10000000000</speed>"
            f"<statistics><in-octets>{rx}</in-octets><out-octets>{tx}</out-octets><in-errors>0</in-errors>"
            "<out-errors>0</out-errors></statistics></interface>")
        if index in down:
            alarms.append(
                f"<alarm><resource>/interfaces/interface[name='{escape(name)}']</resource>"
                "<alarm-type-id>link-down</alarm-type-id><alarm-type-qualifier></alarm-type-qualifier>"
                "<is-cleared>false</is-cleared><perceived-severity>major</perceived-severity>"
                f"<alarm-text>Mất tín hiệu trên {escape(name)}</alarm-text></alarm>")
    temperature = model.wave(now, 45, 4, 900.0)
    hardware = (
        f'<hardware xmlns="{HW_NS}"><component><name>chassis</name><class xmlns:ianahw="urn:ietf:params:'
        'xml:ns:yang:iana-hardware">ianahw:chassis</class><state><oper-state>enabled</oper-state></state>'
        '</component><component><name>temp-cpu</name><class xmlns:ianahw="urn:ietf:params:xml:ns:yang:'
        f'iana-hardware">ianahw:sensor</class><sensor-data><value>{temperature}</value><value-type>celsius'
        "</value-type><value-scale>units</value-scale><oper-status>ok</oper-status></sensor-data>"
        "</component></hardware>")
    return (f'<data xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><interfaces xmlns="{IF_NS}">'
            f"{''.join(rows)}</interfaces>{hardware}<alarms xmlns=\"{ALARM_NS}\"><alarm-list>"
            f"<number-of-alarms>{len(alarms)}</number-of-alarms>{''.join(alarms)}</alarm-list></alarms></data>")


class _Methods(ncserver.NetconfMethods):
    """``<get>`` answered from the router's live lab state."""

    def __init__(self, router: NetconfRouter) -> None:
        self.router = router

    def nc_append_capabilities(self, capabilities: Any) -> None:
        for uri in MODULES:
            ncserver.util.subelm(capabilities, "capability").text = uri

    def rpc_get(self, session: Any, rpc: Any, filter_or_none: Any) -> Any:
        r = self.router
        data = etree.fromstring(operational_data(r.interfaces, r.state_of(r.device), time.time(), r.model))
        if filter_or_none is not None:  # top-level subtree selection: all the collector's filters need
            wanted = {child.tag for child in filter_or_none}
            for child in list(data):
                if child.tag not in wanted:
                    data.remove(child)
        return data


class NetconfRouter:
    """One NETCONF-over-SSH router on 127.0.0.1:``port`` with a password login."""

    def __init__(self, device: str, port: int, interfaces: list[str], username: str, password: str,
                 key_path: Path, state_of: Any, model: Any) -> None:
        """Remember the router; :meth:`start` listens (and makes its host key on first use)."""
        self.device = device
        self.port = port
        self.interfaces = interfaces
        self.username = username
        self.password = password
        self.key_path = key_path
        self.state_of = state_of
        self.model = model
        self._server: ncserver.NetconfSSHServer | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """True while the router listens."""
        return self._server is not None

    def start(self) -> None:
        """Listen (idempotent)."""
        with self._lock:
            if self._server is not None:
                return
            if not self.key_path.exists():
                self.key_path.parent.mkdir(parents=True, exist_ok=True)
                paramiko.RSAKey.generate(2048).write_private_key_file(str(self.key_path))
            ctl = ncserver.SSHUserPassController(username=self.username, password=self.password)
            self._server = ncserver.NetconfSSHServer(server_ctl=ctl, server_methods=_Methods(self),
                                                     port=self.port, host_key=str(self.key_path))

    def stop(self) -> None:
        """Close the listener and every session (idempotent)."""
        with self._lock:
            server, self._server = self._server, None
            if server is not None:
                server.close()
                server.join()
