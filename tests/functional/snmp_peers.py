"""Real SNMP peers for the SNMP, poller and trap tests: net-snmp's snmpd (SNMPv3) and helpers.

snmpd is a different SNMP implementation from snmpsim (pysnmp), so SNMPv3
USM (SHA/SHA-2 auth, AES-128/256 privacy) is proven against net-snmp itself.
It runs as a child process on 127.0.0.1 with its config and persistent state in
a temp dir (no systemd, no /var/lib), and answers for this host's real MIB-II
and HOST-RESOURCES data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from inventory.credentials import SnmpCommunity, SnmpV3User
from inventory.model import Device
from lab.processes import stop_process
from lab.runner import free_udp_port, run_blocking, snmp_get

SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"
V2_COMMUNITY = "v2-trucban"
USERS = {  # name: (auth proto, auth key, priv proto, priv key) — net-snmp spelling
    "sha1-aes128": ("SHA", "auth-key-sha1", "AES", "priv-key-aes128"),
    "sha256-aes256": ("SHA-256", "auth-key-sha256", "AES-256", "priv-key-aes256"),
    "sha512-auth": ("SHA-512", "auth-key-sha512", None, None),
    "plain-user": (None, None, None, None),
}
CREDENTIALS: dict[str, object] = {
    "v2": SnmpCommunity(kind="snmp_v2c", community=SecretStr(V2_COMMUNITY)),
    "v1": SnmpCommunity(kind="snmp_v1", community=SecretStr(V2_COMMUNITY)),
    "sha1-aes128": SnmpV3User(kind="snmp_v3", user="sha1-aes128", auth_protocol="sha",
                              auth_key=SecretStr("auth-key-sha1"), priv_protocol="aes128",
                              priv_key=SecretStr("priv-key-aes128")),
    "sha256-aes256": SnmpV3User(kind="snmp_v3", user="sha256-aes256", auth_protocol="sha256",
                                auth_key=SecretStr("auth-key-sha256"), priv_protocol="aes256",
                                priv_key=SecretStr("priv-key-aes256")),
    "sha512-auth": SnmpV3User(kind="snmp_v3", user="sha512-auth", auth_protocol="sha512",
                              auth_key=SecretStr("auth-key-sha512")),
    "plain-user": SnmpV3User(kind="snmp_v3", user="plain-user"),
    "wrong-priv": SnmpV3User(kind="snmp_v3", user="sha256-aes256", auth_protocol="sha256",
                             auth_key=SecretStr("auth-key-sha256"), priv_protocol="aes256",
                             priv_key=SecretStr("not-the-priv-key")),
    "wrong-auth": SnmpV3User(kind="snmp_v3", user="sha1-aes128", auth_protocol="sha",
                             auth_key=SecretStr("not-the-auth-key"), priv_protocol="aes128",
                             priv_key=SecretStr("priv-key-aes128")),
}


class Snmpd:
    """net-snmp's snmpd on 127.0.0.1:<free port> with the USERS above."""

    def __init__(self, root: Path) -> None:
        """Write the config under ``root``; nothing runs yet."""
        self.root = root
        self.port = free_udp_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        """snmpd.conf text."""
        lines = [f"rocommunity {V2_COMMUNITY} 127.0.0.1"]
        for user, (ap, ak, pp, pk) in USERS.items():
            auth = f' {ap} "{ak}"' if ap else ""
            priv = f' {pp} "{pk}"' if pp else ""
            lines.append(f"createUser {user}{auth}{priv}")
            lines.append(f"rouser {user} {'priv' if pp else 'auth' if ap else 'noauth'}")
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        """Run snmpd in the foreground as a child; wait until it answers."""
        persist = self.root / "persist"
        persist.mkdir(parents=True, exist_ok=True)
        conf = self.root / "snmpd.conf"
        conf.write_text(self.config(), encoding="utf-8")
        env = dict(os.environ, SNMP_PERSISTENT_DIR=str(persist), SNMPCONFPATH=str(self.root), MIBS="")
        log = open(self.root / "snmpd.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen([SNMPD, "-f", "-Lo", "-C", "-c", str(conf), "-p", str(self.root / "pid"),
                                      f"udp:127.0.0.1:{self.port}"], stdout=log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        deadline = time.monotonic() + 20
        probe = ("127.0.0.1", self.port, V2_COMMUNITY, "1.3.6.1.2.1.1.3.0", 0.5, 0)
        while run_blocking(snmp_get(*probe)) is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                text = (self.root / "snmpd.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"snmpd did not start on udp/{self.port}:\n{text}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the child."""
        stop_process(self.proc)
        self.proc = None

    def device(self, credential: str, role: str = "dns", **snmp: object) -> Device:
        """A device record pointing at this snmpd with ``credential``."""
        return Device.model_validate({
            "id": f"snmpd-{credential}", "name": f"snmpd {credential}", "site": "s", "role": role,
            "address": "127.0.0.1",
            "snmp": {"credential": credential, "port": self.port, "timeout_s": 1.0, "retries": 0, **snmp}})


@pytest.fixture(scope="session")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    """One snmpd for the session (skipped with the reason when net-snmp is not installed)."""
    if not Path(SNMPD).exists():
        pytest.skip("net-snmp snmpd is not installed (apt-get install snmpd; see deploy/debian-packages.txt)")
    agent = Snmpd(tmp_path_factory.mktemp("snmpd"))
    agent.start()
    yield agent
    agent.stop()
