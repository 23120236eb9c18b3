"""DNS probe collector: every question over UDP/TCP × IPv4/IPv6 to one server, concurrently.

Failures are data: each probe carries its own ``error_kind`` (servfail,
refused, timeout, unreachable, malformed); the poll result is ok only when
every probe was answered. SOA serials are remembered per zone and server so a
secondary lagging behind the others shows as ``dns_zone.stale``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from importlib import resources
from pathlib import Path

import yaml

from collectors.base import PollResult
from collectors.dns.probe import ProbeOutcome, probe
from inventory.model import Device, DnsQuery
from store.base import Sample

log = logging.getLogger(__name__)


def load_default_queries(path: Path | None = None) -> tuple[DnsQuery, ...]:
    """The default questions (``queries.yaml``)."""
    path = path or Path(str(resources.files("collectors.dns").joinpath("queries.yaml")))
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return tuple(DnsQuery.model_validate(q) for q in doc.get("queries", []))


class DnsCollector:
    """Probes devices that have a ``dns`` block (zone, questions, per-family addresses)."""

    name = "dns"

    def __init__(self, default_queries: tuple[DnsQuery, ...] | None = None, **_: object) -> None:
        self._default_queries = default_queries if default_queries is not None else load_default_queries()
        self._serials: dict[str, dict[str, int]] = {}  # zone → server device → last SOA serial

    async def poll(self, device: Device, tags: dict[str, str]) -> PollResult:
        """Probe one DNS server; failures come back inside the result, never raised."""
        ts = int(time.time())
        start = time.perf_counter()
        result = PollResult(device=device.id, ok=False, ts=ts)
        spec = device.dns
        if spec is None:
            result.error, result.error_kind = f"{device.id}: device has no DNS probe configured", "protocol"
            return result
        zone = spec.zone if spec.zone.endswith(".") else spec.zone + "."
        servers = self._servers(device)
        transports = ("udp", "tcp") if spec.tcp else ("udp",)
        jobs = [probe(addr, spec.port, family, transport, _qname(q.name, zone), q.type, spec.timeout_s)
                for family, addr in servers.items() for transport in transports
                for q in (spec.queries or self._default_queries)]
        outcomes: list[ProbeOutcome] = await asyncio.gather(*jobs)
        result.samples = [_probe_sample(o, tags, ts) for o in outcomes]
        result.samples += self._zone_samples(device.id, zone, outcomes, tags, ts)
        result.samples.append(_ipv6_sample(servers, outcomes, tags, ts))
        failed = [o for o in outcomes if not o.ok]
        result.ok = not failed
        if failed:
            first = failed[0]
            result.error_kind = first.error_kind
            listed = "; ".join(f"{o.qtype} {o.qname} {o.transport}/{o.family}: {o.error}" for o in failed[:4])
            more = f" (+{len(failed) - 4} more)" if len(failed) > 4 else ""
            result.error = f"{device.id}: {len(failed)}/{len(outcomes)} DNS probes failed: {listed}{more}"
        result.duration_ms = (time.perf_counter() - start) * 1000
        return result

    async def close(self) -> None:
        """Nothing to release: dnspython opens a socket per query."""

    def zone_serials(self, zone: str) -> dict[str, int]:
        """Last SOA serial seen per server of ``zone`` (for views and tests)."""
        return dict(self._serials.get(zone if zone.endswith(".") else zone + ".", {}))

    @staticmethod
    def _servers(device: Device) -> dict[str, str]:
        spec = device.dns
        assert spec is not None
        servers = {}
        if spec.ipv4 is not None:
            servers["ipv4"] = str(spec.ipv4)
        if spec.ipv6 is not None:
            servers["ipv6"] = str(spec.ipv6)
        if not servers:
            servers[f"ipv{device.address.version}"] = str(device.address)
        return servers

    def _zone_samples(self, dev_id: str, zone: str, outcomes: list[ProbeOutcome], tags: dict[str, str],
                      ts: int) -> list[Sample]:
        serials = [o.serial for o in outcomes if o.serial is not None]
        if not serials:
            return []
        serial = max(serials)
        seen = self._serials.setdefault(zone, {})
        seen[dev_id] = serial
        newest = max(seen.values())
        lag = newest - serial
        fields: dict[str, float | int | str | bool] = {
            "serial": serial, "newest_serial": newest, "serial_lag": lag, "stale": lag > 0,
            "servers_seen": len(seen), "consistent_here": len(set(serials)) == 1}
        return [Sample("dns_zone", {**tags, "zone": zone.rstrip(".")}, fields, ts)]


def _qname(name: str, zone: str) -> str:
    if name in ("@", ""):
        return zone
    return name if name.endswith(".") else f"{name}.{zone}"


def _probe_sample(o: ProbeOutcome, tags: dict[str, str], ts: int) -> Sample:
    fields: dict[str, float | int | str | bool] = {"ok": o.ok, "latency_ms": o.latency_ms,
                                                  "answers": o.answers}
    if o.rcode is not None:
        fields["rcode"] = o.rcode
    if o.error_kind is not None:
        fields["error_kind"] = o.error_kind
    if o.serial is not None:
        fields["serial"] = o.serial
    probe_tags = {**tags, "family": o.family, "transport": o.transport, "qtype": o.qtype,
                  "qname": o.qname.rstrip(".")}
    return Sample("dns_probe", probe_tags, fields, ts)


def _ipv6_sample(servers: dict[str, str], outcomes: list[ProbeOutcome], tags: dict[str, str],
                 ts: int) -> Sample:
    """IPv6 readiness: answers AAAA (with data), reachable over IPv6, and both together."""
    answers_aaaa = any(o.ok and o.qtype == "AAAA" and o.answers > 0 for o in outcomes)
    v6 = [o for o in outcomes if o.family == "ipv6"]
    reachable_v6 = bool(v6) and all(o.ok for o in v6)
    return Sample("dns_ipv6", tags, {"answers_aaaa": answers_aaaa, "reachable_ipv6": reachable_v6,
                                     "ipv6_configured": "ipv6" in servers,
                                     "ready": answers_aaaa and reachable_v6}, ts)
