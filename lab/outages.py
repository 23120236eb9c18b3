"""Topology-aware outages in the lab: when a router dies, what hangs behind it goes quiet.

In a real network a dead aggregation router also silences every device behind
it. The lab agents all share one loopback port, so the lab has to do this
itself: :func:`cut` silences a device and every device whose parents are all cut.
"""

from __future__ import annotations

from pathlib import Path

from inventory.inventory import Inventory
from lab.runner import stage


def behind(inventory: Inventory, device: str) -> list[str]:
    """``device`` plus every device cut off when it fails (all parents cut), parents first.

    Walks down from ``device`` only (a national inventory has ~27,000 devices; staging an
    outage must not cost a pass over all of them).
    """
    cut, order = {device}, [device]
    children, devices = inventory.children, inventory.devices
    for dev_id in order:  # grows while walked: a device joins once every parent has
        for child in children.get(dev_id, ()):
            if child not in cut and all(p in cut for p in devices[child].parents):
                cut.add(child)
                order.append(child)
    return order


def cut(state_dir: Path, inventory: Inventory, device: str) -> list[str]:
    """Make ``device`` and everything behind it stop answering; return their ids."""
    affected = behind(inventory, device)
    for dev_id in affected:
        stage(state_dir, dev_id, silent=True)
    return affected


def restore(state_dir: Path, inventory: Inventory, device: str) -> list[str]:
    """Undo :func:`cut`: ``device`` and everything behind it answer again."""
    affected = behind(inventory, device)
    for dev_id in affected:
        stage(state_dir, dev_id, silent=None)
    return affected
