"""Per-family reachability of dual-stack devices: ICMP and SNMP over IPv4 and over IPv6.

Why: a device with an IPv4 ``address`` and an IPv6 ``address6`` is up as long as
IPv4 answers, so its IPv6 path can be broken for weeks unnoticed — yet the city
plans count IPv6 readiness. This collector pings the device and asks it the
SNMP reachability class once per family and writes one ``family_reachability``
sample per family (tag ``family`` = ``ipv4``/``ipv6``) with the streak of
consecutive failures and since when; the ``ipv6_path_down`` rule reads them.
It never decides a device's up/down state (its plan has ``feeds_state`` off).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Mapping

from collectors.base import PollResult
from collectors.icmp.collector import IcmpCollector
from collectors.snmp.collector import SnmpCollector
from inventory.model import Device
from poller.scheduler import PollPlan
from store.base import Sample

MEASUREMENT = "family_reachability"
FAMILIES = ("ipv4", "ipv6")


def is_dual_stack(device: Device) -> bool:
    """Devices with both an IPv4 and an IPv6 management address and something to check them with."""
    return len(device.families) == 2 and (device.icmp or device.snmp is not None)


def _never(_device: Device) -> bool:
    return False


def family_plans(interval_s: float = 30.0, credentials: Mapping[str, object] | None = None,
                 engine: str = "auto", icmp: Mapping[str, object] | None = None) -> list[PollPlan]:
    """The per-family plan (dual-stack devices only); it only writes samples."""
    options = {"credentials": credentials or {}, "engine": engine, "icmp": dict(icmp or {})}
    return [PollPlan("family", "family", interval_s, options, selector=is_dual_stack, feeds_state=_never)]


class FamilyCollector:
    """Checks each management address of a device on its own: ping and one SNMP request per family."""

    name = "family"

    def __init__(self, credentials: Mapping[str, object] | None = None, engine: str = "auto",
                 icmp: Mapping[str, object] | None = None, **_: object) -> None:
        """One ICMP pinger and one SNMP collector per family (SNMP targets are cached per device)."""
        self._icmp = IcmpCollector(**dict(icmp or {}))  # type: ignore[arg-type]
        self._snmp = {f: SnmpCollector(credentials or {}, classes=["reachability"], engine=engine)
                      for f in FAMILIES}
        self._streaks: dict[tuple[str, str], tuple[int, int]] = {}  # (device, family) → (fails, since)

    async def poll(self, device: Device, tags: dict[str, str]) -> PollResult:
        """Check every family of ``device``; ok when each answered. Never raises for a device problem."""
        ts = int(time.time())
        start = time.perf_counter()
        families = device.families
        checked = await asyncio.gather(*(self._check(device, fam, addr) for fam, addr in families.items()))
        result = PollResult(device=device.id, ok=True, ts=ts)
        failed: list[str] = []
        for (fam, addr), (fields, error) in zip(families.items(), checked, strict=True):
            fails, since = self._streak(device.id, fam, bool(fields["up"]), ts)
            fields.update(fails=fails, down_since=since, address=addr)
            result.samples.append(Sample(MEASUREMENT, {**tags, "family": fam}, fields, ts))
            if not fields["up"]:
                failed.append(f"{fam} {addr}: {error}")
        if failed:
            result.ok = False
            result.error = f"{device.id}: " + "; ".join(failed)
            result.error_kind = "family_unreachable"
        result.duration_ms = (time.perf_counter() - start) * 1000
        return result

    async def _check(self, device: Device, family: str, address: str
                     ) -> tuple[dict[str, float | int | str | bool], str]:
        """Fields of one family's sample and the first error (empty when it answered)."""
        one = device.model_copy(update={"address": ipaddress.ip_address(address), "address6": None})
        jobs = {}
        if device.icmp:
            jobs["icmp"] = self._icmp.poll(one, {})
        if device.snmp is not None:
            jobs["snmp"] = self._snmp[family].poll(one, {})
        answers = dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True))
        fields: dict[str, float | int | str | bool] = {f"{name}_up": int(r.ok) for name, r in answers.items()}
        fields["up"] = int(any(r.ok for r in answers.values()))
        ok = [r.duration_ms for r in answers.values() if r.ok]
        if ok:
            fields["latency_ms"] = round(min(ok), 2)
        errors = [r.error or r.error_kind or "?" for r in answers.values() if not r.ok]
        if errors and not fields["up"]:
            fields["error_kind"] = next(r.error_kind for r in answers.values() if not r.ok) or "unknown"
        return fields, "; ".join(errors)

    def _streak(self, device: str, family: str, up: bool, ts: int) -> tuple[int, int]:
        """Consecutive failures of one family and since when (0, 0 while it answers)."""
        if up:
            self._streaks.pop((device, family), None)
            return 0, 0
        fails, since = self._streaks.get((device, family), (0, ts))
        self._streaks[(device, family)] = (fails + 1, since)
        return fails + 1, since

    async def close(self) -> None:
        """Close the SNMP sockets."""
        for collector in self._snmp.values():
            await collector.close()
