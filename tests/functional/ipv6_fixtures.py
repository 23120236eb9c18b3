"""Session peers for the IPv6 tests: an IPv6-only namespace with every kind of peer, and Trucban polling it.

Inside the namespace (no IPv4 address at all): the simulated lab's snmpsim
agents (SNMPv2c) on ``[ns6]:161``, net-snmp's snmpd (SNMPv3) on ``[ns6]:1161``,
the NETCONF test server on ``[ns6]:830``, fakenos (Cisco IOS over SSH) on
``[ns6]:22`` and nsd on ``[ns6]:53``. Trucban runs in the root namespace with
its web server on ``::`` (IPv6 and IPv4) and its trap receiver on ``::``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
import yaml

from api.auth.roles import Role
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab.generator import LabLayout, generate_lab
from lab.runner import LabAgents, free_udp_port
from tests.functional.collector_peers import CLI_PASSWORD, CLI_USER, NC_PASSWORD, NC_USER
from tests.functional.netns import (
    NetNs,
    netns_unavailable,
    start_fakenos,
    start_netconf,
    start_nsd,
    start_snmpd,
)
from tests.functional.web_peers import ensure_user
from trucban.runner import listen_sockets
from trucban.service import Service, build_service
from trucban.settings import load_settings

ZONE = "tslcd.haiphong.vn."
V3_USER, V3_AUTH, V3_PRIV = "nms6", "auth-key-ipv6-1", "priv-key-ipv6-1"
POLL_S = 2.0


@dataclass
class V6Network:
    """The IPv6-only namespace, its lab and the inventory Trucban polls it with."""

    ns: NetNs
    layout: LabLayout
    agents: LabAgents
    inventory: Inventory


@dataclass
class V6Service:
    """Trucban polling the IPv6-only network; web server on ``::``."""

    service: Service
    port: int
    trap_port: int

    def url(self, host: str) -> str:
        """Base URL of the web server on ``host`` (brackets for IPv6)."""
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"


@pytest.fixture(scope="session")
def netns_ok() -> None:
    """Skip (with the reason) where this machine cannot create network namespaces."""
    reason = netns_unavailable()
    if reason is not None:
        pytest.skip(f"IPv6 namespace tests need network namespaces: {reason}")


def _zone_records(ns6: str) -> str:
    return (f"@ IN SOA ns1.{ZONE} hostmaster.{ZONE} (2026050101 3600 600 86400 300)\n"
            f"  IN NS ns1.{ZONE}\n  IN A 192.0.2.53\n  IN AAAA {ns6}\n"
            f"ns1 IN AAAA {ns6}\nwww IN AAAA {ns6}\n")


def _snmpd_config() -> str:
    return (f'createUser {V3_USER} SHA-256 "{V3_AUTH}" AES "{V3_PRIV}"\n'
            f"rouser {V3_USER} priv\n")


def _extend_inventory(layout: LabLayout, ns6: str) -> None:
    """Lab devices at the namespace's IPv6 address, plus NETCONF, SSH, DNS and SNMPv3 devices."""
    csv = layout.root / "devices.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace(",127.0.0.1,", f",{ns6},"), encoding="utf-8")
    doc = yaml.safe_load(layout.inventory.read_text(encoding="utf-8"))
    site = "p31-dc"
    doc["devices"] = [
        {"id": "nc6", "name": "Router NETCONF IPv6", "site": site, "role": "router", "address": ns6,
         "netconf": {"credential": "nc-login", "port": 830, "timeout_s": 10}},
        {"id": "cli6", "name": "Router CLI IPv6", "site": site, "role": "router", "address": ns6,
         "icmp": False,
         "ssh": {"credential": "cli-login", "port": 22, "platform": "cisco_ios", "timeout_s": 15}},
        {"id": "dns6", "name": "Máy chủ DNS IPv6", "site": "p31-dns", "role": "dns", "address": ns6,
         "dns": {"zone": ZONE.rstrip("."), "ipv6": ns6, "timeout_s": 2}},
        {"id": "v3r6", "name": "Router SNMPv3 IPv6", "site": site, "role": "dns", "address": ns6,
         "snmp": {"credential": "snmp-v3-6", "port": 1161, "timeout_s": 2, "retries": 1}},
    ]
    layout.inventory.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    creds_path = layout.root / "credentials.yaml"
    creds = yaml.safe_load(creds_path.read_text(encoding="utf-8"))
    creds["credentials"].update({
        "nc-login": {"kind": "login", "username": NC_USER, "password": NC_PASSWORD},
        "cli-login": {"kind": "login", "username": CLI_USER, "password": CLI_PASSWORD},
        "snmp-v3-6": {"kind": "snmp_v3", "user": V3_USER, "auth_protocol": "sha256", "auth_key": V3_AUTH,
                      "priv_protocol": "aes128", "priv_key": V3_PRIV},
    })
    creds_path.write_text(yaml.safe_dump(creds, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="session")
def v6net(netns_ok: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[V6Network]:
    """The IPv6-only namespace with every peer running inside; torn down even when a start fails."""
    root = tmp_path_factory.mktemp("ipv6-only")
    ns = NetNs("v6", 1)
    try:
        ns.create()
        layout = generate_lab(root / "lab", "31", port=161, limit=1)
        _extend_inventory(layout, ns.ns6)
        agents = LabAgents(layout.data_dir, layout.state_dir, layout.cache_dir, port=161, host=ns.ns6,
                           netns=ns.name)
        agents.start(timeout=90)
        start_snmpd(ns, root / "snmpd", _snmpd_config(), port=1161)
        start_nsd(ns, root / "nsd", ZONE, _zone_records(ns.ns6))
        start_netconf(ns, root / "netconf")
        start_fakenos(ns, root / "fakenos")
        inventory = load_inventory(layout.inventory)
        try:
            yield V6Network(ns, layout, agents, inventory)
        finally:
            agents.stop()
    finally:
        ns.destroy()


@pytest.fixture(scope="session")
def v6service(v6net: V6Network, tmp_path_factory: pytest.TempPathFactory) -> Iterator[V6Service]:
    """Trucban polling the IPv6-only network every two seconds; web server and traps on ``::``."""
    sockets = listen_sockets("::", 0)
    port = int(sockets[0].getsockname()[1])
    trap_port = free_udp_port("::1")
    settings = load_settings(env={}, data_dir=tmp_path_factory.mktemp("ipv6-data"), http_host="::",
                             http_port=port, trap_host="::", trap_port=trap_port, poll_interval_s=POLL_S,
                             health_interval_s=POLL_S, inventory_interval_s=POLL_S * 2, poll_jitter=0)
    service = build_service(settings, v6net.inventory)
    server = uvicorn.Server(uvicorn.Config(service.app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("Trucban did not start serving on [::]")
        time.sleep(0.05)
    ensure_user(service, "operator6", Role.OPERATOR)
    try:
        yield V6Service(service, port, trap_port)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        for sock in sockets:
            sock.close()

