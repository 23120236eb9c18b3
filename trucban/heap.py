"""The start-up heap, frozen once a process has built everything it keeps.

A national node holds a few hundred thousand long-lived objects (the
inventory, device states, indexes, the web app). CPython's full garbage
collection walks all of them, and evaluation allocates enough that one runs
every cycle or two: ~200 ms of the alerting core's time per national cycle
went there. Objects built at start-up live as long as the process, so after
one last collection they are moved out of the collector's sight
(``gc.freeze``); full collections then walk only what came after.

An evaluation also allocates in bursts (a batch's results, transitions,
conditions, rows) that mostly die within the call; with the default young
generation of 700 objects they are collected, promoted and walked again many
times over. A young generation of ``YOUNG_OBJECTS`` lets them die young:
measured on a national cycle, collector time fell from ~90 to ~25 ms.

A service that stops without its process ending (tests run several in one
process) thaws them again and puts the thresholds back, so what it leaves
behind can be collected.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)
YOUNG_OBJECTS = 10_000  # allocations between young collections (CPython's default: 700)
_before: tuple[int, int, int] | None = None  # thresholds in force before the first freeze


def freeze_startup_heap() -> int:
    """Collect once, freeze every object alive now and widen the young generation; return how many
    objects were frozen."""
    global _before
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    if _before is None:
        _before = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, *_before[1:])
    frozen = gc.get_freeze_count()
    log.info("start-up heap frozen: %d objects (%.0f ms)", frozen, (time.perf_counter() - started) * 1000)
    return frozen


def thaw_heap() -> None:
    """Give every frozen object back to the collector and restore its thresholds (a stopped
    service's objects can go)."""
    global _before
    gc.unfreeze()
    if _before is not None:
        gc.set_threshold(*_before)
        _before = None
