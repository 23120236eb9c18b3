"""Turn domain records into API shapes (pure functions, easy to test)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from alerting.incidents import SEVERITY_VI, Incident
from alerting.maintenance import MaintenanceWindow
from alerting.notify.delivery import NO_CHANNEL, PostDelivery
from api.auth.roles import Principal
from api.context import ApiContext
from api.incident_text import final_title
from api.schemas import (
    ContactOut,
    DeliveryOut,
    DeviceOut,
    IncidentDetailOut,
    IncidentEventOut,
    IncidentOut,
    LinkOut,
    MaintenanceOut,
    PollerOut,
    SiteOut,
    TyphoonOut,
)
from common.timefmt import local_time


def local_text(ts: int, tz: ZoneInfo) -> str:
    """Epoch seconds → 'HH:MM:SS dd/mm/yyyy' in local time (people read local time)."""
    return local_time(ts, tz, "datetime_s")


def utc_iso(ts: int) -> str:
    """Epoch seconds → ISO-8601 UTC (machines read UTC)."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _opt_utc(ts: int | None) -> str | None:
    return utc_iso(ts) if ts else None


def device(ctx: ApiContext, dev_id: str) -> DeviceOut:
    """One device with its current state."""
    inv = ctx.inventory
    dev, state = inv.devices[dev_id], ctx.tracker.states[dev_id]
    return DeviceOut(
        id=dev.id,
        name=dev.name,
        role=dev.role.value,
        site=dev.site,
        commune=inv.sites[dev.site].commune,
        address=str(dev.address),
        operator=dev.operator,
        hardening_level=dev.hardening_level,
        parents=list(dev.parents),
        status=state.status.value,
        since_utc=utc_iso(state.since) if state.since else None,
        since_local=local_text(state.since, ctx.timezone) if state.since else None,
        reason=state.reason,
    )


def devices(
    ctx: ApiContext,
    ids: list[str],
    status: str | None = None,
    role: str | None = None,
    site: str | None = None,
) -> list[DeviceOut]:
    """Devices among ``ids`` matching the filters."""
    inv, states = ctx.inventory, ctx.tracker.states
    return [
        device(ctx, d)
        for d in ids
        if (status is None or states[d].status.value == status)
        and (role is None or inv.devices[d].role.value == role)
        and (site is None or inv.devices[d].site == site)
    ]


def site(ctx: ApiContext, site_id: str) -> SiteOut:
    """One site with its device ids."""
    s = ctx.inventory.sites[site_id]
    ids = [d.id for d in ctx.inventory.devices.values() if d.site == site_id]
    return SiteOut(
        id=s.id, name=s.name, kind=s.kind.value, commune=s.commune, lat=s.lat, lon=s.lon, devices=ids
    )


def links(ctx: ApiContext, commune: str) -> list[LinkOut]:
    """A commune's uplinks with their states."""
    tracker = ctx.alerting.tracker if ctx.alerting is not None else None
    return [
        LinkOut(
            id=link.id,
            device=link.device,
            if_index=link.if_index,
            kind=link.kind.value,
            medium=link.medium.value,
            operator=link.operator,
            status=tracker.links[link.id].status.value if tracker else "unknown",
        )
        for link in ctx.inventory.links.values()
        if link.commune == commune
    ]


def contacts(ctx: ApiContext, commune: str) -> tuple[str | None, list[ContactOut]]:
    """A commune's command post and its contacts."""
    entry = ctx.inventory.communes.get(commune)
    if entry is None:
        return None, []
    return entry.command_post, [
        ContactOut(name=c.name, role=c.role, phone=c.phone, email=c.email) for c in entry.contacts
    ]


def incident(inc: Incident, tz: ZoneInfo) -> IncidentOut:
    """An incident without its timeline."""
    return IncidentOut(**_incident_fields(inc, tz))


def incident_detail(
    inc: Incident, tz: ZoneInfo, deliveries: Sequence[PostDelivery] = ()
) -> IncidentDetailOut:
    """An incident with its timeline and what notify did for it."""
    events = [
        IncidentEventOut(
            ts_utc=utc_iso(e.ts), ts_local=local_text(e.ts, tz), kind=e.kind, text=e.text, actor=e.actor
        )
        for e in inc.events
    ]
    return IncidentDetailOut(
        **_incident_fields(inc, tz),
        events=events,
        deliveries=[delivery(d, tz) for d in deliveries],
        undelivered_posts=[d.post_name for d in deliveries if d.status == NO_CHANNEL],
    )


def delivery(d: PostDelivery, tz: ZoneInfo) -> DeliveryOut:
    """One message's delivery for the API and the incident page."""
    return DeliveryOut(
        post=d.post,
        post_name=d.post_name,
        contact=d.contact,
        status=d.status,
        status_label=d.status_vi,
        about=d.about,
        channel=d.channel,
        channels=[t.channel for t in d.chain],
        failed_channels=[t.channel for t in d.chain if t.outcome == "failed"],
        at_utc=_opt_utc(d.at),
        at_local=local_text(d.at, tz) if d.at else None,
        next_attempt_local=local_text(d.next_attempt_at, tz) if d.next_attempt_at else None,
        attempts=d.attempts,
        error=d.error,
    )


def _incident_fields(inc: Incident, tz: ZoneInfo) -> dict[str, Any]:
    return dict(
        id=inc.id,
        key=inc.key,
        kind=inc.kind.value,
        severity=int(inc.severity),
        severity_label=SEVERITY_VI[inc.severity],
        status=inc.status.value,
        title=inc.title,
        why=inc.why,
        runbook=inc.runbook,
        commune=inc.commune,
        site=inc.site,
        device=inc.device,
        affected=list(inc.affected),
        details=inc.details,
        opened_utc=utc_iso(inc.opened_at),
        opened_local=local_text(inc.opened_at, tz),
        updated_utc=utc_iso(inc.updated_at),
        resolved_utc=_opt_utc(inc.resolved_at),
        acked_by=inc.acked_by,
        acked_utc=_opt_utc(inc.acked_at),
        ack_comment=inc.ack_comment,
        resolved_local=local_text(inc.resolved_at, tz) if inc.resolved_at else None,
        duration_s=inc.resolved_at - inc.opened_at if inc.resolved_at else None,
        title_shown=(final_title(inc.kind.value, inc.title, inc.resolved_at, tz) if inc.resolved_at
                     else inc.title),
    )


def maintenance(w: MaintenanceWindow, tz: ZoneInfo, now: int | None = None) -> MaintenanceOut:
    """A maintenance window for the API."""
    now = now or int(time.time())
    return MaintenanceOut(
        id=w.id,
        scope=w.scope,
        target=w.target,
        starts_utc=utc_iso(w.starts_at),
        starts_local=local_text(w.starts_at, tz),
        ends_utc=_opt_utc(w.ends_at),
        ends_local=local_text(w.ends_at, tz) if w.ends_at else None,
        recurrence=w.recurrence,
        reason=w.reason,
        created_by=w.created_by,
        cancelled_utc=_opt_utc(w.cancelled_at),
        active=w.active(now, tz),
    )


def poller(ctx: ApiContext) -> PollerOut:
    """The last cycle's self-metrics (empty before the first cycle)."""
    last = ctx.cycle.last
    spool = getattr(ctx.store, "spool_depth", None)  # a spooling store exposes its backlog
    spool_n = spool() if callable(spool) else None
    if last is None:
        return PollerOut(
            started_utc=None, duration_s=None, devices=0, ok=0, errors={}, late=False, spool=spool_n
        )
    return PollerOut(
        started_utc=utc_iso(last.started),
        duration_s=round(last.duration_s, 3),
        devices=last.devices,
        ok=last.ok,
        errors=last.errors,
        late=last.late,
        late_polls=getattr(last, "late_polls", 0),
        timeouts=getattr(last, "timeouts", 0),
        spool=spool_n,
    )


def current_typhoon(ctx: ApiContext, who: Principal | None = None) -> TyphoonOut | None:
    """Typhoon mode as ``alerting/notify`` exposes it through ``ctx.typhoon``, or None in normal times.

    A commune-scoped ``who`` sees the declared communes within its scope only, and no network-wide digest.
    """
    data = ctx.typhoon.current() if ctx.typhoon is not None else None
    if not data:
        return None
    declared = data.get("declared_at")
    return TyphoonOut(
        name=str(data.get("name", "")),
        communes=[str(c) for c in data.get("communes", ()) if who is None or who.sees(str(c))],
        declared_local=local_text(int(declared), ctx.timezone) if declared else None,
        digest=data.get("digest") if who is None or who.communes is None else None,  # network-wide text
    )
