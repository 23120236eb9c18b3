"""The NOC's commune list, problems first: what is worst and has lasted longest on top, filters in the URL.

Each commune shows one status for people: cut off, a device down, its BTS on
battery (never "Bình thường" while the BTS runs on battery), degraded, unknown
or normal; sorted by that severity, then by how long it has lasted. Filters —
province, commune, status, device role, a diacritic-insensitive search ("hong
bang" finds "Hồng Bàng") and "problems only" — come from the query string, so a
filtered view is a link that can be shared. Every row is rendered, those not
matching hidden: the page's script filters in place and the live refresh,
which fetches the page's own URL, keeps the same view.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from alerting.bts_status import BtsState
from alerting.states import DeviceState
from api.context import ApiContext
from api.picture import Picture
from inventory.model import DeviceRole

Shown = Literal["isolated", "down", "battery", "degraded", "unknown", "ok"]
SHOWN_ORDER: tuple[Shown, ...] = ("isolated", "down", "battery", "degraded", "unknown", "ok")
SHOWN_VI: dict[str, tuple[str, str]] = {
    "isolated": ("Mất kết nối toàn xã", "Commune cut off"),
    "down": ("Có thiết bị mất kết nối", "Device down"),
    "battery": ("BTS đang chạy ắc quy", "BTS on battery"),
    "degraded": ("Suy giảm", "Degraded"),
    "unknown": ("Chưa rõ / chưa có số liệu", "Unknown / no data yet"),
    "ok": ("Bình thường", "OK"),
}


def fold(text: str) -> str:
    """Lower case without diacritics ('Hồng Bàng' → 'hong bang'; đ → d), for search."""
    text = text.lower().replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@dataclass(frozen=True)
class NocFilters:
    """The list's filters as the query string carries them."""

    province: str = ""
    commune: str = ""
    status: str = ""
    role: str = ""
    q: str = ""
    problems: bool = False

    @classmethod
    def of(cls, query: Mapping[str, str]) -> NocFilters:
        """Read the filters from a query string (unknown values are ignored, never an error)."""
        status = query.get("status", "")
        role = query.get("role", "")
        return cls(
            province=query.get("province", "")[:4],
            commune=query.get("commune", "")[:8],
            status=status if status in SHOWN_ORDER else "",
            role=role if role in {r.value for r in DeviceRole} else "",
            q=query.get("q", "")[:80].strip(),
            problems=query.get("problems", "") in ("1", "on", "true"),
        )

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return bool(self.province or self.commune or self.status or self.role or self.q or self.problems)


@dataclass
class NocDevice:
    """A problem device, by name, with its page."""

    id: str
    name: str
    role: str


@dataclass
class NocRow:
    """One commune on the NOC."""

    code: str
    name: str
    province: str
    shown: Shown
    label: str
    since: int | None
    since_text: str
    up: int
    total: int
    problems: list[NocDevice] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    problem_roles: list[str] = field(default_factory=list)
    bts_label: str = ""
    key: str = ""  # folded name and code, for the search
    visible: bool = True

    def matches(self, f: NocFilters) -> bool:
        """Whether the row passes the filters."""
        if f.province and self.province != f.province:
            return False
        if f.commune and self.code != f.commune:
            return False
        if f.status and self.shown != f.status:
            return False
        if f.problems and self.shown == "ok":
            return False
        if f.role and f.role not in (self.problem_roles if f.problems else self.roles):
            return False
        return not f.q or all(word in self.key for word in fold(f.q).split())


def duration_text(seconds: int, lang: str = "vi") -> str:
    """'2 giờ 5 phút', '45 phút', '3 ngày 4 giờ' ('2 h 5 min' in English)."""
    minutes = max(0, seconds) // 60
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    unit = {"d": "ngày", "h": "giờ", "m": "phút"} if lang != "en" else {"d": "d", "h": "h", "m": "min"}
    if days:
        return f"{days} {unit['d']} {hours} {unit['h']}"
    if hours:
        return f"{hours} {unit['h']} {mins} {unit['m']}"
    return f"{mins} {unit['m']}"


def noc_rows(
    pic: Picture,
    ctx: ApiContext,
    visible: set[str] | None,
    filters: NocFilters,
    lang: str = "vi",
    now: int | None = None,
) -> list[NocRow]:
    """Every commune ``visible`` may see (None: all), problems first, each marked visible or not."""
    now = int(time.time()) if now is None else now
    inv, states = ctx.inventory, ctx.tracker.states
    opened: dict[str, int] = {}
    for inc in pic.active:
        if inc.commune:
            opened[inc.commune] = min(inc.opened_at, opened.get(inc.commune, inc.opened_at))
    rows = []
    for c in pic.communes:
        if visible is not None and c.code not in visible:
            continue
        bts = pic.bts.get(c.code)
        shown = _shown(c.status, pic.connectivity.get(c.code, ""), bts.state if bts else None)
        problem_ids = list(c.problem_devices)
        since = _since(problem_ids, states, opened.get(c.code)) if shown != "ok" else None
        devices = inv.devices_by_commune.get(c.code, [])
        roles = sorted({inv.devices[d].role.value for d in devices})
        problems = [NocDevice(d, inv.devices[d].name, inv.devices[d].role.value) for d in problem_ids]
        if shown == "battery" and bts is not None:
            power = [d for d in devices if inv.devices[d].role is DeviceRole.POWER]
            problems += [NocDevice(d, inv.devices[d].name, "power") for d in power if d not in problem_ids]
        counts = c.devices
        total = counts.up + counts.degraded + counts.down + counts.unreachable + counts.maintenance
        total += counts.unknown
        rows.append(NocRow(
            code=c.code, name=c.name, province=c.province_code, shown=shown,
            label=SHOWN_VI[shown][1 if lang == "en" else 0], since=since,
            since_text=duration_text(now - since, lang) if since else "",
            up=counts.up + counts.degraded, total=total, problems=problems, roles=roles,
            problem_roles=sorted({p.role for p in problems}),
            bts_label=bts.label(ctx.timezone) if bts is not None and bts.state is BtsState.BATTERY else "",
            key=fold(f"{c.name} {c.code}"),
        ))
    rows.sort(key=lambda r: (SHOWN_ORDER.index(r.shown), r.since if r.since else now + 1, fold(r.name)))
    for row in rows:
        row.visible = row.matches(filters)
    return rows


def _shown(status: str, connectivity: str, bts: BtsState | None) -> Shown:
    """The one status a person reads for a commune."""
    if status == "isolated" or connectivity == "isolated":
        return "isolated"
    if status == "down":
        return "down"
    if bts is BtsState.BATTERY:
        return "battery"
    if status in ("degraded", "unknown"):
        return status  # type: ignore[return-value]
    return "ok"


def _since(problem_ids: list[str], states: dict[str, DeviceState], opened: int | None) -> int | None:
    """Since when the commune has had its problem: its oldest failing device, else its oldest incident."""
    times = [states[d].since for d in problem_ids if states[d].since]
    if opened:
        times.append(opened)
    return min(times) if times else None
