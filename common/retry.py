"""One backoff rule for every retry in Trucban, and the in-process retry loop built on it.

Whatever is retried — an outbox row on its channel, the metric spool waiting
for its store, a write to InfluxDB — waits ``base · 2^step`` seconds (capped),
optionally stretched by a random share so many retriers do not wake together.
:func:`exponential_delay` is that rule; :func:`retrying` is a `tenacity
<https://tenacity.readthedocs.io>`_ loop that applies it to a call made again
in place, bounded by attempts and by time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_before_delay

MAX_STEP = 62
"""Steps past this count as this: ``2**62`` seconds is beyond any cap, and no float overflows."""


def exponential_delay(step: int, base_s: float, max_s: float = math.inf, jitter: float = 0.0,
                      rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number ``step + 1``: ``min(base_s · 2^step, max_s)``.

    ``step`` is 0 for the first retry (the delay is ``base_s``) and grows by one
    per failure. With ``jitter`` the delay is multiplied by ``1 + jitter · rand()``
    (so it lies in ``[d, d · (1 + jitter)]``) after the cap.
    """
    delay = min(base_s * 2.0 ** min(max(step, 0), MAX_STEP), max_s)
    return delay * (1 + jitter * rand()) if jitter else delay


def retrying(*, attempts: int, base_s: float, within_s: float, retry_on: type[BaseException],
             max_s: float = math.inf, jitter: float = 0.0) -> Retrying:
    """A tenacity loop: up to ``attempts`` tries of a call while it raises ``retry_on``.

    Waits :func:`exponential_delay` between tries and never starts a wait that
    would end more than ``within_s`` after the first try began; the last
    ``retry_on`` error is raised when it gives up, any other error at once::

        for attempt in retrying(attempts=4, base_s=0.5, within_s=20, retry_on=OSError):
            with attempt:
                send()
    """

    def wait(state: RetryCallState) -> float:
        return exponential_delay(state.attempt_number - 1, base_s, max_s, jitter)

    return Retrying(stop=stop_after_attempt(attempts) | stop_before_delay(within_s), wait=wait,
                    retry=retry_if_exception_type(retry_on), reraise=True)
