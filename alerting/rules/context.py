"""What a rule may look at: the inventory, current states, metrics, settings, the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TypedDict
from zoneinfo import ZoneInfo

from alerting.battery import FitMemo
from alerting.rules.config import RulesConfig
from alerting.states import StateTracker
from common.timefmt import local_time
from inventory.inventory import Inventory
from inventory.model import DeviceRole, Link, SiteKind
from store.base import MetricStore


class Where(TypedDict):
    """Where a condition is: the location fields of :class:`alerting.incidents.Condition`."""

    province: str
    commune: str | None
    site: str | None
    device: str | None


@dataclass(frozen=True)
class InventoryIndex:
    """What rules look up in the inventory, built once for it rather than at every evaluation.

    A national inventory has ~27k devices; walking them to find the access
    routers or group the links costs more than a whole incremental evaluation.
    """

    access_routers: dict[str, str]  # commune code → its access router (router at the commune HQ)
    commune_of_router: dict[str, str]  # access router → its commune
    links_by_commune: dict[str, list[Link]]  # commune → its links, in inventory order
    ancestors: dict[str, frozenset[str]]  # device → every device above it, however far
    power_systems: list[str]  # devices of role power, in inventory order
    dns_servers: list[str]  # devices with a DNS configuration, in inventory order

    @classmethod
    def of(cls, inventory: Inventory) -> InventoryIndex:
        """Index ``inventory`` (which is never changed once loaded)."""
        routers: dict[str, str] = {}
        for dev in inventory.devices.values():
            site = inventory.sites[dev.site]
            if dev.role is DeviceRole.ROUTER and site.kind is SiteKind.COMMUNE_HQ:
                routers.setdefault(site.commune, dev.id)
        by_commune: dict[str, list[Link]] = {}
        for link in inventory.links.values():
            by_commune.setdefault(link.commune, []).append(link)
        ancestors: dict[str, frozenset[str]] = {}
        for dev_id in inventory.parents_first:  # parents are indexed before their children
            above: set[str] = set()
            for parent in inventory.devices[dev_id].parents:
                above.add(parent)
                above |= ancestors[parent]
            ancestors[dev_id] = frozenset(above)
        devices = inventory.devices.values()
        return cls(routers, {r: c for c, r in routers.items()}, by_commune, ancestors,
                   [d.id for d in devices if d.role is DeviceRole.POWER],
                   [d.id for d in devices if d.dns is not None])


@dataclass
class RuleContext:
    """Read-only view for one evaluation."""

    inventory: Inventory
    tracker: StateTracker
    store: MetricStore
    rules: RulesConfig
    now: int
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))
    index: InventoryIndex | None = None  # the core keeps one; built here when not given
    fits: FitMemo | None = None  # battery projections already made (the core keeps one)

    def local_time(self, ts: int) -> str:
        """'HH:MM' of ``ts`` on the people's clock (Asia/Ho_Chi_Minh by default)."""
        return local_time(ts, self.timezone, "time")

    @cached_property
    def lookup(self) -> InventoryIndex:
        """The inventory index: the one given, or one built for this evaluation."""
        return self.index if self.index is not None else InventoryIndex.of(self.inventory)

    @property
    def access_routers(self) -> dict[str, str]:
        """Commune code → its access router (router at the commune HQ)."""
        return self.lookup.access_routers

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
