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

from inventory.model import Device
from poller.diagnostics.steps import StepResult


class Transport(Protocol):
    """Runs checked requests of one protocol on one device."""

    protocol: str

    def supports(self, device: Device) -> bool:
        """Whether the device has access configured for this protocol."""

    async def run(self, device: Device, requests: list[str], timeout_s: float) -> list[StepResult]:
        """One result per request, in order; never raises for a device problem."""


def _secret(cred: Any, name: str) -> str | None:
    value = getattr(cred, name, None)
    return value.get_secret_value() if value is not None else None


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
        from netmiko import ConnectHandler
        from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

        assert device.ssh is not None
        access = device.ssh
        timeout = min(timeout_s, access.timeout_s)
        cred = self._credentials.get(access.credential)
        if cred is None:
            return _all_failed("ssh", requests, "auth", f"unknown credential {access.credential!r}")
        password = _secret(cred, "password")
        secret = password
        if access.enable_credential:
            secret = _secret(self._credentials.get(access.enable_credential), "password")
        device_type, enable = self._platforms.get(access.platform, (access.platform, False))
        start = time.perf_counter()
        try:
            conn = ConnectHandler(device_type=device_type, host=str(device.address), port=access.port,
                                  username=cred.username, password=password, secret=secret or "",
                                  key_file=getattr(cred, "key_file", None),
                                  use_keys=bool(getattr(cred, "key_file", None)), allow_agent=False,
                                  conn_timeout=timeout, auth_timeout=timeout, banner_timeout=timeout,
                                  fast_cli=True, ssh_config_file=None)
        except NetmikoAuthenticationException:
            return _all_failed("ssh", requests, "auth", f"SSH login as {cred.username!r} rejected")
        except NetmikoTimeoutException:
            return _all_failed("ssh", requests, "timeout",
                               f"no SSH login on {device.address}:{access.port} within {timeout:.0f}s")
        except Exception as exc:
            return _all_failed("ssh", requests, "unreachable",
                               f"cannot open SSH session to {device.address}:{access.port}: "
                               f"{type(exc).__name__}")
        out: list[StepResult] = []
        try:
            if enable:
                conn.enable()
            for request in requests:
                step = time.perf_counter()
                try:
                    text = str(conn.send_command(request, read_timeout=timeout))
                    out.append(StepResult("ssh", request, True, text, ms=_ms(step)))
                except Exception as exc:  # one command failing must not hide the others' output
                    out.append(StepResult("ssh", request, False, error=f"{type(exc).__name__}: no prompt "
                                          f"back within {timeout:.0f}s", error_kind="timeout", ms=_ms(step)))
                    break
        except Exception as exc:
            out.append(StepResult("ssh", "enable", False, error=f"enable failed: {type(exc).__name__}",
                                  error_kind="auth", ms=_ms(start)))
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
        from ncclient import manager
        from ncclient.operations import RPCError
        from ncclient.transport import AuthenticationError

        assert device.netconf is not None
        access = device.netconf
        timeout = min(timeout_s, access.timeout_s)
        cred = self._credentials.get(access.credential)
        if cred is None:
            return _all_failed("netconf", requests, "auth", f"unknown credential {access.credential!r}")
        try:
            mgr = manager.connect(host=str(device.address), port=access.port, username=cred.username,
                                  password=_secret(cred, "password"),
                                  key_filename=getattr(cred, "key_file", None), timeout=timeout,
                                  hostkey_verify=False, ssh_config=None, allow_agent=False,
                                  look_for_keys=False)
        except AuthenticationError:
            return _all_failed("netconf", requests, "auth", f"NETCONF login as {cred.username!r} rejected")
        except Exception as exc:
            kind = "timeout" if "timed out" in str(exc).lower() else "unreachable"
            return _all_failed("netconf", requests, kind, "cannot open NETCONF session to "
                               f"{device.address}:{access.port}: {type(exc).__name__}")
        mgr.timeout = timeout
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
