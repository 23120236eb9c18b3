"""How diagnostic steps reach a device: SSH CLI (netmiko), NETCONF <get> (ncclient), DNS (dnspython).

A transport runs a batch of already-checked requests on one device over one
session and closes it: diagnostics are rare, and a short session leaves a
struggling device alone as soon as possible. netmiko and ncclient are
synchronous; they run on the transport's own small thread pool. Errors are
named and never carry credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from common.errors import CollectorError
from inventory.model import Device
from poller.diagnostics.steps import StepResult


class Transport(Protocol):
    """Runs checked requests of one protocol on one device."""

    protocol: str

    def supports(self, device: Device) -> bool:
        """Whether the device has access configured for this protocol."""

    async def run(self, device: Device, requests: list[str], timeout_s: float) -> list[StepResult]:
        """One result per request, in order; never raises for a device problem."""


class _Threaded:
    """A bounded worker pool shared by the synchronous transports' sessions."""

    def __init__(self, workers: int, prefix: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix)

    async def _call(self, fn: Callable[..., list[StepResult]], *args: Any) -> list[StepResult]:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        """Stop the worker pool."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class SshTransport(_Threaded):
    """Show commands over SSH with netmiko (login, ``enable``, commands, logout)."""

    protocol = "ssh"

    def __init__(self, credentials: dict[str, Any], *, workers: int = 2,
                 platforms: dict[str, tuple[str, bool]] | None = None) -> None:
        super().__init__(workers, "diag-ssh")
        self._credentials = credentials
        self._platforms = platforms if platforms is not None else known_platforms()

    def supports(self, device: Device) -> bool:
        """Devices with an ``ssh`` access block."""
        return device.ssh is not None

    async def run(self, device: Device, requests: list[str], timeout_s: float) -> list[StepResult]:
        """Run ``requests`` in one session."""
        return await self._call(self._session, device, requests, timeout_s)

    def _session(self, device: Device, requests: list[str], timeout_s: float) -> list[StepResult]:
        from collectors.ssh.session import open_ssh

        assert device.ssh is not None
        timeout = min(timeout_s, device.ssh.timeout_s)
        device_type, enable = self._platforms.get(device.ssh.platform, (device.ssh.platform, False))
        try:  # the collectors' one login path; its errors say which kind of failure it was
            conn = open_ssh(device, self._credentials, device_type, enable=enable, timeout_s=timeout)
        except CollectorError as exc:
            return _all_failed("ssh", requests, exc.kind, str(exc))
        out: list[StepResult] = []
        try:
            for request in requests:
                step = time.perf_counter()
                try:
                    text = str(conn.send_command(request, read_timeout=timeout))
                    out.append(StepResult("ssh", request, True, text, ms=_ms(step)))
                except Exception as exc:  # one command failing must not hide the others' output
                    out.append(StepResult("ssh", request, False, error=f"{type(exc).__name__}: no prompt "
                                          f"back within {timeout:.0f}s", error_kind="timeout", ms=_ms(step)))
                    break
        finally:
            with contextlib.suppress(Exception):  # logging out is best effort
                conn.disconnect()
        done = {r.request for r in out}
        out += [StepResult("ssh", r, False, error="not run: session ended early", error_kind="skipped")
                for r in requests if r not in done]
        return out


class NetconfTransport(_Threaded):
    """NETCONF ``<get>`` with allow-listed subtree filters (ncclient); nothing else is ever sent."""

    protocol = "netconf"

    def __init__(self, credentials: dict[str, Any], filters: dict[str, str], *, workers: int = 2) -> None:
        super().__init__(workers, "diag-netconf")
        self._credentials = credentials
        self._filters = filters

    def supports(self, device: Device) -> bool:
        """Devices with a ``netconf`` access block."""
        return device.netconf is not None

    async def run(self, device: Device, requests: list[str], timeout_s: float) -> list[StepResult]:
        """One ``<get>`` per named filter in one session."""
        return await self._call(self._session, device, requests, timeout_s)

    def _session(self, device: Device, requests: list[str], timeout_s: float) -> list[StepResult]:
        from lxml import etree
        from ncclient.operations import RPCError

        from collectors.netconf.session import open_netconf

        assert device.netconf is not None
        try:  # the collectors' one session path; its errors say which kind of failure it was
            mgr = open_netconf(device, self._credentials, timeout_s=min(timeout_s, device.netconf.timeout_s))
        except CollectorError as exc:
            return _all_failed("netconf", requests, exc.kind, str(exc))
        out: list[StepResult] = []
        try:
            for name in requests:
                step = time.perf_counter()
                try:
                    reply = mgr.get(filter=("subtree", self._filters[name]))
                    root = reply.data_ele if reply.data_ele is not None else etree.fromstring(
                        reply.data_xml.encode())
                    text = etree.tostring(root, pretty_print=True, encoding="unicode")
                    out.append(StepResult("netconf", name, True, text, ms=_ms(step)))
                except RPCError as exc:
                    out.append(StepResult("netconf", name, False, error=f"rpc-error {exc.tag}: {exc.message}",
                                          error_kind="rpc_error", ms=_ms(step)))
                except Exception as exc:
                    out.append(StepResult("netconf", name, False, error=type(exc).__name__,
                                          error_kind="unreachable", ms=_ms(step)))
        finally:
            with contextlib.suppress(Exception):  # closing is best effort
                mgr.close_session()
        return out


class DnsTransport:
    """DNS questions to the server's IPv4 and IPv6 addresses (the two vantage points), UDP then TCP."""

    protocol = "dns"

    def __init__(self, peers: dict[str, list[Device]] | None = None) -> None:
        self._peers = peers or {}  # zone → every DNS server of that zone (to compare SOA serials)

    def supports(self, device: Device) -> bool:
        """Devices with a ``dns`` probe block."""
        return device.dns is not None

    async def run(self, device: Device, requests: list[str], timeout_s: float) -> list[StepResult]:
        """Each request ("SOA @") over every address family of the server."""
        from collectors.dns.probe import probe

        assert device.dns is not None
        spec = device.dns
        zone = spec.zone.rstrip(".") + "."
        servers = [("IPv4", str(spec.ipv4))] if spec.ipv4 else []
        servers += [("IPv6", str(spec.ipv6))] if spec.ipv6 else []
        servers = servers or [("IPv6" if device.address.version == 6 else "IPv4", str(device.address))]
        out: list[StepResult] = []
        for request in requests:
            qtype, name = request.split(" ", 1)
            qname = zone if name == "@" else f"{name}.{zone}"
            start = time.perf_counter()
            lines, ok = [], False
            for family, address in servers:
                for transport in ("udp", "tcp") if spec.tcp else ("udp",):
                    res = await probe(address, spec.port, family.lower(), transport, qname, qtype,
                                      min(timeout_s, spec.timeout_s))
                    ok = ok or res.ok
                    lines.append(f"{family} {address} {transport.upper()}: {qtype} {qname} → "
                                 + (f"{res.rcode}, {res.answers} bản ghi"
                                    + (f", serial {res.serial}" if res.serial is not None else "")
                                    if res.ok else f"LỖI {res.error_kind}: {res.error}")
                                 + f" ({res.latency_ms:.1f} ms)")
            if qtype == "SOA":
                lines += await self._peer_serials(device, zone, timeout_s)
            out.append(StepResult("dns", request, ok, "\n".join(lines), None if ok else "no family answered",
                                  None if ok else "no_answer", _ms(start)))
        return out

    async def _peer_serials(self, device: Device, zone: str, timeout_s: float) -> list[str]:
        from collectors.dns.probe import probe

        lines = []
        for peer in self._peers.get(zone, [])[:4]:
            if peer.id == device.id or peer.dns is None:
                continue
            address = str(peer.dns.ipv4 or peer.dns.ipv6 or peer.address)
            res = await probe(address, peer.dns.port, "ipv4", "udp", zone, "SOA",
                              min(timeout_s, peer.dns.timeout_s))
            lines.append(f"so sánh: {peer.id} {address}: " + (f"serial {res.serial}" if res.ok
                                                                else f"LỖI {res.error_kind}"))
        return lines

    def close(self) -> None:
        """Nothing to release."""


def known_platforms() -> dict[str, tuple[str, bool]]:
    """CLI platform → (netmiko device type, whether to ``enable``), from the SSH collector's platforms."""
    from collectors.ssh.platforms import load_platforms

    out = {"huawei_vrp": ("huawei", False), "juniper_junos": ("juniper_junos", False)}
    out.update({name: (p.device_type, p.enable) for name, p in load_platforms().items()})
    return out


def _all_failed(protocol: str, requests: list[str], kind: str, error: str) -> list[StepResult]:
    return [StepResult(protocol, r, False, error=error, error_kind=kind) for r in requests]


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
