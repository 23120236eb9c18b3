"""What a rule may look at: the inventory, current states, metrics, settings, the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TypedDict
from zoneinfo import ZoneInfo

from alerting.rules.config import RulesConfig
from alerting.states import StateTracker
from common.timefmt import local_time
from inventory.inventory import Inventory
from inventory.model import DeviceRole, SiteKind
from store.base import MetricStore


class Where(TypedDict):
    """Where a condition is: the location fields of :class:`alerting.incidents.Condition`."""

    province: str
    commune: str | None
    site: str | None
    device: str | None


@dataclass
class RuleContext:
    """Read-only view for one evaluation."""

    inventory: Inventory
    tracker: StateTracker
    store: MetricStore
    rules: RulesConfig
    now: int
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))

    def local_time(self, ts: int) -> str:
        """'HH:MM' of ``ts`` on the people's clock (Asia/Ho_Chi_Minh by default)."""
        return local_time(ts, self.timezone, "time")

    @cached_property
    def access_routers(self) -> dict[str, str]:
        """Commune code → its access router (router at the commune HQ)."""
        out: dict[str, str] = {}
        for dev in self.inventory.devices.values():
            site = self.inventory.sites[dev.site]
            if dev.role is DeviceRole.ROUTER and site.kind is SiteKind.COMMUNE_HQ:
                out.setdefault(site.commune, dev.id)
        return out

    def where(self, device_id: str) -> Where:
        """Commune, site and province of a device, for a condition."""
        dev = self.inventory.devices[device_id]
        site = self.inventory.sites[dev.site]
        return {"province": self.inventory.province, "commune": site.commune, "site": site.id,
                "device": device_id}

    def place(self, device_id: str) -> str:
        """'<device name>, <commune name>' for titles."""
        dev = self.inventory.devices[device_id]
        commune = self.inventory.commune_ref(self.inventory.sites[dev.site].commune).name
        return f"{dev.name} ({commune})"
