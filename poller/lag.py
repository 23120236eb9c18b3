"""How far behind the poller's event loop runs — so its own overload is never blamed on a device.

Why: an overloaded node (a national inventory on too few cores, a long
evaluation holding the interpreter) reads its sockets late. Answers pile up in
the receive buffer, overflow it, or are read after their timeout fired, and a
device that answered looks silent. bench.national found tens of thousands of
such "timeouts" in one cycle, and false outage messages with them. A poll that
timed out while the loop ran more than ``OVERLOAD_LAG_S`` behind is
``overloaded``: the poller cannot vouch for it, so it decides nothing about the
device (no state change, no backoff, no message); the cycle report counts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque

OVERLOAD_LAG_S = 1.0  # a loop this late cannot tell a silent device from its own backlog
TICK_S = 0.1


class LoopLag:
    """Samples the event loop's lateness every ``TICK_S`` and remembers the late ticks for a while."""

    def __init__(self, keep_s: float = 120.0) -> None:
        """Late ticks older than ``keep_s`` are forgotten (a poll lasts far less)."""
        self.keep_s = keep_s
        self._late: deque[tuple[float, float]] = deque()  # (when measured, how late), oldest first
        self._last_tick: float | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin sampling on the running loop (once)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            self._last_tick = before
            await asyncio.sleep(TICK_S)
            self.note(time.monotonic(), time.monotonic() - before - TICK_S)

    def note(self, at: float, late_s: float) -> None:
        """Record one tick that ran ``late_s`` behind at ``at`` (monotonic seconds)."""
        if late_s >= OVERLOAD_LAG_S / 10:
            self._late.append((at, late_s))
        while self._late and self._late[0][0] < at - self.keep_s:
            self._late.popleft()

    def worst_since(self, since: float, now: float | None = None) -> float:
        """The most the loop has been behind since ``since`` (monotonic), the stall under way included."""
        now = time.monotonic() if now is None else now
        worst = 0.0
        for at, late in reversed(self._late):  # newest first: a poll looks back seconds, not minutes
            if at < since:
                break
            worst = max(worst, late)
        if self._last_tick is not None and self._task is not None:
            worst = max(worst, now - self._last_tick - TICK_S)  # a stall not yet measured by a tick
        return max(worst, 0.0)
