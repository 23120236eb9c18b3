"""Hand-over of poll results, shared by every plan: samples to the store, decisions to the evaluator.

Why shared: each evaluation has a fixed cost besides its results (the rules
that read the store, the incident reconcile). With one hand-over per plan,
four plans on a national inventory called the evaluator four times as often,
each plan pacing itself as if it were alone, and together they took a whole
core. One :class:`Delivery` per poller gathers whatever any plan completed
within ``FLUSH_S`` (longer while evaluating is slow, so evaluation keeps to
``SINK_SHARE`` of the wall time) and hands it on in one store write and one
evaluation.

The evaluation runs in a worker thread, one hand-over at a time and in order:
a national evaluation takes a few hundred milliseconds, and on the event loop
it held up every poll's answer and every page for that long.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from collectors.base import PollResult
from store.base import MetricStore, Sample

log = logging.getLogger(__name__)
ResultSink = Callable[[dict[str, PollResult]], object]  # the return value is ignored
# results completed within this many seconds are handed to the evaluator together; the wait
# grows with the evaluator's own time (× SINK_SHARE⁻¹) so evaluating never takes over a core
FLUSH_S = 0.25
SINK_SHARE = 0.25


class Delivery:
    """Pending samples and state-deciding results of every plan, handed on together."""

    def __init__(self, store: MetricStore, sink: ResultSink, *, name: str = "poller") -> None:
        """``name`` labels the log line when the sink fails."""
        self.store = store
        self.sink = sink
        self.name = name
        self._samples: list[Sample] = []
        self._decided: list[PollResult] = []
        self._handle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_order = asyncio.Lock()  # hand-overs one at a time, oldest first
        self.sink_s = 0.0  # how long the last hand-over to the evaluator took

    def queue(self, samples: Iterable[Sample], decided: Iterable[PollResult]) -> None:
        """Hand these on soon (``FLUSH_S``, longer if evaluating is slow), with whatever else completed."""
        self._samples += samples
        self._decided += decided
        if self._handle is None:
            loop = asyncio.get_running_loop()
            self._handle = loop.call_later(max(FLUSH_S, self.sink_s / SINK_SHARE), self._flush_later)

    def _flush_later(self) -> None:
        task = asyncio.ensure_future(self.flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Write the pending samples, then give the newest deciding result of each device to the sink."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        async with self._in_order:
            samples, self._samples = self._samples, []
            results, self._decided = self._decided, []
            if samples:
                await asyncio.to_thread(self.store.write, samples)
            if not results:
                return
            decided: dict[str, PollResult] = {}
            for r in sorted(results, key=lambda r: r.observed_at):
                decided[r.device] = r  # the newest observation of each device
            started = time.perf_counter()
            try:
                await asyncio.to_thread(self.sink, decided)
            except Exception:  # an evaluator bug must not stop polling
                log.exception("%s: result sink failed", self.name)
            self.sink_s = time.perf_counter() - started

    async def drain(self) -> None:
        """Flush now and wait for hand-overs already under way."""
        await self.flush()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
