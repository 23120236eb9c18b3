"""IPv6 rules and indicators: an IPv6 path down while IPv4 works; the network's IPv6 readiness.

The rule reads the per-family samples of dual-stack devices
(``family_reachability``, written by :mod:`poller.families`): when a device's
IPv6 address failed ``FAILS_TO_RAISE`` polls in a row while its IPv4 address
answers, the IPv6 path is down — an incident of its own, since the device is
up as a whole. Readings older than ``FRESH_S`` are ignored; a device that is
down or unreachable is the availability rule's business.

:func:`ipv6_readiness` gives the indicators the reports show (city plans:
"IPv6-only ready"): the share of devices managed over IPv6 and of DNS servers
answering over IPv6 and with AAAA records (``dns_ipv6`` samples).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from alerting.incidents import Condition, IncidentKind, Severity
from alerting.rules.context import RuleContext
from alerting.states import FAILED
from inventory.inventory import Inventory
from store.base import MetricStore, Point

FRESH_S = 300
FAILS_TO_RAISE = 2  # consecutive failed IPv6 checks before the incident opens
MEASUREMENT = "family_reachability"
CHECK_VI = {"icmp_up": "ping ICMPv6", "snmp_up": "SNMP"}


def family_points(store: MetricStore, now: int, fresh_s: int = FRESH_S) -> dict[str, dict[str, Point]]:
    """Newest fresh ``family_reachability`` point per device and family (``ipv4``/``ipv6``)."""
    out: dict[str, dict[str, Point]] = defaultdict(dict)
    for point in store.latest(MEASUREMENT):
        dev, family = point.tags.get("device", ""), point.tags.get("family", "")
        if dev and family and point.ts >= now - fresh_s:
            out[dev][family] = point
    return dict(out)


def family_state(store: MetricStore, now: int) -> dict[str, dict[str, dict[str, object]]]:
    """Per-family reachability of dual-stack devices, for the API and dashboard.

    ``{device: {"ipv4": {"up": True, "address": …, "latency_ms": …, "fails": 0, "since": None,
    "ts": …}, "ipv6": {…}}}``; ``since`` is when a failing family stopped answering.
    """
    out: dict[str, dict[str, dict[str, object]]] = {}
    for dev, families in family_points(store, now).items():
        out[dev] = {fam: {"up": bool(p.fields.get("up")), "address": p.fields.get("address"),
                          "latency_ms": p.fields.get("latency_ms"), "fails": int(p.fields.get("fails") or 0),
                          "since": int(p.fields.get("down_since") or 0) or None, "ts": p.ts,
                          **{k: bool(p.fields[k]) for k in CHECK_VI if k in p.fields}}
                    for fam, p in families.items()}
    return out


def ipv6_path_conditions(ctx: RuleContext) -> list[Condition]:
    """One ``ipv6_path_down`` condition per live dual-stack device whose IPv6 fails while IPv4 answers."""
    out: list[Condition] = []
    for dev_id, families in sorted(family_points(ctx.store, ctx.now).items()):
        v4, v6 = families.get("ipv4"), families.get("ipv6")
        state = ctx.tracker.states.get(dev_id)
        if v4 is None or v6 is None or dev_id not in ctx.inventory.devices:
            continue
        if state is not None and state.status in FAILED:
            continue
        fails = int(v6.fields.get("fails") or 0)
        if not v4.fields.get("up") or v6.fields.get("up") or fails < FAILS_TO_RAISE:
            continue
        checks = [name for key, name in CHECK_VI.items() if key in v6.fields]
        out.append(Condition(
            key=f"ipv6_path_down:{dev_id}", kind=IncidentKind.IPV6_PATH_DOWN, severity=Severity.WARNING,
            title=f"Mất đường IPv6: {ctx.place(dev_id)}",
            why=f"địa chỉ IPv6 {v6.fields.get('address')} không trả lời {' và '.join(checks) or 'kiểm tra'} "
                f"{fails} lần liên tiếp; IPv4 {v4.fields.get('address')} vẫn trả lời",
            since=int(v6.fields.get("down_since") or v6.ts),
            details={"ipv4": v4.fields.get("address"), "ipv6": v6.fields.get("address"), "fails": fails,
                     "error_kind": v6.fields.get("error_kind")},
            **ctx.where(dev_id)))
    return out


@dataclass(frozen=True, slots=True)
class Ipv6Readiness:
    """IPv6 readiness indicators of the watched network (shares are 0–1; None when nothing to count)."""

    devices: int
    managed_ipv6: int  # devices with an IPv6 management address (address or address6)
    ipv6_only: int  # devices managed over IPv6 alone
    dual_stack_ipv6_up: int  # dual-stack devices whose IPv6 path answers now
    dual_stack: int
    dns_servers: int  # DNS servers with a fresh dns_ipv6 reading
    dns_reachable_ipv6: int
    dns_answers_aaaa: int
    dns_ready: int  # both: reachable over IPv6 and answering AAAA

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    @property
    def share_managed_ipv6(self) -> float | None:
        """Share of devices that can be managed over IPv6."""
        return self._share(self.managed_ipv6, self.devices)

    @property
    def share_dns_ready(self) -> float | None:
        """Share of DNS servers answering over IPv6 and with AAAA records."""
        return self._share(self.dns_ready, self.dns_servers)

    def as_dict(self) -> dict[str, int | float | None]:
        """Counts and shares, for reports and JSON."""
        counts: dict[str, int | float | None] = {k: getattr(self, k) for k in self.__slots__}
        counts.update(share_managed_ipv6=self.share_managed_ipv6, share_dns_ready=self.share_dns_ready,
                      share_dns_reachable_ipv6=self._share(self.dns_reachable_ipv6, self.dns_servers),
                      share_dns_answers_aaaa=self._share(self.dns_answers_aaaa, self.dns_servers),
                      share_dual_stack_ipv6_up=self._share(self.dual_stack_ipv6_up, self.dual_stack))
        return counts


def ipv6_readiness(inventory: Inventory, store: MetricStore, now: int, *, communes: set[str] | None = None,
                   fresh_s: int = 900) -> Ipv6Readiness:
    """Readiness of the whole inventory (or of ``communes``) at ``now`` from inventory and fresh samples."""
    devices = [d for d in inventory.devices.values()
               if communes is None or inventory.sites[d.site].commune in communes]
    ids = {d.id for d in devices}
    families = family_points(store, now, fresh_s)
    dual = [d for d in devices if len(d.families) == 2]
    dns: Mapping[str, Point] = {p.tags.get("device", ""): p for p in store.latest("dns_ipv6")
                                if p.ts >= now - fresh_s and p.tags.get("device") in ids}
    return Ipv6Readiness(
        devices=len(devices),
        managed_ipv6=sum(1 for d in devices if "ipv6" in d.families),
        ipv6_only=sum(1 for d in devices if list(d.families) == ["ipv6"]),
        dual_stack_ipv6_up=sum(1 for d in dual if families.get(d.id, {}).get("ipv6") is not None
                               and families[d.id]["ipv6"].fields.get("up")),
        dual_stack=len(dual),
        dns_servers=len(dns),
        dns_reachable_ipv6=sum(1 for p in dns.values() if p.fields.get("reachable_ipv6")),
        dns_answers_aaaa=sum(1 for p in dns.values() if p.fields.get("answers_aaaa")),
        dns_ready=sum(1 for p in dns.values() if p.fields.get("ready")),
    )
