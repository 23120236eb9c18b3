"""Failover rules (Decision 33/2025's backup-connection plan).

Each commune is *on primary*, *on backup* (which path) or *isolated*. Running
on backup is a low-severity incident that escalates after a configured time;
isolated (every uplink down while the access router still answers) is
critical. A failed access router is the availability rule's business, not
this one's; a flapping link raises one flapping incident instead.

A link whose router cannot be seen keeps its last known state here: a commune
on backup whose router then fails is still on backup (and its router is down),
not "back to normal" — the incident ends only when the primary is seen up.
"""

from __future__ import annotations

from collections.abc import Set

from alerting.incidents import Condition, IncidentKind, Severity
from alerting.rules.context import RuleContext
from alerting.rules.scoped import NOTHING, Findings, ScopedRule
from alerting.states import FAILED, DeviceState, Status
from common.vocab import MEDIUM_VI
from inventory.model import Link, LinkKind


def failover_conditions(ctx: RuleContext) -> list[Condition]:
    """On-backup, isolated and link-flapping conditions for every commune with links."""
    return FAILOVER_RULE.whole(ctx)


def commune_findings(ctx: RuleContext, commune: str) -> Findings:
    """One commune's failover conditions: its flapping links, else on backup or isolated, else none."""
    links = ctx.lookup.links_by_commune[commune]
    states = {link.id: ctx.tracker.links[link.id] for link in links}
    flapping = [link for link in links if states[link.id].flapping]
    if flapping:  # a flapping condition's ``since`` is the evaluation's now
        return Findings(tuple(_link_flapping(ctx, link, states[link.id]) for link in flapping), exact=True)
    return _commune_condition(ctx, commune, links, states)


def _communes(ctx: RuleContext) -> list[str]:
    return sorted(ctx.lookup.links_by_commune)


def _affected_communes(ctx: RuleContext, devices: Set[str], links: Set[str]) -> set[str]:
    """The communes of changed links (the rule reads link states only)."""
    return {ctx.inventory.links[link_id].commune for link_id in links}


FAILOVER_RULE = ScopedRule("failover_conditions", _communes, _affected_communes, commune_findings)


def commune_connectivity(ctx: RuleContext, commune: str) -> str:
    """'primary', 'backup:<medium>', 'isolated' or 'unknown' for one commune."""
    links = [link for link in ctx.inventory.links.values() if link.commune == commune]
    if links and all(ctx.tracker.states[link.device].status in FAILED for link in links):
        return "isolated"
    states = {link.id: ctx.tracker.links[link.id] for link in links}
    return _connectivity(links, states)


def _seen(state: DeviceState) -> Status:
    """A link's status, or its last observed one while it cannot be seen."""
    return state.known if state.status is Status.UNKNOWN else state.status


def _connectivity(links: list[Link], states: dict[str, DeviceState]) -> str:
    seen = {link.id: _seen(states[link.id]) for link in links}
    if not links or all(seen[link.id] is Status.UNKNOWN for link in links):
        return "unknown"
    if any(link.kind is LinkKind.PRIMARY and seen[link.id] is Status.UP for link in links):
        return "primary"
    backups = [link for link in links if link.kind is LinkKind.BACKUP and seen[link.id] is Status.UP]
    if backups:
        return f"backup:{backups[0].medium.value}"
    return "isolated"


def _commune_condition(ctx: RuleContext, commune: str, links: list[Link],
                       states: dict[str, DeviceState]) -> Findings:
    mode = _connectivity(links, states)
    name = ctx.inventory.commune_ref(commune).name
    primary = [link for link in links if link.kind is LinkKind.PRIMARY]
    device = (primary or links)[0].device
    where = ctx.where(device)
    unseen = all(states[link.id].status is Status.UNKNOWN for link in links)
    if mode.startswith("backup:"):
        medium = mode.split(":", 1)[1]
        since = min(_since(states[link.id]) for link in primary) if primary else ctx.now
        long_on_backup = ctx.now - since >= ctx.rules.failover.escalate_after_s
        escalates_at = since + ctx.rules.failover.escalate_after_s  # the severity changes then
        cond = Condition(
            key=f"link_on_backup:{commune}", kind=IncidentKind.LINK_ON_BACKUP,
            severity=Severity.WARNING if long_on_backup else Severity.INFO,
            title=f"{name} đang chạy đường dự phòng {MEDIUM_VI.get(medium, medium)}",
            why="đường truyền chính (TSLCD) mất tín hiệu; đã chuyển sang đường dự phòng"
                + (f", quá {ctx.rules.failover.escalate_after_s // 60} phút" if long_on_backup else "")
                + ("; không còn theo dõi được đường truyền (router không trả lời), đây là trạng thái "
                   "lần cuối" if unseen else ""),
            since=since, details={"medium": medium}, **where,
        )
        if not primary:  # ``since`` is the evaluation's now
            return Findings((cond,), exact=True)
        if long_on_backup:
            return Findings((cond,), lo=escalates_at)
        return Findings((cond,), hi=escalates_at)
    if mode == "isolated":
        since = max(_since(states[link.id]) for link in links)
        return Findings((Condition(
            key=f"commune_isolated:{commune}", kind=IncidentKind.COMMUNE_ISOLATED,
            severity=Severity.CRITICAL, title=f"{name} bị cô lập: mất cả đường chính và dự phòng",
            why="tất cả đường truyền của xã đều không hoạt động", since=since,
            affected=tuple(link.id for link in links), **where,
        ),))
    return NOTHING


def _since(state: DeviceState) -> int:
    return state.known_since if state.status is Status.UNKNOWN else state.since


def _link_flapping(ctx: RuleContext, link: Link, state: DeviceState) -> Condition:
    name = ctx.inventory.commune_ref(link.commune).name
    return Condition(
        key=f"flapping:link:{link.id}", kind=IncidentKind.FLAPPING, severity=Severity.WARNING,
        title=f"Đường truyền chập chờn: {link.id} ({name})",
        why=f"đường {MEDIUM_VI.get(link.medium.value, link.medium.value)} đổi trạng thái liên tục",
        since=ctx.now, details={"link": link.id}, **ctx.where(link.device),
    )
