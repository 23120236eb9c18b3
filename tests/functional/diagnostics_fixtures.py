"""Real peers for the diagnostics tests, started once per session on 127.0.0.1.

Reuses the collector issue's peers (:mod:`tests.functional.collector_peers`):
fakenos Cisco IOS devices over SSH, the PyPI ``netconf`` server, and nsd. An
inventory pointing at them (with a credentials file) is written to a temp dir.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from inventory.inventory import Inventory
from inventory.loader import load_inventory
from tests.functional.collector_peers import (
    CLI_PASSWORD,
    CLI_USER,
    NC_PASSWORD,
    NC_USER,
    FakenosPeer,
    NetconfPeer,
    NsdPeer,
)


@dataclass
class DiagnosticPeers:
    """The running peers and an inventory whose devices point at them."""

    cli: FakenosPeer
    netconf: NetconfPeer
    dns: NsdPeer
    silent_port: int  # accepts TCP, never speaks (a hung SSH daemon)
    inventory: Inventory


class SilentTcp:
    """A TCP port on 127.0.0.1 that accepts connections and never sends a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.held.append(conn)
            except OSError:
                continue

    def stop(self) -> None:
        """Close every held connection and the listening socket."""
        self._stop.set()
        self.thread.join(timeout=2)
        for conn in self.held:
            conn.close()
        self.sock.close()


def write_inventory(root: Path, ssh_ports: list[int], netconf_port: int, dns_port: int,
                    silent_port: int) -> Path:
    """Aggregation router (SSH + NETCONF) ← access router (SSH) ← power; a DNS pair; a hung router."""
    (root / "credentials.yaml").write_text(
        "credentials:\n"
        f"  cli: {{kind: login, username: {CLI_USER}, password: {CLI_PASSWORD}}}\n"
        f"  nc: {{kind: login, username: {NC_USER}, password: {NC_PASSWORD}}}\n", encoding="utf-8")
    dns = f"{{zone: tslcd.haiphong.vn, port: {dns_port}, ipv4: 127.0.0.1, ipv6: '::1', timeout_s: 2}}"
    (root / "inventory.yaml").write_text(f"""\
province: "31"
credentials_file: credentials.yaml
communes:
  - code: "11311"
    command_post: Ban Chỉ huy phòng thủ dân sự phường Hồng Bàng
    contacts: [{{name: Nguyễn Văn A, phone: "+84901234567"}}]
sites:
  - {{id: hq-11311, name: Trụ sở UBND phường Hồng Bàng, kind: commune_hq, commune: "11311"}}
  - {{id: dc, name: Trung tâm dữ liệu, kind: data_centre, commune: "11311"}}
devices:
  - {{id: agg-01, name: Router tổng hợp, site: dc, role: router, address: 127.0.0.1,
     ssh: {{credential: cli, port: {ssh_ports[0]}, timeout_s: 10}},
     netconf: {{credential: nc, port: {netconf_port}, timeout_s: 10}}}}
  - {{id: r1-11311, name: Router truy nhập, site: hq-11311, role: router, address: 127.0.0.1,
     ssh: {{credential: cli, port: {ssh_ports[1]}, timeout_s: 10}}, parents: [agg-01]}}
  - {{id: pwr-11311, name: Nguồn BTS, site: hq-11311, role: power, address: 127.0.0.1, parents: [r1-11311]}}
  - {{id: ns1, name: DNS chính, site: dc, role: dns, address: 127.0.0.1, dns: {dns}}}
  - {{id: ns2, name: DNS phụ, site: dc, role: dns, address: 127.0.0.1, dns: {dns}}}
  - {{id: hung-01, name: Router treo, site: dc, role: router, address: 127.0.0.1,
     ssh: {{credential: cli, port: {silent_port}, timeout_s: 2}}}}
""", encoding="utf-8")
    return root / "inventory.yaml"


@pytest.fixture(scope="session")
def diagnostic_peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DiagnosticPeers]:
    """fakenos (2 Cisco IOS), a NETCONF server, nsd and a hung TCP port, with an inventory for them."""
    cli, netconf, dns, silent = FakenosPeer(count=2), NetconfPeer(), NsdPeer(), SilentTcp()
    try:
        cli.start()
        netconf.start()
        dns.start()
        path = write_inventory(tmp_path_factory.mktemp("diag-inv"), cli.ports, netconf.port, dns.port,
                               silent.port)
        yield DiagnosticPeers(cli, netconf, dns, silent.port, load_inventory(path))
    finally:
        for peer in (cli, netconf, dns, silent):
            peer.stop()
