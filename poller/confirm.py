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
Settle = Callable[[Device, PollResult], None]  # a check's final, state-deciding result of a device


class Checker:
    """One device check with confirmation, shared by the single-node cycle and the cluster slots.

    ``poll`` polls once (waiting for ``planned`` on its own clock ``now``);
    ``can_poll`` says which parents this plan may poll; ``decides`` whether a
    result may change a state; ``known_down`` whether a device is already
    *confirmed* down (then a failure needs no confirmation); ``settle`` hears the
    final result of every check (so "known down" never comes from an unconfirmed
    failure). A confirmation in flight is shared: a child that needs its parent
    checked joins the parent's own check instead of deciding before it.
    """

    def __init__(self, inventory: Inventory, poll: Poll, confirmation: Confirmation, *,
                 now: Callable[[], float], can_poll: Callable[[Device], bool],
                 decides: Callable[[Device, PollResult], bool], known_down: Callable[[str], bool],
                 settle: Settle) -> None:
        self.inventory = inventory
        self.poll = poll
        self.confirmation = confirmation
        self.now = now
        self.can_poll = can_poll
        self.decides = decides
        self.known_down = known_down
        self.settle = settle
        self._checks: dict[str, asyncio.Future[list[PollResult]]] = {}  # confirmations in flight

    async def check(self, device: Device, planned: float) -> list[PollResult]:
        """Poll ``device`` and confirm a failure; every result taken, parents' first."""
        first, confirming = await self.first(device, planned)
        return [first] if confirming is None else await confirming

    async def first(self, device: Device, planned: float, *, shared: bool = True
                    ) -> tuple[PollResult, Awaitable[list[PollResult]] | None]:
        """The first poll, and its confirmation when it needs one (None: the result is final).

        ``shared``: the confirmation joins one already in flight for the device; a
        check started for a child is itself registered, so it confirms directly.
        """
        known_down = self.known_down(device.id)
        result = await self.poll(device, planned)
        if result.ok or known_down or not self.decides(device, result):
            self.settle_result(device, result)
            return result, None
        return result, (self.confirm(device, result) if shared else self._confirm(device, result))

    async def _check_alone(self, device: Device) -> list[PollResult]:
        first, confirming = await self.first(device, self.now(), shared=False)
        return [first] if confirming is None else await confirming

    def confirm(self, device: Device, first: PollResult) -> asyncio.Future[list[PollResult]]:
        """Re-check ``device`` after its failed ``first`` poll (joining a confirmation in flight)."""
        running = self._checks.get(device.id)
        if running is None or running.done():
            running = asyncio.ensure_future(self._confirm(device, first))
            self._remember(device.id, running)
        return running

    async def _confirm(self, device: Device, first: PollResult) -> list[PollResult]:
        parents = asyncio.gather(*(self._check_parent(p) for p in self._parents_to_check(device)))
        own = [first]
        for _ in range(self.confirmation.rechecks_for(device.role.value)):
            await asyncio.sleep(self.confirmation.spacing_s)
            again = await self.poll(device, self.now())
            own.append(again)
            if again.ok:
                break
        above = [r for batch in await parents for r in batch]
        if not own[-1].ok and self._parent_came_back(device, above):
            own.append(await self.poll(device, self.now()))
        self.settle_result(device, own[-1])
        return above + own

    @staticmethod
    def _parent_came_back(device: Device, above: list[PollResult]) -> bool:
        """A parent failed during this confirmation but answers now.

        Then the child's silences may be its parent's: they prove nothing, and
        one more poll, taken after the parent was seen answering, decides.
        """
        newest: dict[str, PollResult] = {}
        for r in sorted(above, key=lambda r: r.observed_at):
            newest[r.device] = r
        failed_on_the_way = any(not r.ok for r in above if r.device in device.parents)
        return failed_on_the_way and any(r.ok for d, r in newest.items() if d in device.parents)

    def settle_result(self, device: Device, result: PollResult) -> None:
        """Report a check's final result (when it is state-deciding)."""
        if self.decides(device, result):
            self.settle(device, result)

    def _parents_to_check(self, device: Device) -> list[Device]:
        """Parents this plan can poll and that are not already confirmed down."""
        devices = self.inventory.devices
        return [devices[p] for p in device.parents if self.can_poll(devices[p]) and not self.known_down(p)]

    def _check_parent(self, device: Device) -> asyncio.Future[list[PollResult]]:
        """One shared check of a parent, however many children asked for it at once."""
        running = self._checks.get(device.id)
        if running is None or running.done():
            running = asyncio.ensure_future(self._check_alone(device))
            self._remember(device.id, running)
        return running

    def _remember(self, device_id: str, running: asyncio.Future[list[PollResult]]) -> None:
        self._checks[device_id] = running
        running.add_done_callback(partial(self._forget, device_id, running))

    def _forget(self, device_id: str, running: asyncio.Future[list[PollResult]], _done: object) -> None:
        if self._checks.get(device_id) is running:
            del self._checks[device_id]
