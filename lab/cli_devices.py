"""Legacy SSH-only switches for the demo lab, emulated by ``fakenos`` (Cisco IOS).

Why: old commune equipment often has neither SNMP nor NETCONF, only a CLI;
the demo shows the SSH CLI collector polling such devices. Every switch is a
fakenos host on its own 127.0.0.1 port, answering ``show version``,
``show interfaces`` … as IOS would; a switch staged ``silent`` is stopped
(connection refused) and started again when restored (see :mod:`lab.services`).
"""

from __future__ import annotations

from typing import Any

from fakenos import FakeNOS

HOST = "127.0.0.1"
PLATFORM = "cisco_ios"


class LegacySwitches:
    """fakenos hosts, one per device id, each on its own loopback port."""

    def __init__(self, ports: dict[str, int], username: str, password: str) -> None:
        """Describe every switch; none listens until :meth:`start`."""
        inventory: dict[str, Any] = {
            "default": {
                "username": username, "password": password, "platform": PLATFORM,
                "server": {"plugin": "ParamikoSshServer", "configuration": {"address": HOST, "timeout": 1}},
            },
            "hosts": {device: {"port": port, "platform": PLATFORM} for device, port in ports.items()},
        }
        self.ports = dict(ports)
        self._nos = FakeNOS(inventory=inventory)

    def running(self, device: str) -> bool:
        """True while ``device`` accepts SSH logins."""
        return bool(self._nos.hosts[device].running)

    def start(self, device: str) -> None:
        """Start one switch (idempotent)."""
        self._nos.start(hosts=[device])

    def stop(self, device: str | None = None) -> None:
        """Stop one switch, or all of them (idempotent)."""
        self._nos.stop(hosts=[device] if device else None)
