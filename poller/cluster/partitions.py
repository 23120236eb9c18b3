"""Devices sharded into work partitions, by commune; several inventories merged into one.

A commune's devices (its access router and everything behind it) fall in the
same partition, so one cycle polls a parent together with its children and
the alerting core sees them in one evaluation. The mapping depends only on the
commune code and the number of partitions, so every poller computes the same.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import replace

from inventory.inventory import Inventory
from inventory.model import Device


def partition_index(commune: str, partitions: int) -> int:
    """Partition number (0-based) of a commune."""
    return zlib.crc32(commune.encode("utf-8")) % partitions


def partition_name(index: int) -> str:
    """The name (lease key, subject token) of a partition."""
    return f"p{index:04d}"


class Partitioner:
    """Which devices each partition holds, for one inventory."""

    def __init__(self, inventory: Inventory, partitions: int, exclude_communes: Iterable[str] = ()) -> None:
        """``exclude_communes`` are watched elsewhere (edge posts poll their own commune)."""
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1 (got {partitions})")
        excluded = set(exclude_communes)
        self.partitions = partitions
        self._by_partition: dict[str, list[Device]] = {partition_name(i): [] for i in range(partitions)}
        for device in sorted(inventory.devices.values(), key=lambda d: d.id):
            commune = inventory.sites[device.site].commune
            if commune in excluded:
                continue
            self._by_partition[partition_name(partition_index(commune, partitions))].append(device)

    def names(self) -> list[str]:
        """Every partition's name, in order."""
        return list(self._by_partition)

    def devices(self, partition: str) -> list[Device]:
        """The partition's devices, sorted by id (the order chunks are cut in)."""
        return self._by_partition[partition]

    def sizes(self) -> dict[str, int]:
        """Devices per partition."""
        return {name: len(devs) for name, devs in self._by_partition.items()}


def merge_inventories(inventories: list[Inventory]) -> Inventory:
    """One inventory from several (e.g. one per province lab); ids must not collide."""
    if not inventories:
        raise ValueError("no inventory to merge")
    if len(inventories) == 1:
        return inventories[0]
    first = inventories[0]
    merged = replace(first, communes=dict(first.communes), sites=dict(first.sites),
                     devices=dict(first.devices), links=dict(first.links),
                     credentials=dict(first.credentials), origins=dict(first.origins))
    for inv in inventories[1:]:
        for name in ("communes", "sites", "devices", "links", "credentials"):
            target, source = getattr(merged, name), getattr(inv, name)
            clash = sorted(set(target) & set(source))
            if clash and name != "credentials":
                raise ValueError(f"inventories share {name} ids: {', '.join(clash[:5])}")
            target.update(source)
        merged.origins.update(inv.origins)
    return merged
