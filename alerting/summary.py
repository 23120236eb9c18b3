"""Per-commune status: what a coordinator reads first ("is commune X all right?")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from alerting.states import DeviceState, Status
from inventory.inventory import Inventory
from inventory.model import DeviceRole, SiteKind


class CommuneStatus(StrEnum):
    """Colour-coded commune status; red for ``down`` and ``isolated``."""

    UNKNOWN = "unknown"
    OK = "ok"
    DEGRADED = "degraded"  # everything answers, but something is impaired (interface down)
    DOWN = "down"  # some device of the commune is down
    ISOLATED = "isolated"  # the commune's access router is down or cut off


COMMUNE_SITE_KINDS = (SiteKind.COMMUNE_HQ, SiteKind.BTS_SITE)
STATUS_VI = {
    CommuneStatus.UNKNOWN: "Chưa rõ / chưa có số liệu",
    CommuneStatus.OK: "Bình thường",
    CommuneStatus.DEGRADED: "Suy giảm",
    CommuneStatus.DOWN: "Có thiết bị mất kết nối",
    CommuneStatus.ISOLATED: "Mất kết nối toàn xã",
}


@dataclass(frozen=True, slots=True)
class CommuneSummary:
    """Counts of device states in one commune and its overall status."""

    code: str
    status: CommuneStatus
    counts: dict[str, int]
    problems: tuple[str, ...]


def summarise(inventory: Inventory, states: dict[str, DeviceState]) -> list[CommuneSummary]:
    """One summary per watched commune, ordered by code."""
    out = []
    for code, all_ids in inventory.devices_by_commune.items():
        device_ids = [d for d in all_ids if _commune_level(inventory, d)]
        counts = dict.fromkeys((s.value for s in Status), 0)
        for dev_id in device_ids:
            counts[states[dev_id].status.value] += 1
        problems = tuple(d for d in device_ids if states[d].status in (Status.DOWN, Status.UNREACHABLE))
        out.append(CommuneSummary(code, _status(inventory, device_ids, states, counts), counts, problems))
    return out


def _status(inventory: Inventory, device_ids: list[str], states: dict[str, DeviceState],
            counts: dict[str, int]) -> CommuneStatus:
    if not device_ids or counts[Status.UNKNOWN.value] == len(device_ids):
        return CommuneStatus.UNKNOWN
    access = [d for d in device_ids if _is_access_router(inventory, d)]
    if access and all(states[d].status in (Status.DOWN, Status.UNREACHABLE) for d in access):
        return CommuneStatus.ISOLATED
    if counts[Status.DOWN.value] or counts[Status.UNREACHABLE.value]:
        return CommuneStatus.DOWN
    if counts[Status.DEGRADED.value]:
        return CommuneStatus.DEGRADED
    return CommuneStatus.OK


def _commune_level(inventory: Inventory, dev_id: str) -> bool:
    """City-level sites (data centre, DNS, NOC) sit in a commune but are not its status."""
    return inventory.sites[inventory.devices[dev_id].site].kind in COMMUNE_SITE_KINDS


def _is_access_router(inventory: Inventory, dev_id: str) -> bool:
    dev = inventory.devices[dev_id]
    return dev.role is DeviceRole.ROUTER and inventory.sites[dev.site].kind is SiteKind.COMMUNE_HQ
