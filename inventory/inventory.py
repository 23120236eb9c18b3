"""The loaded, cross-checked inventory the rest of Trucban reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from inventory.model import CommuneEntry, Device, Link, Site
from inventory.reference import CommuneRef, Reference


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record was defined, for error messages and the UI."""

    file: str
    line: int | None


@dataclass
class Inventory:
    """Province → communes → sites → devices → links, all references resolved.

    Built only by :func:`inventory.loader.load_inventory`, which guarantees that
    every reference resolves and the parent graph has no cycle.
    """

    province: str
    reference: Reference
    communes: dict[str, CommuneEntry]
    sites: dict[str, Site]
    devices: dict[str, Device]
    links: dict[str, Link]
    credentials: dict[str, object] = field(repr=False)
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict, repr=False)

    def commune_ref(self, code: str) -> CommuneRef:
        """Reference data (name, type, position) of a commune."""
        return self.reference.communes[code]

    def commune_of(self, device_id: str) -> str:
        """Commune code a device sits in (through its site)."""
        return self.sites[self.devices[device_id].site].commune

    @cached_property
    def watched_communes(self) -> list[str]:
        """Codes of communes with a site or a command-post entry, ordered by code."""
        codes = {s.commune for s in self.sites.values()} | set(self.communes)
        return sorted(codes)

    @cached_property
    def devices_by_commune(self) -> dict[str, list[str]]:
        """Device ids per commune code."""
        out: dict[str, list[str]] = {c: [] for c in self.watched_communes}
        for dev in self.devices.values():
            out[self.sites[dev.site].commune].append(dev.id)
        return out

    @cached_property
    def children(self) -> dict[str, list[str]]:
        """Devices that hang directly behind each device."""
        out: dict[str, list[str]] = {d: [] for d in self.devices}
        for dev in self.devices.values():
            for parent in dev.parents:
                out[parent].append(dev.id)
        return out

    @cached_property
    def parents_first(self) -> list[str]:
        """Every device id, each after all of its parents (evaluation order)."""
        order: list[str] = []
        seen: set[str] = set()

        def visit(dev_id: str) -> None:
            if dev_id in seen:
                return
            seen.add(dev_id)
            for parent in self.devices[dev_id].parents:
                visit(parent)
            order.append(dev_id)

        for dev_id in self.devices:
            visit(dev_id)
        return order
