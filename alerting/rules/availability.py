"""Availability rules: device down, communes cut off behind it, flapping.

Only the root of a failure pages: a down device is one condition carrying the
devices cut off behind it; when those include communes' access routers, one
"communes cut off" summary is added. Unreachable children never get their own.
A flapping device gets one flapping condition instead of repeated down/up.
"""

from __future__ import annotations

from alerting.incidents import Condition, IncidentKind, Severity
from alerting.rules.context import RuleContext
from alerting.states import Status


def device_conditions(ctx: RuleContext) -> list[Condition]:
    """Down (root-cause) devices, their cut-off summaries, and flapping devices."""
    out: list[Condition] = []
    states = ctx.tracker.states
    commune_of_router = {r: c for c, r in ctx.access_routers.items()}
    for dev_id, state in states.items():
        if state.flapping:
            out.append(_flapping(ctx, dev_id))
            continue
        if state.status is not Status.DOWN:
            continue
        dev = ctx.inventory.devices[dev_id]
        behind = _cut_off_behind(ctx, dev_id)
        severity = ctx.rules.device_down_severity.get(dev.role.value, Severity.MAJOR)
        cut_communes = sorted({commune_of_router[d] for d in behind if d in commune_of_router})
        own = [commune_of_router[dev_id]] if dev_id in commune_of_router else []
        communes = sorted(set(cut_communes + own))
        out.append(Condition(
            key=f"device_down:{dev_id}", kind=IncidentKind.DEVICE_DOWN, severity=severity,
            title=f"Mất kết nối: {ctx.place(dev_id)}", why=state.reason or "không trả lời",
            since=state.since, affected=tuple(behind), details={"role": dev.role.value,
                                                                 "communes": communes},
            **ctx.where(dev_id),
        ))
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
    return out


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
