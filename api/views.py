"""Build API/page views from inventory + states (pure functions, easy to test)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from alerting.summary import STATUS_VI, summarise
from api.context import ApiContext
from api.schemas import CommuneOut, DeviceCounts, DeviceOut, PollerOut


def local_text(ts: int, tz: ZoneInfo) -> str:
    """Epoch seconds → 'dd/mm/yyyy HH:MM:SS' in local time (people read local time)."""
    return datetime.fromtimestamp(ts, tz).strftime("%d/%m/%Y %H:%M:%S")


def utc_iso(ts: int) -> str:
    """Epoch seconds → ISO-8601 UTC (machines read UTC)."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def communes(ctx: ApiContext) -> list[CommuneOut]:
    """Every watched commune with its status."""
    inv = ctx.inventory
    out = []
    for summary in summarise(inv, ctx.tracker.states):
        ref = inv.commune_ref(summary.code)
        out.append(CommuneOut(
            code=ref.code, name=ref.name, kind=ref.kind.value, province_code=ref.province_code,
            lat=ref.lat, lon=ref.lon, status=summary.status.value,
            status_label=STATUS_VI[summary.status], devices=DeviceCounts(**summary.counts),
            problem_devices=list(summary.problems),
        ))
    return out


def devices(ctx: ApiContext, commune: str | None = None, status: str | None = None) -> list[DeviceOut]:
    """Devices with their states, optionally filtered by commune and status."""
    inv = ctx.inventory
    ids = inv.devices_by_commune.get(commune, []) if commune else list(inv.devices)
    out = []
    for dev_id in ids:
        dev, state = inv.devices[dev_id], ctx.tracker.states[dev_id]
        if status and state.status.value != status:
            continue
        out.append(DeviceOut(
            id=dev.id, name=dev.name, role=dev.role.value, site=dev.site,
            commune=inv.sites[dev.site].commune, address=str(dev.address), operator=dev.operator,
            hardening_level=dev.hardening_level, parents=list(dev.parents),
            status=state.status.value,
            since_utc=utc_iso(state.since) if state.since else None,
            since_local=local_text(state.since, ctx.timezone) if state.since else None,
            reason=state.reason,
        ))
    return out


def poller(ctx: ApiContext) -> PollerOut:
    """The last cycle's self-metrics (empty before the first cycle)."""
    last = ctx.cycle.last
    if last is None:
        return PollerOut(started_utc=None, duration_s=None, devices=0, ok=0, errors={}, late=False)
    return PollerOut(started_utc=utc_iso(last.started), duration_s=round(last.duration_s, 3),
                     devices=last.devices, ok=last.ok, errors=last.errors, late=last.late)
