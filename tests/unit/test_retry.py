"""The one backoff rule (common.retry): the formulae it replaced, its cap, jitter and the tenacity loop."""

from __future__ import annotations

import time

import pytest

from common.retry import exponential_delay, retrying


def test_delay_doubles_from_base_up_to_the_cap() -> None:
    """Step 0 waits ``base``, each step doubles, the cap holds (the outbox: 5 s doubling to 120 s)."""
    assert [exponential_delay(n, 5.0, 120.0) for n in range(7)] == [5, 10, 20, 40, 80, 120, 120]


def test_same_as_the_formulae_it_replaced() -> None:
    """The outbox's ``min(b·2^(a-1), max)`` and the spool's repeated ``min(d·2, max)``."""
    for attempts in range(1, 40):
        assert exponential_delay(attempts - 1, 5.0, 120.0) == min(5.0 * 2 ** (attempts - 1), 120.0)
    delay = 1.0
    for failures in range(1, 40):
        delay = min(delay * 2, 60.0)
        assert exponential_delay(failures, 1.0, 60.0) == delay


def test_a_row_failing_for_days_never_overflows() -> None:
    """``5 * 2**1100`` overflows a float; a step that high is simply the cap."""
    assert exponential_delay(100_000, 5.0, 120.0) == 120.0
    assert exponential_delay(-3, 5.0, 120.0) == 5.0


def test_jitter_stretches_the_delay_within_its_share() -> None:
    """With jitter 1 the delay lies in [d, 2d] (the InfluxDB v1 writer's rule)."""
    assert exponential_delay(2, 0.5, jitter=1.0, rand=lambda: 0.0) == 2.0
    assert exponential_delay(2, 0.5, jitter=1.0, rand=lambda: 0.5) == 3.0
    assert 2.0 <= exponential_delay(2, 0.5, jitter=1.0) <= 4.0


def test_retrying_tries_again_only_on_its_error_and_gives_the_last_one_up() -> None:
    """``attempts`` tries on ``retry_on``, then that error; any other error at once."""
    tries: list[int] = []
    with pytest.raises(ConnectionError, match="3"):
        for attempt in retrying(attempts=3, base_s=0.001, within_s=5, retry_on=ConnectionError):
            with attempt:
                tries.append(1)
                raise ConnectionError(str(len(tries)))
    assert len(tries) == 3
    with pytest.raises(ValueError):
        for attempt in retrying(attempts=3, base_s=0.001, within_s=5, retry_on=ConnectionError):
            with attempt:
                tries.append(1)
                raise ValueError("not retried")
    assert len(tries) == 4


def test_retrying_never_waits_past_its_time_budget() -> None:
    """No wait starts that would end after ``within_s``: 0.05 + 0.1 fit in 0.3 s, 0.2 more does not."""
    started = time.monotonic()
    tries = 0
    with pytest.raises(OSError):
        for attempt in retrying(attempts=50, base_s=0.05, within_s=0.3, retry_on=OSError):
            with attempt:
                tries += 1
                raise OSError("down")
    assert tries == 3
    assert time.monotonic() - started < 0.3
