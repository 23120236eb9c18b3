"""The current picture, computed at most once per ``ttl`` and shared by every request.

Commune summaries, the coordinator's per-commune BTS rows and the NOC overview
all come from one pass over inventory, states, the latest UPS readings and the
active incidents. At 200 requests/s on a national inventory, rebuilding per
request would be the bottleneck; a one-second-old picture is as good as new
(devices are polled every 30 s).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from alerting.battery import BatteryFigure
from alerting.battery import on_battery as reads_battery
from alerting.bts_status import BtsState, PowerReading, SiteBts, site_bts_status, worst
from alerting.incidents import SEVERITY_VI, Incident, IncidentKind
from alerting.states import FAILED, DeviceState, Status
from alerting.summary import STATUS_VI, CommuneStatus, summarise
from api import i18n
from api.auth.roles import Principal
from api.context import ApiContext
from api.power import figure_for
from api.schemas import BtsCode, CommuneOut, CoordinatorRow, DeviceCounts, OverviewOut
from inventory.inventory import Inventory
from inventory.model import DeviceRole, Link, LinkKind
from store.base import Point

UPS_MEASUREMENT = "ups"
UPS_TTL_S = 10.0
BUILD_SHARE = 0.1  # at most this share of the time goes to rebuilding the picture for new evaluations
T = TypeVar("T")
ISOLATED_VI = "Xã bị cô lập"
# the coordinator row's code for each site state (the row also says "isolated" for a cut-off commune)
ROW_CODE = {
    BtsState.UP: "up",
    BtsState.BATTERY: "battery",
    BtsState.DOWN: "down",
    BtsState.UNREACHABLE: "unknown",
    BtsState.MAINTENANCE: "unknown",
    BtsState.UNKNOWN: "unknown",
    BtsState.NONE: "none",
}
SiteDevices = tuple[list[str], list[str]]  # (BTS device ids, power system ids) of one site


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
    def bts_sites(self) -> dict[str, dict[str, SiteDevices]]:
        """Per commune, its BTS sites: every site with a BTS device or a power system, or both."""
        out: dict[str, dict[str, SiteDevices]] = {c: {} for c in self.inventory.watched_communes}
        for dev in self.inventory.devices.values():
            if dev.role not in (DeviceRole.BTS, DeviceRole.POWER):
                continue
            commune = self.inventory.sites[dev.site].commune
            bts, power = out.setdefault(commune, {}).setdefault(dev.site, ([], []))
            (bts if dev.role is DeviceRole.BTS else power).append(dev.id)
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
    bts: dict[str, SiteBts] = field(default_factory=dict)  # per commune: its most urgent BTS site
    version: tuple[object, object] = (None, None)


class PictureCache:
    """Rebuilds the picture when it is older than ``ttl`` seconds (one builder at a time)."""

    def __init__(self, ctx: ApiContext, ttl: float = 1.0) -> None:
        self.ctx, self.ttl = ctx, ttl
        self.index = Index(ctx.inventory)
        self.base_ttl = ttl
        self._picture: Picture | None = None
        self._build_s = 0.0  # how long the last build took
        self._lock = threading.Lock()
        self._ups_at = -1e9
        self._ups_version: tuple[object, object] | None = None
        self._ups_cache: dict[str, Point] = {}
        self.memo: dict[object, object] = {}  # answers derived from the current picture (cleared with it)

    def _ups(self, version: tuple[object, object]) -> dict[str, Point]:
        """Latest UPS readings: re-read after every new cycle, else at most every UPS_TTL_S
        (a picture of a new cycle never shows the previous cycle's power readings)."""
        new_cycle = self._ups_version is None or any(
            a is not b for a, b in zip(self._ups_version, version, strict=True)
        )
        if new_cycle or time.monotonic() - self._ups_at >= UPS_TTL_S:
            self._ups_cache = latest_ups(self.ctx)
            self._ups_at, self._ups_version = time.monotonic(), version
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
        """Whether ``pic`` may still be served: younger than the time limit, and showing the current
        evaluation or built less than ``BUILD_SHARE``⁻¹ × its build time ago.

        The spacing matters at national size, where the poller hands results over several times a
        second and each evaluation would otherwise start a rebuild: building then keeps to
        ``BUILD_SHARE`` of a core and a screen is at most a few seconds behind. For a city, where a
        build takes milliseconds, every evaluation is still shown at once.
        """
        if pic is None:
            return False
        age = time.monotonic() - pic.ts
        if age >= self.ttl:
            return False
        return age < self._build_s / BUILD_SHARE or all(
            a is b for a, b in zip(pic.version, self.version(), strict=True))

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
        pic = build_picture(self.ctx, self.index, self._ups(version))
        pic.version = version
        self._picture = pic
        self.memo.clear()
        self._build_s = time.monotonic() - started
        # without a new cycle, rebuild only now and then (UPS readings, typhoon banner)
        self.ttl = max(self.base_ttl, 20 * self._build_s)

    def invalidate(self) -> None:
        """Mark the picture stale (after a write that changes it); the next read starts a rebuild."""
        pic = self._picture
        if pic is not None:
            pic.version = (object(), object())
            pic.ts = -math.inf  # a person's own change shows at once, however recent the picture


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


def latest_ups(ctx: ApiContext) -> dict[str, Point]:
    """The newest UPS-MIB reading of every power system, by device id."""
    return {p.tags["device"]: p for p in ctx.store.latest(UPS_MEASUREMENT) if p.tags.get("device")}


def build_picture(ctx: ApiContext, index: Index, ups: dict[str, Point] | None = None) -> Picture:
    """One pass over everything the pages show (``ups``: latest UPS readings by device, else read)."""
    inv, states = ctx.inventory, ctx.tracker.states
    active = list(ctx.alerting.incidents.active().values()) if ctx.alerting is not None else []
    on_battery = {
        i.device: i for i in active if i.kind is IncidentKind.BTS_ON_BATTERY and i.device
    }
    by_commune = Counter(i.commune for i in active if i.commune)
    if ups is None:
        ups = latest_ups(ctx)
    now = int(time.time())
    storm = set((ctx.typhoon.current() or {}).get("communes", ())) if ctx.typhoon is not None else set()

    def figure(device_id: str, point: Point) -> BatteryFigure:
        return figure_for(ctx, device_id, point, now)

    communes, rows, conn, bts = [], [], {}, {}
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
        conn[summary.code] = connectivity(index.links.get(summary.code, []), ctx)
        sites = index.bts_sites.get(summary.code, {}).values()
        bts[summary.code] = worst([site_of(b, p, states, ups, on_battery, now, figure) for b, p in sites])
        isolated = summary.status == CommuneStatus.ISOLATED or conn[summary.code] == "isolated"
        code, label = row_bts(bts[summary.code], isolated, ctx)
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
                bts=BtsCode(code),
                bts_label=label,
                minutes_left=_rounded(bts[summary.code].minutes_left),
                charge_pct=bts[summary.code].charge_pct,
                connectivity=conn[summary.code],
                incidents=by_commune.get(summary.code, 0),
                storm=summary.code in storm,
                connectivity_label=i18n.connectivity(conn[summary.code]),
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
        bts_on_battery=bts_on_battery(bts),
        generated_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    return Picture(time.monotonic(), communes, rows, overview, active, conn, bts=bts)


def overview_for(
    pic: Picture, who: Principal, inventory: Inventory, states: dict[str, DeviceState]
) -> OverviewOut:
    """The overview as ``who`` may see it: network-wide for the city, else over its communes only
    (device states, incidents, backup, isolation and battery of those communes; nothing else counted)."""
    if who.communes is None:
        return pic.overview
    rows = [r for r in pic.coordinator if who.sees(r.code)]
    codes = [r.code for r in rows]
    devices = Counter(states[d].status.value for c in codes for d in inventory.devices_by_commune.get(c, []))
    active = Counter(i.severity for i in pic.active if i.commune is not None and who.sees(i.commune))
    return OverviewOut(
        devices=dict(devices),
        incidents_by_severity={SEVERITY_VI[sev]: n for sev, n in sorted(active.items(), reverse=True)},
        communes=len(rows),
        communes_by_status=dict(Counter(r.status for r in rows)),
        communes_on_backup=[c for c in codes if pic.connectivity.get(c, "").startswith("backup:")],
        communes_isolated=[
            r.code for r in rows if r.bts == "isolated" or pic.connectivity.get(r.code) == "isolated"
        ],
        bts_on_battery=bts_on_battery(pic.bts, codes),
        generated_utc=pic.overview.generated_utc,
    )


def bts_on_battery(bts: dict[str, SiteBts], codes: Iterable[str] | None = None) -> list[str]:
    """Communes (of ``codes``, else all) with a BTS site on battery, now or last known."""
    wanted = bts.keys() if codes is None else codes
    return [c for c in wanted if c in bts and bts[c].state is BtsState.BATTERY]


def site_of(
    bts_ids: list[str],
    power_ids: list[str],
    states: dict[str, DeviceState],
    ups: dict[str, Point],
    incidents: dict[str, Incident],
    now: int,
    figure: Callable[[str, Point], BatteryFigure] | None = None,
) -> SiteBts:
    """One BTS site's state from its BTS devices and power systems (see ``alerting.bts_status``).

    ``figure``: the one battery figure of a power system on battery (:func:`api.power.figure_for`);
    its runtime, already counted down to ``now``, is what every page shows.
    """
    readings = []
    for pid in power_ids:
        point, incident = ups.get(pid), incidents.get(pid)
        minutes = incident.details.get("minutes_left") if incident is not None else None
        made = incident.updated_at if incident is not None else None
        if figure is not None and point is not None and reads_battery(point.fields):
            minutes, made = figure(pid, point).minutes_left, now
        readings.append(
            PowerReading(
                pid,
                states[pid].status,
                point.fields if point is not None else None,
                point.ts if point is not None else None,
                minutes_left=float(minutes) if isinstance(minutes, int | float) else None,
                minutes_since=made,
                incident_open=incident is not None,
            )
        )
    return site_bts_status([states[b].status for b in bts_ids], readings, now)


def row_bts(site: SiteBts, isolated: bool, ctx: ApiContext) -> tuple[str, str]:
    """The coordinator row's code and Vietnamese label for a commune's BTS."""
    label = site.label(ctx.timezone)
    if isolated:
        return "isolated", ISOLATED_VI + (f" · {label}" if site.state is BtsState.BATTERY else "")
    return ROW_CODE[site.state], label


def _rounded(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes, 1)
