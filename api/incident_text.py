"""How an incident reads for people once it is over, and whom it touched, by name.

A resolved incident keeps the title it had while live ("… còn khoảng 64 phút"),
which beside "Đã khắc phục" says two things at once. :func:`final_title` drops
the live part and says how it ended and when; :func:`common.timefmt.duration_vi` says how
long it lasted. :func:`touched` names the communes and devices an incident
lists as codes (a cut-off incident's communes, a router's devices behind it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from api.auth.roles import Principal
from api.schemas import IncidentOut
from common.timefmt import local_time
from inventory.inventory import Inventory

LIVE_PART = re.compile(
    r",\s*(còn khoảng \d+ phút|có thể đã cạn ắc quy)(\s*\(ước tính[^)]*\))?|\s*\(lần cuối lúc [^)]*\)"
)
ENDED = {
    "bts_on_battery": "đã có điện lưới trở lại",
    "device_down": "đã kết nối lại",
    "communes_cut_off": "các xã đã kết nối lại",
    "commune_isolated": "xã đã kết nối lại",
    "link_on_backup": "đã trở lại đường chính",
    "dns_not_answering": "DNS đã trả lời lại",
    "generator_failed": "máy phát đã hoạt động lại",
}


def final_title(kind: str, title: str, resolved_at: int, tz: ZoneInfo) -> str:
    """'Trạm BTS X mất điện lưới — đã có điện lưới trở lại lúc 10:42 26/11' for a resolved incident."""
    base = LIVE_PART.sub("", title).strip()
    if kind == "bts_on_battery":
        base = base.replace(", đang chạy ắc quy", "")
    ended = ENDED.get(kind, "đã khắc phục")
    return f"{base} — {ended} lúc {local_time(resolved_at, tz, 'day_time')}"


@dataclass(frozen=True)
class Named:
    """A commune or device: its code and the name people read; ``href`` its page."""

    code: str
    name: str
    href: str


def touched(kind: str, affected: list[str], details: dict[str, object], inventory: Inventory,
            visible: set[str] | None = None) -> tuple[list[Named], list[Named]]:
    """The communes and the devices an incident touched, by name (within ``visible`` communes)."""
    listed = details.get("communes")
    codes = [str(c) for c in listed] if isinstance(listed, list) else []
    if kind == "communes_cut_off":
        codes = codes or list(affected)
    communes = [Named(c, inventory.commune_ref(c).name, f"/communes/{c}") for c in dict.fromkeys(codes)
                if c in inventory.devices_by_commune and (visible is None or c in visible)]
    devices = [Named(d, inventory.devices[d].name, f"/devices/{d}") for d in affected
               if d in inventory.devices and (visible is None or inventory.commune_of(d) in visible)]
    return sorted(communes, key=lambda n: n.name), devices


@dataclass(frozen=True)
class Where:
    """Where an incident is, by name: its commune and device, the communes and devices it touched."""

    commune_name: str
    device_name: str
    communes: list[Named]
    devices: list[Named]


def incident_where(inc: IncidentOut, inventory: Inventory, who: Principal) -> Where:
    """The names the incident page shows (within what ``who`` may see)."""
    visible = None if who.communes is None else set(who.communes)
    communes, devices = touched(inc.kind, list(inc.affected), dict(inc.details), inventory, visible)
    commune = inc.commune if inc.commune in inventory.devices_by_commune else None
    return Where(
        commune_name=inventory.commune_ref(commune).name if commune else "",
        device_name=inventory.devices[inc.device].name if inc.device in inventory.devices else "",
        communes=communes,
        devices=devices,
    )
