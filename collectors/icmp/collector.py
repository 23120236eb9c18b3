"""Ping one device (IPv4 or IPv6) a few times; RTT and loss become an ``icmp`` sample.

Two engines give the same statistics: fping (:mod:`collectors.icmp.fping`), which
pings a batch of devices from one process, where it is installed; else icmplib,
a socket per ping.
"""

from __future__ import annotations

import logging
import time

from icmplib import async_ping
from icmplib.exceptions import ICMPLibError, SocketPermissionError

from collectors.base import PollResult
from collectors.icmp.fping import FpingBatcher, FpingOptions, FpingUnavailable, fping_binary
from inventory.model import Device
from store.base import Sample

log = logging.getLogger(__name__)
# One fixed 56-byte payload (as ping and fping send): icmplib otherwise draws a random one per
# packet, which was a tenth of a poller's CPU when pinging a national inventory.
PAYLOAD = bytes(range(56))


class IcmpCollector:
    """Echo requests to ``device.address``.

    ``engine``: ``auto`` (fping when installed, else icmplib), ``fping`` or ``icmplib``;
    icmplib's ``privileged=None`` tries unprivileged sockets first. fping that cannot
    ping here (no permission) hands over to icmplib for good, saying so once.
    """

    name = "icmp"

    def __init__(self, count: int = 3, interval_s: float = 0.2, timeout_s: float = 1.0,
                 privileged: bool | None = None, engine: str = "auto", **_: object) -> None:
        """Raises ValueError for an unknown engine or ``fping`` when it is not installed."""
        if engine not in ("auto", "fping", "icmplib"):
            raise ValueError(f"ICMP engine {engine!r}: choose auto, fping or icmplib")
        self.count = count
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.privileged = privileged
        binary = fping_binary() if engine != "icmplib" else None
        if engine == "fping" and binary is None:
            raise ValueError("ICMP engine 'fping': the fping program is not installed (apt install fping)")
        self._fping = (FpingBatcher(binary, FpingOptions(count, interval_s, timeout_s))
                       if binary is not None else None)

    @property
    def engine(self) -> str:
        """The engine in use now."""
        return "fping" if self._fping is not None else "icmplib"

    async def poll(self, device: Device, tags: dict[str, str]) -> PollResult:
        """Ping the device; no reply at all is ``error_kind="no_reply"``, never an exception."""
        ts = int(time.time())
        start = time.perf_counter()
        result = PollResult(device=device.id, ok=False, ts=ts)
        if not device.icmp:
            result.error, result.error_kind = f"{device.id}: ICMP checks are off for this device", "disabled"
            return result
        try:
            host = await self._ping(str(device.address))
        except SocketPermissionError:
            result.error = (f"{device.id}: ICMP sockets not permitted (run as root, grant CAP_NET_RAW or "
                            "widen net.ipv4.ping_group_range)")
            result.error_kind = "permission"
        except ICMPLibError as exc:
            result.error, result.error_kind = f"{device.id}: ping failed: {exc}", "unreachable"
        except OSError as exc:
            result.error = f"{device.id}: ping failed: {exc.strerror or exc}"
            result.error_kind = "unreachable"
        else:
            fields: dict[str, float | int | str | bool] = {
                "sent": host.packets_sent, "received": host.packets_received,
                "loss": round(host.packet_loss, 3)}
            if host.packets_received:
                fields.update(rtt_min_ms=round(host.min_rtt, 3), rtt_avg_ms=round(host.avg_rtt, 3),
                              rtt_max_ms=round(host.max_rtt, 3), jitter_ms=round(host.jitter, 3))
                result.ok = True
            else:
                result.error = f"{device.id}: no echo reply from {device.address} ({host.packets_sent} sent)"
                result.error_kind = "no_reply"
            result.samples = [Sample("icmp", tags, fields, ts)]
        result.duration_ms = (time.perf_counter() - start) * 1000
        return result

    async def _ping(self, address: str):  # type: ignore[no-untyped-def]
        if self._fping is not None:
            try:
                return await self._fping.ping(address)
            except FpingUnavailable as exc:
                log.warning("fping cannot ping here (%s); ICMP goes through icmplib from now on", exc)
                self._fping = None
        kwargs = dict(count=self.count, interval=self.interval_s, timeout=self.timeout_s, payload=PAYLOAD)
        if self.privileged is None:
            try:
                host = await async_ping(address, privileged=False, **kwargs)
                self.privileged = False
                return host
            except SocketPermissionError:
                log.info("unprivileged ICMP not allowed here; using raw sockets")
                self.privileged = True
        return await async_ping(address, privileged=self.privileged, **kwargs)

    async def close(self) -> None:
        """Let fping runs under way finish (icmplib opens a socket per ping: nothing to release)."""
        if self._fping is not None:
            await self._fping.close()
