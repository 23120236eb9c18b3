"""Per-channel rate limits: a token bucket per channel, on an injectable clock."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """``rate_per_minute`` sustained, ``burst`` at once."""

    rate_per_minute: float
    burst: int
    tokens: float = -1.0
    last: float = 0.0

    def take(self, now: float) -> float:
        """Take one token: 0.0 if granted, else seconds until one is available."""
        if self.tokens < 0:
            self.tokens, self.last = float(self.burst), now
        rate = self.rate_per_minute / 60.0
        self.tokens = min(float(self.burst), self.tokens + max(0.0, now - self.last) * rate)
        self.last = max(self.last, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / rate


@dataclass
class RateLimits:
    """One bucket per channel name."""

    limits: dict[str, tuple[float, int]]
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def take(self, channel: str, now: float) -> float:
        """0.0 when the channel may send now, else the wait in seconds."""
        if channel not in self.limits:
            return 0.0
        bucket = self.buckets.get(channel)
        if bucket is None:
            rate, burst = self.limits[channel]
            bucket = self.buckets[channel] = TokenBucket(rate, burst)
        return bucket.take(now)
