"""Login rate limiting: a sliding window of failures per (user name, client address) and per address.

Names are counted in their one normal form (:func:`normal_name`), the same form
authentication looks up, so ``" Admin"`` and ``admin`` share one count. A name is
locked per source: a stranger's failures from elsewhere never lock the duty
officer out of their own desk.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from collections import deque

MAX_KEYS = 50_000  # bound on remembered (name, address) pairs; the oldest are forgotten first


def normal_name(username: str) -> str:
    """The one form of a user name for look-ups and throttling: spaces trimmed, NFC, case folded."""
    return unicodedata.normalize("NFC", username.strip()).casefold()


class LoginLimiter:
    """Blocks a (name, address) pair after ``per_name`` failures, an address after ``per_ip`` (per window)."""

    def __init__(self, per_name: int = 5, per_ip: int = 20, window_s: float = 300.0) -> None:
        self.per_name, self.per_ip, self.window_s = per_name, per_ip, window_s
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _pair(username: str, ip: str) -> str:
        return f"u:{normal_name(username)}\x00{ip}"

    def retry_after(self, username: str, ip: str, now: float | None = None) -> int:
        """Seconds to wait before another try from ``ip`` as ``username`` (0: go ahead)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            waits = [
                self._wait(self._pair(username, ip), self.per_name, now),
                self._wait(f"ip:{ip}", self.per_ip, now),
            ]
        return max(waits)

    def failed(self, username: str, ip: str, now: float | None = None) -> None:
        """Count a failed login."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._fails) >= MAX_KEYS:
                self._prune(now)
            for key in (self._pair(username, ip), f"ip:{ip}"):
                self._fails.setdefault(key, deque()).append(now)

    def succeeded(self, username: str, ip: str) -> None:
        """A good login clears that name's failures from that address (the address keeps its count)."""
        with self._lock:
            self._fails.pop(self._pair(username, ip), None)

    def _wait(self, key: str, limit: int, now: float) -> int:
        fails = self._fails.get(key)
        if not fails:
            return 0
        while fails and now - fails[0] >= self.window_s:
            fails.popleft()
        if len(fails) < limit:
            return 0
        return max(1, int(self.window_s - (now - fails[0])) + 1)

    def _prune(self, now: float) -> None:
        """Forget expired windows; if still too many, the oldest half."""
        self._fails = {k: f for k, f in self._fails.items() if f and now - f[-1] < self.window_s}
        if len(self._fails) >= MAX_KEYS:
            newest = sorted(self._fails.items(), key=lambda kv: kv[1][-1])[len(self._fails) // 2 :]
            self._fails = dict(newest)
