"""The current picture, computed at most once per ``ttl`` and shared by every request.

Commune summaries, the coordinator's per-commune BTS rows and the NOC overview
all come from one pass over inventory, states, the latest UPS readings and the
active incidents. At 200 requests/s on a national inventory, rebuilding per
request would be the bottleneck; a one-second-old picture is as good as new
(devices are polled every 30 s).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from alerting.incidents import SEVERITY_VI, Incident, IncidentKind
from alerting.states import FAILED, Status
from alerting.summary import STATUS_VI, CommuneStatus, summarise
from api.context import ApiContext
from api.schemas import CommuneOut, CoordinatorRow, DeviceCounts, OverviewOut
from inventory.inventory import Inventory
from inventory.model import DeviceRole, Link, LinkKind

UPS_MEASUREMENT = "ups"
ON_BATTERY_SOURCE = 5
UPS_TTL_S = 10.0
T = TypeVar("T")
BTS_VI = {
    "up": "BTS hoạt động",
    "battery": "Đang chạy ắc quy",
    "down": "BTS mất kết nối",
    "isolated": "Xã bị cô lập",
    "unknown": "Chưa có dữ liệu",
    "none": "Không có BTS",
}


@dataclass
class Index:
    """Per-commune lookups computed once per inventory."""

    inventory: Inventory

    @cached_property
    def by_role(self) -> dict[str, dict[DeviceRole, list[str]]]:
        """Device ids per commune and role."""
        out: dict[str, dict[DeviceRole, list[str]]] = {c: {} for c in self.inventory.watched_communes}
        for dev in self.inventory.devices.values():
            out[self.inventory.sites[dev.site].commune].setdefault(dev.role, []).append(dev.id)
        return out

    @cached_property
    def links(self) -> dict[str, list[Link]]:
        """Links per commune."""
        out: dict[str, list[Link]] = {}
        for link in self.inventory.links.values():
            out.setdefault(link.commune, []).append(link)
        return out

    @cached_property
    def position(self) -> dict[str, tuple[float, float]]:
        """Where to draw each commune: its BTS site if it has coordinates, else the reference point."""
        out = {}
        for code in self.inventory.watched_communes:
            ref = self.inventory.commune_ref(code)
            out[code] = (ref.lat, ref.lon)
        for site in self.inventory.sites.values():
            if site.kind.value == "bts_site" and site.lat is not None and site.lon is not None:
                out[site.commune] = (site.lat, site.lon)
        return out


@dataclass
class Picture:
    """One consistent snapshot of what every page and list shows."""

    ts: float
    communes: list[CommuneOut]
    coordinator: list[CoordinatorRow]
    overview: OverviewOut
    active: list[Incident]
    connectivity: dict[str, str] = field(default_factory=dict)
    version: tuple[object, object] = (None, None)


class PictureCache:
    """Rebuilds the picture when it is older than ``ttl`` seconds (one builder at a time)."""

    def __init__(self, ctx: ApiContext, ttl: float = 1.0) -> None:
        self.ctx, self.ttl = ctx, ttl
        self.index = Index(ctx.inventory)
        self.base_ttl = ttl
        self._picture: Picture | None = None
        self._lock = threading.Lock()
        self._ups_at = -1e9
        self._ups_cache: dict = {}
        self.memo: dict[object, object] = {}  # answers derived from the current picture (cleared with it)

    def _ups(self) -> dict:
        """Latest UPS readings, refreshed at most every UPS_TTL_S (UPS is polled far less often)."""
        if time.monotonic() - self._ups_at >= UPS_TTL_S:
            self._ups_cache = {p.tags.get("device"): p.fields for p in self.ctx.store.latest(UPS_MEASUREMENT)}
            self._ups_at = time.monotonic()
        return self._ups_cache

    def remember(self, key: object, make: Callable[[], T]) -> T:
        """A value derived from the current picture, computed once per picture."""
        pic = self.get()
        full = (id(pic), key)
        if full not in self.memo:
            self.memo[full] = make()
        return self.memo[full]  # type: ignore[return-value]

    def version(self) -> tuple[object, object]:
        """Changes whenever the alerting core has evaluated a new cycle (states and incidents moved)."""
        core = self.ctx.alerting
        return (core.last if core is not None else None, self.ctx.cycle.last)

    def fresh(self, pic: Picture | None) -> bool:
        """Whether ``pic`` still shows the current cycle and is younger than the time limit."""
        if pic is None or time.monotonic() - pic.ts >= self.ttl:
            return False
        return all(a is b for a, b in zip(pic.version, self.version(), strict=True))

    def get(self) -> Picture:
        """The current picture. Only the very first call waits for a build; later, a stale picture
        is served while a background thread builds the next one."""
        pic = self._picture
        if self.fresh(pic):
            return pic  # type: ignore[return-value]
        if pic is None:
            with self._lock:
                if self._picture is None:
                    self._build()
            return self._picture  # type: ignore[return-value]
        if self._lock.acquire(blocking=False):
            threading.Thread(target=self._build_in_background, name="picture", daemon=True).start()
        return pic

    def _build_in_background(self) -> None:
        try:
            if not self.fresh(self._picture):
                self._build()
        finally:
            self._lock.release()

    def _build(self) -> None:
        started = time.monotonic()
        version = self.version()
        pic = build_picture(self.ctx, self.index, self._ups())
        pic.version = version
        self._picture = pic
        self.memo.clear()
        # without a new cycle, rebuild only now and then (UPS readings, typhoon banner)
        self.ttl = max(self.base_ttl, 20 * (time.monotonic() - started))

    def invalidate(self) -> None:
        """Mark the picture stale (after a write that changes it); the next read starts a rebuild."""
        pic = self._picture
        if pic is not None:
            pic.version = (object(), object())


def connectivity(links: list[Link], ctx: ApiContext) -> str:
    """'primary', 'backup:<medium>', 'isolated' or 'unknown' (as ``alerting.rules.failover``)."""
    tracker = ctx.alerting.tracker if ctx.alerting is not None else None
    if not links or tracker is None:
        return "unknown"
    if all(tracker.states[link.device].status in FAILED for link in links):
        return "isolated"
    states = {link.id: tracker.links[link.id] for link in links}
    if all(states[link.id].status is Status.UNKNOWN for link in links):
        return "unknown"
    if any(link.kind is LinkKind.PRIMARY and states[link.id].status is Status.UP for link in links):
        return "primary"
    backups = [link for link in links if link.kind is LinkKind.BACKUP and states[link.id].status is Status.UP]
    return f"backup:{backups[0].medium.value}" if backups else "isolated"


def build_picture(ctx: ApiContext, index: Index, ups: dict | None = None) -> Picture:
    """One pass over everything the pages show (``ups``: latest UPS fields by device, else read)."""
    inv, states = ctx.inventory, ctx.tracker.states
    active = list(ctx.alerting.incidents.active().values()) if ctx.alerting is not None else []
    minutes = {
        i.device: i.details.get("minutes_left")
        for i in active
        if i.kind is IncidentKind.BTS_ON_BATTERY and i.device
    }
    by_commune = Counter(i.commune for i in active if i.commune)
    if ups is None:
        ups = {p.tags.get("device"): p.fields for p in ctx.store.latest(UPS_MEASUREMENT)}
    storm = set((ctx.typhoon.current() or {}).get("communes", ())) if ctx.typhoon is not None else set()
    communes, rows, conn = [], [], {}
    for summary in summarise(inv, states):
        ref = inv.commune_ref(summary.code)
        communes.append(
            CommuneOut.model_construct(
                code=ref.code,
                name=ref.name,
                kind=ref.kind.value,
                province_code=ref.province_code,
                lat=ref.lat,
                lon=ref.lon,
                status=summary.status.value,
                status_label=STATUS_VI[summary.status],
                devices=DeviceCounts(**summary.counts),
                problem_devices=list(summary.problems),
            )
        )
        roles = index.by_role.get(summary.code, {})
        conn[summary.code] = connectivity(index.links.get(summary.code, []), ctx)
        bts, left, charge = _bts(summary.status, conn[summary.code], roles, states, ups, minutes)
        lat, lon = index.position[summary.code]
        rows.append(
            CoordinatorRow.model_construct(
                code=ref.code,
                name=ref.name,
                kind=ref.kind.value,
                province_code=ref.province_code,
                lat=lat,
                lon=lon,
                status=summary.status.value,
                bts=bts,
                bts_label=BTS_VI[bts],
                minutes_left=left,
                charge_pct=charge,
                connectivity=conn[summary.code],
                incidents=by_commune.get(summary.code, 0),
                storm=summary.code in storm,
            )
        )
    overview = OverviewOut(
        devices=dict(Counter(s.status.value for s in states.values())),
        incidents_by_severity={
            SEVERITY_VI[sev]: n
            for sev, n in sorted(Counter(i.severity for i in active).items(), reverse=True)
        },
        communes=len(communes),
        communes_by_status=dict(Counter(c.status for c in communes)),
        communes_on_backup=[c for c, m in conn.items() if m.startswith("backup:")],
        communes_isolated=[r.code for r in rows if r.bts == "isolated" or conn[r.code] == "isolated"],
        bts_on_battery=[r.code for r in rows if r.bts == "battery"],
        generated_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    return Picture(time.monotonic(), communes, rows, overview, active, conn)


def _bts(
    status: str, conn: str, roles: dict[DeviceRole, list[str]], states: dict, ups: dict, minutes: dict
) -> tuple[str, float | None, float | None]:
    bts_ids, power_ids = roles.get(DeviceRole.BTS, []), roles.get(DeviceRole.POWER, [])
    if not bts_ids:
        return "none", None, None
    charge: float | None = None
    left: float | None = None
    on_battery = False
    for pid in power_ids:
        fields = ups.get(pid) or {}
        if isinstance(fields.get("charge_pct"), int | float):
            charge = float(fields["charge_pct"])
        if (
            fields.get("output_source") == ON_BATTERY_SOURCE
            or (fields.get("seconds_on_battery") or 0) > 0
            or pid in minutes
        ):
            on_battery = True
            left = minutes.get(pid)
            if left is None and isinstance(fields.get("minutes_remaining"), int | float):
                left = float(fields["minutes_remaining"])
    if status == CommuneStatus.ISOLATED or conn == "isolated":
        return "isolated", left, charge
    bts_states = [states[b].status for b in bts_ids]
    if any(s in FAILED for s in bts_states):
        return "down", left, charge
    if on_battery:
        return "battery", left, charge
    if any(s in (Status.UP, Status.DEGRADED, Status.MAINTENANCE) for s in bts_states):
        return "up", left, charge
    return "unknown", left, charge
