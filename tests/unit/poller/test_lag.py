"""A silence heard while the poller's own loop was stalled is the poller's, not the device's."""

from __future__ import annotations

import asyncio
import time

from collectors.base import PollResult
from inventory.model import Device
from poller.engine import OVERLOADED, PollEngine, may_decide
from poller.lag import OVERLOAD_LAG_S, LoopLag

DEVICE = Device.model_validate({"id": "r1", "name": "r1", "site": "s", "role": "router",
                                "address": "127.0.0.1"})


class Silent:
    """A collector whose device never answers: its timeout fires after ``wait_s``."""

    name = "silent"

    def __init__(self, wait_s: float, stall_s: float = 0.0) -> None:
        self.wait_s, self.stall_s = wait_s, stall_s

    async def poll(self, device: Device, tags: dict[str, str]) -> PollResult:
        if self.stall_s:  # something else holds the loop meanwhile (a long evaluation, a page)
            asyncio.get_running_loop().call_soon(time.sleep, self.stall_s)
        await asyncio.sleep(self.wait_s)
        return PollResult(device.id, False, int(time.time()), error="timeout", error_kind="timeout")

    async def close(self) -> None:
        pass


async def poll_with(collector: Silent) -> PollResult:
    lag = LoopLag()
    lag.start()
    await asyncio.sleep(0.25)  # a few ticks
    engine = PollEngine(collector, asyncio.Semaphore(10), lambda d: {}, time.monotonic, lag=lag)  # type: ignore[arg-type]
    try:
        return await engine.poll(DEVICE, time.monotonic())
    finally:
        await lag.stop()


async def test_a_timeout_on_a_stalled_loop_is_overloaded_and_decides_nothing() -> None:
    result = await poll_with(Silent(0.2, stall_s=OVERLOAD_LAG_S + 0.3))
    assert result.error_kind == OVERLOADED and "behind" in (result.error or "")
    assert not may_decide(True, True, result)  # no state change, no backoff, no message


async def test_a_timeout_on_a_healthy_loop_stays_the_devices() -> None:
    result = await poll_with(Silent(0.3))
    assert result.error_kind == "timeout"
    assert may_decide(True, True, result)


def test_late_ticks_are_looked_up_from_a_start_and_forgotten_after_a_while() -> None:
    lag = LoopLag(keep_s=60)
    lag.note(100.0, 0.05)  # too little to keep
    lag.note(110.0, 1.5)
    lag.note(120.0, 0.4)
    assert lag.worst_since(105.0, now=121.0) == 1.5
    assert lag.worst_since(115.0, now=121.0) == 0.4
    lag.note(200.0, 0.3)  # 110 and 120 are now older than keep_s
    assert lag.worst_since(0.0, now=201.0) == 0.3
