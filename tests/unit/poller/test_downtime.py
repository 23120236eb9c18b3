"""The downtime (backoff) model."""

from __future__ import annotations

from poller.cycle import jitter_fraction
from poller.downtime import Downtime


def test_backoff_stages_follow_opennms_defaults() -> None:
    down = Downtime()
    down.record("r1", ok=False, timed_out=True, now=1000.0)
    assert down.is_down("r1")
    assert down.every("r1", 1000.0 + 60, 30) == 30  # first 5 minutes: every interval
    assert down.every("r1", 1000.0 + 400, 30) == 300
    assert down.every("r1", 1000.0 + 50_000, 30) == 600
    down.record("r1", ok=False, timed_out=True, now=1400.0)
    assert not down.due("r1", 1500.0, 30)
    assert down.due("r1", 1700.0, 30)
    down.record("r1", ok=True, timed_out=False, now=1700.0)
    assert not down.is_down("r1") and down.due("r1", 1700.0, 30)


def test_auth_error_is_not_downtime() -> None:
    down = Downtime()
    down.record("r1", ok=False, timed_out=False, now=0.0)
    assert not down.is_down("r1")


def test_jitter_is_stable_and_spread() -> None:
    values = [jitter_fraction(f"c{i}-r1") for i in range(1000)]
    assert values == [jitter_fraction(f"c{i}-r1") for i in range(1000)]
    assert all(0 <= v < 1 for v in values)
    assert 0.4 < sum(values) / len(values) < 0.6
