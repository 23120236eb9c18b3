"""OpenNMS's downtime model: devices already down are re-polled on a backoff.

Why: a dead device costs a full timeout × retries every poll. At national
scale after a typhoon thousands may be down at once; polling them at the normal
rate would eat the cycle. As in OpenNMS's poller (``downtime`` elements), a
device down for less than 5 minutes is re-polled every interval, then every
5 minutes until 12 hours, then every 10 minutes; and its polls never hold up
the cycle of the devices that answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# (down for at least this many seconds, re-poll every this many seconds; None = every interval)
DEFAULT_MODEL: tuple[tuple[float, float | None], ...] = ((0, None), (300, 300), (43_200, 600))


@dataclass
class Downtime:
    """Which devices are down since when, and when each is due for its next poll."""

    model: tuple[tuple[float, float | None], ...] = DEFAULT_MODEL
    down_since: dict[str, float] = field(default_factory=dict)
    last_try: dict[str, float] = field(default_factory=dict)

    def record(self, device: str, ok: bool, timed_out: bool, now: float) -> None:
        """Fold in one poll: an answer clears the device, a timeout marks it down."""
        if ok or not timed_out:
            self.down_since.pop(device, None)
            self.last_try.pop(device, None)
            return
        self.down_since.setdefault(device, now)
        self.last_try[device] = now

    def is_down(self, device: str) -> bool:
        """True while the device's last poll timed out."""
        return device in self.down_since

    def every(self, device: str, now: float, interval_s: float) -> float:
        """Re-poll period of a down device at ``now`` (never shorter than the interval)."""
        down_for = now - self.down_since.get(device, now)
        period: float | None = None
        for begin, every in self.model:
            if down_for >= begin:
                period = every
        return max(interval_s, period) if period is not None else interval_s

    def due(self, device: str, now: float, interval_s: float) -> bool:
        """True when a down device should be tried again (always true for an up one)."""
        if device not in self.down_since:
            return True
        # a little slack so a poll scheduled "every interval" is not skipped by jitter
        return now - self.last_try.get(device, 0.0) >= self.every(device, now, interval_s) * 0.9
