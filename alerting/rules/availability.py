"""Availability rules: device down, communes cut off behind it, flapping.

Only the root of a failure pages: a down device is one condition carrying the
devices cut off behind it; when those include communes' access routers, one
"communes cut off" summary is added. Unreachable children never get their own.
A flapping device gets one flapping condition instead of repeated down/up.

A device seen down that then becomes unobservable (its parent failed, or no
news) is still known down: its condition stays, saying it can no longer be
watched, and ends only when a good answer is seen.
"""

from __future__ import annotations

from collections.abc import Set

from alerting.incidents import Condition, IncidentKind, Severity
from alerting.rules.context import RuleContext
from alerting.rules.scoped import NOTHING, Findings, ScopedRule
from alerting.states import Status


def device_conditions(ctx: RuleContext) -> list[Condition]:
    """Down (root-cause) devices, their cut-off summaries, and flapping devices."""
    return DEVICE_RULE.whole(ctx)


def device_findings(ctx: RuleContext, dev_id: str) -> Findings:
    """One device's conditions: flapping, or down with what is cut off behind it, or none."""
    state = ctx.tracker.states[dev_id]
    if state.flapping:
        return Findings((_flapping(ctx, dev_id),), exact=True)  # its ``since`` is the evaluation's now
    if not state.known_down:
        return NOTHING
    commune_of_router = ctx.lookup.commune_of_router
    dev = ctx.inventory.devices[dev_id]
    behind = _cut_off_behind(ctx, dev_id)
    severity = ctx.rules.device_down_severity.get(dev.role.value, Severity.MAJOR)
    cut_communes = sorted({commune_of_router[d] for d in behind if d in commune_of_router})
    own = [commune_of_router[dev_id]] if dev_id in commune_of_router else []
    communes = sorted(set(cut_communes + own))
    out = [Condition(
        key=f"device_down:{dev_id}", kind=IncidentKind.DEVICE_DOWN, severity=severity,
        title=f"Mất kết nối: {ctx.place(dev_id)}", why=_why_down(ctx, dev_id),
        since=state.known_since or state.since, affected=tuple(behind),
        details={"role": dev.role.value, "communes": communes,
                 "observable": state.status is Status.DOWN},
        **ctx.where(dev_id),
    )]
    if cut_communes:
        names = ", ".join(ctx.inventory.commune_ref(c).name for c in cut_communes[:5])
        more = f" và {len(cut_communes) - 5} xã khác" if len(cut_communes) > 5 else ""
        out.append(Condition(
            key=f"communes_cut_off:{dev_id}", kind=IncidentKind.COMMUNES_CUT_OFF,
            severity=Severity.CRITICAL,
            title=f"{len(cut_communes)} xã/phường mất kết nối do {dev.name} hỏng",
            why=f"thiết bị cha {dev_id} không hoạt động; các xã phía sau không liên lạc được: "
                f"{names}{more}",
            since=state.since, affected=tuple(cut_communes),
            details={"root": dev_id, "communes": cut_communes}, **ctx.where(dev_id),
        ))
    return Findings(tuple(out))


def _devices(ctx: RuleContext) -> list[str]:
    return list(ctx.tracker.states)


def _affected_devices(ctx: RuleContext, devices: Set[str], links: Set[str]) -> set[str]:
    """A changed device, everything above it (its state is in their cut-off lists) and its children
    (their "why" names failed parents)."""
    ancestors, children = ctx.lookup.ancestors, ctx.inventory.children
    out: set[str] = set()
    for dev_id in devices:
        out.add(dev_id)
        out |= ancestors[dev_id]
        out.update(children[dev_id])
    return out


DEVICE_RULE = ScopedRule("device_conditions", _devices, _affected_devices, device_findings)


def _why_down(ctx: RuleContext, dev_id: str) -> str:
    """Why a device counts as down: its own silence, or its last known state when unobservable."""
    state = ctx.tracker.states[dev_id]
    if state.status is Status.DOWN:
        return state.reason or "không trả lời"
    if state.status is Status.UNREACHABLE:
        failed = [p for p in ctx.inventory.devices[dev_id].parents
                  if ctx.tracker.states[p].status in (Status.DOWN, Status.UNREACHABLE)]
        above = ", ".join(ctx.inventory.devices[p].name for p in failed) or "thiết bị phía trên"
        return f"không còn theo dõi được: phía trên là {above} đang hỏng (lần cuối thấy mất kết nối)"
    return f"không còn theo dõi được: {state.reason} (lần cuối thấy mất kết nối)"


def _cut_off_behind(ctx: RuleContext, dev_id: str) -> list[str]:
    """Unreachable devices whose failure traces back to ``dev_id``."""
    out: list[str] = []
    stack = list(ctx.inventory.children[dev_id])
    seen: set[str] = set()
    while stack:
        child = stack.pop()
        if child in seen:
            continue
        seen.add(child)
        if ctx.tracker.states[child].status is Status.UNREACHABLE:
            out.append(child)
            stack.extend(ctx.inventory.children[child])
    return sorted(out)


def _flapping(ctx: RuleContext, dev_id: str) -> Condition:
    return Condition(
        key=f"flapping:{dev_id}", kind=IncidentKind.FLAPPING, severity=Severity.WARNING,
        title=f"Chập chờn: {ctx.place(dev_id)}",
        why="trạng thái thay đổi liên tục (phát hiện dao động, kiểu Icinga)",
        since=ctx.now, **ctx.where(dev_id),
    )
