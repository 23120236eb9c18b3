"""Typhoon readiness report: power, backup links and what is already down, at declaration time.

This is the one place notify looks at the network picture, and only through
:class:`NetworkView` — built at the composition root over the alerting core's
states and the metric store (:class:`alerting.network_view.TrackedNetwork`) —
so notify itself never reads device states or metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from alerting.bts_status import on_battery
from inventory.inventory import Inventory
from inventory.model import DeviceRole, LinkKind

FULL_CHARGE_PCT = 95.0


class NetworkView(Protocol):
    """What the readiness report may ask about the network right now."""

    def device_status(self, device_id: str) -> str:
        """'up', 'down', 'unreachable', 'degraded', 'maintenance' or 'unknown'."""

    def power(self, device_id: str) -> dict[str, Any] | None:
        """Latest UPS fields of a power system (output_source, charge_pct, …) or None."""

    def link_status(self, link_id: str) -> str:
        """'up', 'down' or 'unknown'."""


@dataclass
class Readiness:
    """The report: lists of BTS power systems, communes and devices, plus a Vietnamese text."""

    mains_full: list[str] = field(default_factory=list)
    mains_low: list[str] = field(default_factory=list)
    on_battery: list[str] = field(default_factory=list)
    power_unknown: list[str] = field(default_factory=list)
    backup_ok: list[str] = field(default_factory=list)
    backup_missing: list[str] = field(default_factory=list)
    down: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        """JSON-able form (stored with the declaration)."""
        return {k: list(v) for k, v in self.__dict__.items()}


def readiness(inventory: Inventory, view: NetworkView, communes: list[str]) -> Readiness:
    """Build the report for ``communes``."""
    wanted = set(communes)
    report = Readiness()
    for dev in inventory.devices.values():
        if inventory.sites[dev.site].commune not in wanted:
            continue
        status = view.device_status(dev.id)
        if status in ("down", "unreachable"):
            report.down.append(dev.id)
        if dev.role is not DeviceRole.POWER:
            continue
        fields = view.power(dev.id) if status not in ("down", "unreachable") else None
        if not fields:
            report.power_unknown.append(dev.id)
        elif on_battery(fields):
            report.on_battery.append(dev.id)
        elif float(fields.get("charge_pct") or 0) >= FULL_CHARGE_PCT:
            report.mains_full.append(dev.id)
        else:
            report.mains_low.append(dev.id)
    for code in sorted(wanted):
        backups = [
            link for link in inventory.links.values() if link.commune == code and link.kind is LinkKind.BACKUP
        ]
        if any(view.link_status(link.id) == "up" for link in backups):
            report.backup_ok.append(code)
        else:
            report.backup_missing.append(code)
    return report


def readiness_text(inventory: Inventory, report: Readiness, name: str) -> tuple[str, str]:
    """(subject, body) in Vietnamese, with commune and device names (the report keeps the ids)."""

    def devices(ids: list[str], limit: int = 20) -> str:
        names = [inventory.devices[d].name if d in inventory.devices else d for d in ids[:limit]]
        return ", ".join(names) + (" …" if len(ids) > limit else "")

    def communes(codes: list[str]) -> str:
        names = [
            inventory.reference.communes[c].name if c in inventory.reference.communes else c for c in codes
        ]
        return ", ".join(names[:30]) + (" …" if len(names) > 30 else "") if names else "không có"

    total_bts = sum(
        len(x) for x in (report.mains_full, report.mains_low, report.on_battery, report.power_unknown)
    )
    lines = [
        f"Báo cáo sẵn sàng ứng phó bão {name}: {len(report.mains_full)}/{total_bts} trạm BTS có điện lưới và "
        f"ắc quy đầy; {len(report.backup_ok)} xã có đường dự phòng hoạt động; {len(report.down)} thiết bị "
        f"đã hỏng.",
        "",
        f"BTS điện lưới, ắc quy đầy (≥{FULL_CHARGE_PCT:.0f}%): {len(report.mains_full)}",
        f"BTS điện lưới, ắc quy chưa đầy: {len(report.mains_low)} {devices(report.mains_low)}",
        f"BTS đang chạy ắc quy: {len(report.on_battery)} {devices(report.on_battery)}",
        f"BTS không có số liệu nguồn: {len(report.power_unknown)} {devices(report.power_unknown)}",
        f"Xã có đường dự phòng hoạt động ({len(report.backup_ok)}): {communes(report.backup_ok)}",
        f"Xã KHÔNG có đường dự phòng hoạt động ({len(report.backup_missing)}): "
        f"{communes(report.backup_missing)}",
        f"Thiết bị đã hỏng/không liên lạc được ({len(report.down)}): {devices(report.down, 30)}",
    ]
    subject = (f"[BÃO {name}] Sẵn sàng: {len(report.backup_missing)} xã thiếu dự phòng, "
               f"{len(report.down)} thiết bị hỏng")
    return subject, "\n".join(lines)
