"""Checks per second of the NETCONF, SSH CLI, DNS and ICMP collectors against real local peers.

Starts its own peers on loopback (NETCONF server, fakenos Cisco IOS devices,
nsd), polls them for a short fixed time with bounded concurrency, and prints
one line per collector (Trucban's rate beside the peer's CPU time) and last:

    collectors netconf_per_s=A ssh_per_s=B dns_per_s=C icmp_per_s=D

A "check" is one full poll of one device (NETCONF: interfaces + hardware +
alarms gets; SSH: show version + show interfaces; DNS: 4 questions over
UDP/TCP × IPv4/IPv6 = 16 queries; ICMP: 3 echo requests).
Run: ``python -m bench.collectors [--seconds 3] [--devices 8]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable

from pydantic import SecretStr

from collectors.base import PollResult
from collectors.dns.collector import DnsCollector
from collectors.icmp.collector import IcmpCollector
from collectors.netconf.collector import NetconfCollector
from collectors.ssh.collector import SshCollector
from inventory.credentials import Login
from inventory.model import Device
from tests.functional.collector_peers import (
    CLI_PASSWORD,
    CLI_USER,
    NC_PASSWORD,
    NC_USER,
    ZONE,
    FakenosPeer,
    NetconfPeer,
    NsdPeer,
)

CREDS = {"nc": Login(kind="login", username=NC_USER, password=SecretStr(NC_PASSWORD)),
         "cli": Login(kind="login", username=CLI_USER, password=SecretStr(CLI_PASSWORD))}


def _device(dev_id: str, **blocks: object) -> Device:
    return Device.model_validate({"id": dev_id, "name": dev_id, "site": "bench", "role": "router",
                                  "address": "127.0.0.1", **blocks})


def _peer_cpu_s(pid: int | None) -> float:
    """User+system CPU seconds of a peer process and its direct children (nsd forks), from /proc."""
    if pid is None:
        return 0.0
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def _measure(name: str, poll: Callable[[Device], Awaitable[PollResult]], devices: list[Device],
                   seconds: float, peer_pid: int | None) -> float:
    """Poll every device in a loop (one in flight per device) for ``seconds``; checks/s."""
    for dev in devices:  # warm up: open sessions, settle socket kind
        first = await poll(dev)
        if not first.ok:
            raise RuntimeError(f"{name}: warm-up poll of {dev.id} failed: {first.error}")
    done, failed = 0, 0
    cpu0, t0 = _peer_cpu_s(peer_pid), time.perf_counter()
    deadline = t0 + seconds

    async def loop(dev: Device) -> None:
        nonlocal done, failed
        while time.perf_counter() < deadline:
            result = await poll(dev)
            done += 1
            failed += not result.ok

    await asyncio.gather(*(loop(d) for d in devices))
    elapsed = time.perf_counter() - t0
    rate = done / elapsed
    peer = f", peer CPU {(_peer_cpu_s(peer_pid) - cpu0) / elapsed * 100:.0f}%" if peer_pid else ""
    print(f"{name}: {done} checks in {elapsed:.1f}s over {len(devices)} devices = {rate:.1f}/s, "
          f"{failed} failed{peer}", flush=True)
    return rate


async def run(seconds: float, devices: int) -> dict[str, float]:
    """Start the peers, measure each collector, stop everything."""
    rates: dict[str, float] = {}
    tags = {"province": "31", "commune": "11311", "site": "bench", "device": "x", "role": "router"}

    nc_peer = NetconfPeer().start()
    nc = NetconfCollector(CREDS)
    try:
        devs = [_device(f"nc{i}", netconf={"credential": "nc", "port": nc_peer.port}) for i in range(devices)]
        rates["netconf"] = await _measure("netconf", lambda d: nc.poll(d, tags), devs, seconds,
                                          nc_peer.proc.pid if nc_peer.proc else None)
    finally:
        await nc.close()
        nc_peer.stop()

    cli_peer = FakenosPeer(count=min(devices, 4)).start()
    cli = SshCollector(CREDS)
    try:
        devs = [_device(f"cli{i}", ssh={"credential": "cli", "port": p})
                for i, p in enumerate(cli_peer.ports)]
        rates["ssh"] = await _measure("ssh", lambda d: cli.poll(d, tags), devs, seconds,
                                      cli_peer.proc.pid if cli_peer.proc else None)
    finally:
        await cli.close()
        cli_peer.stop()

    nsd = NsdPeer().start()
    dns = DnsCollector()
    try:
        devs = [_device(f"ns{i}", dns={"zone": ZONE, "port": nsd.port, "ipv4": "127.0.0.1", "ipv6": "::1"})
                for i in range(devices)]
        rates["dns"] = await _measure("dns", lambda d: dns.poll(d, tags), devs, seconds,
                                      nsd.proc.pid if nsd.proc else None)
    finally:
        nsd.stop()

    icmp = IcmpCollector(count=3, interval_s=0.0, timeout_s=1.0)
    devs = [Device.model_validate({"id": f"lo{i}", "name": "lo", "site": "bench", "role": "router",
                                   "address": "::1" if i % 2 else "127.0.0.1"}) for i in range(devices)]
    rates["icmp"] = await _measure("icmp (kernel answers)", lambda d: icmp.poll(d, tags), devs, seconds, None)
    return rates


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print the summary line last."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per collector")
    parser.add_argument("--devices", type=int, default=8, help="devices polled concurrently per collector")
    args = parser.parse_args(argv)
    rates = asyncio.run(run(args.seconds, args.devices))
    print(f"collectors netconf_per_s={rates['netconf']:.1f} ssh_per_s={rates['ssh']:.1f} "
          f"dns_per_s={rates['dns']:.1f} icmp_per_s={rates['icmp']:.1f}", flush=True)


if __name__ == "__main__":
    main()
