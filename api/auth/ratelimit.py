"""Login rate limiting: a sliding window of failures per user name and per client address."""

from __future__ import annotations

import threading
import time
from collections import deque


class LoginLimiter:
    """Blocks a name after ``per_name`` failures, an address after ``per_ip``, within ``window_s``."""

    def __init__(self, per_name: int = 5, per_ip: int = 20, window_s: float = 300.0) -> None:
        self.per_name, self.per_ip, self.window_s = per_name, per_ip, window_s
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, username: str, ip: str, now: float | None = None) -> int:
        """Seconds to wait before another try (0: go ahead)."""
        now = now or time.monotonic()
        with self._lock:
            waits = [
                self._wait(f"u:{username.lower()}", self.per_name, now),
                self._wait(f"ip:{ip}", self.per_ip, now),
            ]
        return max(waits)

    def failed(self, username: str, ip: str, now: float | None = None) -> None:
        """Count a failed login."""
        now = now or time.monotonic()
        with self._lock:
            for key in (f"u:{username.lower()}", f"ip:{ip}"):
                self._fails.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        """A good login clears the name's failures (the address keeps its count)."""
        with self._lock:
            self._fails.pop(f"u:{username.lower()}", None)

    def _wait(self, key: str, limit: int, now: float) -> int:
        fails = self._fails.get(key)
        if not fails:
            return 0
        while fails and now - fails[0] >= self.window_s:
            fails.popleft()
        if len(fails) < limit:
            return 0
        return max(1, int(self.window_s - (now - fails[0])) + 1)
