"""DNS rules: a server not answering, a stale zone serial, no IPv6 where configured.

They read what the DNS collector stored (``dns_probe``, ``dns_zone``,
``dns_ipv6``) and ignore readings older than ``dns_fresh_s`` so a collector
that stopped never keeps an incident alive. A server that is down as a device
is the availability rule's business.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from alerting.incidents import Condition, IncidentKind, Severity
from alerting.rules.context import RuleContext
from alerting.states import FAILED

FRESH_S = 900
ERROR_VI = {"servfail": "SERVFAIL", "refused": "REFUSED (từ chối)", "timeout": "không trả lời (hết giờ)",
            "unreachable": "không tới được", "malformed": "trả lời sai định dạng"}


def dns_conditions(ctx: RuleContext) -> list[Condition]:
    """Not-answering, stale-serial and no-IPv6 conditions per DNS server."""
    dns_devices = ctx.lookup.dns_servers
    if not dns_devices:
        return []
    fresh = ctx.now - FRESH_S
    live = {d for d in dns_devices if ctx.tracker.states[d].status not in FAILED}
    out: list[Condition] = []
    probes: dict[str, list] = defaultdict(list)
    for point in ctx.store.latest("dns_probe"):
        dev = point.tags.get("device", "")
        if dev in live and point.ts >= fresh:
            probes[dev].append(point)
    for dev_id, points in sorted(probes.items()):
        failed = [p for p in points if not p.fields.get("ok")]
        if failed and len(failed) == len(points):
            kinds = Counter(str(p.fields.get("error_kind") or p.fields.get("rcode") or "?") for p in failed)
            text = ", ".join(f"{ERROR_VI.get(k, k)} ×{n}" for k, n in kinds.most_common())
            out.append(Condition(
                key=f"dns_not_answering:{dev_id}", kind=IncidentKind.DNS_NOT_ANSWERING,
                severity=Severity.CRITICAL, title=f"Máy chủ DNS không phục vụ: {ctx.place(dev_id)}",
                why=f"tất cả {len(points)} truy vấn thử đều lỗi: {text}", since=min(p.ts for p in failed),
                details={"errors": dict(kinds)}, **ctx.where(dev_id)))
    for point in ctx.store.latest("dns_zone"):
        dev_id = point.tags.get("device", "")
        if dev_id in live and point.ts >= fresh and point.fields.get("stale"):
            zone = point.tags.get("zone", "?")
            out.append(Condition(
                key=f"dns_stale_serial:{dev_id}:{zone}", kind=IncidentKind.DNS_STALE_SERIAL,
                severity=Severity.MAJOR, title=f"DNS thứ cấp chưa cập nhật vùng {zone}: {ctx.place(dev_id)}",
                why=f"serial SOA {point.fields.get('serial')} cũ hơn {point.fields.get('newest_serial')} "
                    "trên máy chủ khác của cùng vùng",
                since=point.ts, details={"zone": zone, "serial": point.fields.get("serial"),
                                         "newest_serial": point.fields.get("newest_serial")},
                **ctx.where(dev_id)))
    for point in ctx.store.latest("dns_ipv6"):
        dev_id = point.tags.get("device", "")
        f = point.fields
        if dev_id in live and point.ts >= fresh and f.get("ipv6_configured") and not f.get("ready"):
            missing = [t for t, ok in (("không trả lời AAAA", f.get("answers_aaaa")),
                                       ("không tới được qua IPv6", f.get("reachable_ipv6"))) if not ok]
            out.append(Condition(
                key=f"dns_no_ipv6:{dev_id}", kind=IncidentKind.DNS_NO_IPV6, severity=Severity.WARNING,
                title=f"DNS chưa sẵn sàng IPv6: {ctx.place(dev_id)}", why="; ".join(missing),
                since=point.ts, details={k: f.get(k) for k in ("answers_aaaa", "reachable_ipv6")},
                **ctx.where(dev_id)))
    return out
