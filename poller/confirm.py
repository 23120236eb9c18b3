"""Soft before hard: how often and how fast a silent device is re-checked before it counts as down.

Why: one lost UDP answer, or an agent busy for a few seconds, must not page a
command post. As Nagios/Icinga's ``max_check_attempts`` and ``retry_interval``,
a state-deciding poll that fails on a device not already known down is
repeated at once, ``spacing_s`` apart, up to ``rechecks`` times; the first
good answer declares the device up. Meanwhile its parents are checked, so a
child silenced by its parent's failure is *unreachable*, not *down*. The whole
confirmation must fit in the few seconds between detection and the first
message (poll interval + 10 s), so the defaults are small.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

from collectors.base import PollResult
from inventory.inventory import Inventory
from inventory.model import Device


@dataclass(frozen=True)
class Confirmation:
    """Re-checks of a failed poll before its result decides a state; per role overrides."""

    rechecks: int = 1
    spacing_s: float = 0.5
    by_role: Mapping[str, int] = field(default_factory=dict)

    def rechecks_for(self, role: str) -> int:
        """Re-checks for a device of ``role``."""
        return self.by_role.get(role, self.rechecks)


def parse_by_role(text: str) -> dict[str, int]:
    """``"bts=3,power=2"`` → ``{"bts": 3, "power": 2}``; ValueError names the bad part."""
    out: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        role, sep, count = part.partition("=")
        if not sep or not role.strip() or not count.strip().isdigit():
            raise ValueError(f"expected role=count, got {part!r}")
        out[role.strip()] = int(count)
    return out


Poll = Callable[[Device, float], Awaitable[PollResult]]  # (device, planned start) → its result


class Checker:
    """One device check with confirmation, shared by the single-node cycle and the cluster slots.

    ``poll`` polls once (waiting for ``planned`` on its own clock ``now``);
    ``can_poll`` says which parents this plan may poll; ``decides`` whether a
    result may change a state; ``known_down`` whether a device is already down
    (then its failure needs no confirmation).
    """

    def __init__(self, inventory: Inventory, poll: Poll, confirmation: Confirmation, *,
                 now: Callable[[], float], can_poll: Callable[[Device], bool],
                 decides: Callable[[Device, PollResult], bool], known_down: Callable[[str], bool]) -> None:
        self.inventory = inventory
        self.poll = poll
        self.confirmation = confirmation
        self.now = now
        self.can_poll = can_poll
        self.decides = decides
        self.known_down = known_down
        self._checks: dict[str, asyncio.Future[list[PollResult]]] = {}  # parent checks in flight

    async def check(self, device: Device, planned: float) -> list[PollResult]:
        """Poll ``device``; confirm a failure of a device not known down, its parents checked at once.

        Returns every result taken, parents' first, oldest first per device.
        """
        known_down = self.known_down(device.id)
        first = await self.poll(device, planned)
        if first.ok or known_down or not self.decides(device, first):
            return [first]
        parents = asyncio.gather(*(self._check_parent(p) for p in self._parents_to_check(device)))
        own = [first]
        for _ in range(self.confirmation.rechecks_for(device.role.value)):
            await asyncio.sleep(self.confirmation.spacing_s)
            again = await self.poll(device, self.now())
            own.append(again)
            if again.ok:
                break
        above = [r for batch in await parents for r in batch]
        return above + own

    def _parents_to_check(self, device: Device) -> list[Device]:
        """Parents this plan can poll and that are not already known down."""
        devices = self.inventory.devices
        return [devices[p] for p in device.parents if self.can_poll(devices[p]) and not self.known_down(p)]

    def _check_parent(self, device: Device) -> asyncio.Future[list[PollResult]]:
        """One shared check of a parent, however many children asked for it at once."""
        running = self._checks.get(device.id)
        if running is None or running.done():
            running = asyncio.ensure_future(self.check(device, self.now()))
            self._checks[device.id] = running
            running.add_done_callback(partial(self._forget, device.id))
        return running

    def _forget(self, device_id: str, _done: object) -> None:
        self._checks.pop(device_id, None)
