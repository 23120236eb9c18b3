"""The start-up heap, frozen once a process has built everything it keeps.

A national node holds a few hundred thousand long-lived objects (the
inventory, device states, indexes, the web app). CPython's full garbage
collection walks all of them, and evaluation allocates enough that one runs
every cycle or two: ~200 ms of the alerting core's time per national cycle
went there. Objects built at start-up live as long as the process, so after
one last collection they are moved out of the collector's sight
(``gc.freeze``); full collections then walk only what came after. A
service that stops without its process ending (tests run several in one
process) thaws them again, so what it leaves behind can be collected.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def freeze_startup_heap() -> int:
    """Collect once, then freeze every object alive now; return how many were frozen."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("start-up heap frozen: %d objects (%.0f ms)", frozen, (time.perf_counter() - started) * 1000)
    return frozen


def thaw_heap() -> None:
    """Give every frozen object back to the collector (a stopped service's objects can go)."""
    gc.unfreeze()
