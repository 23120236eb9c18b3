"""Durable device and link states, so a restart neither forgets nor re-opens anything.

Links are stored beside devices under a ``link:`` prefix. A state is written
when what people see changes (status, since, failure count, reason, flapping);
the flap-detection history rides along then, and is checkpointed for every
changed state each ``checkpoint_every`` saves, so national cycles stay cheap.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, delete, insert, select

from alerting.db import device_states
from alerting.states import DeviceState, StateTracker, Status

LINK_PREFIX = "link:"


class StateRepository:
    """Saves and restores a :class:`StateTracker`'s states."""

    def __init__(self, engine: Engine, checkpoint_every: int = 10) -> None:
        self.engine = engine
        self.checkpoint_every = checkpoint_every
        self._saves = 0
        self._saved: dict[str, tuple] = {}  # last written (signature, history) per key

    def restore(self, tracker: StateTracker) -> int:
        """Load saved states into ``tracker`` (for known devices/links); return how many."""
        count = 0
        with self.engine.connect() as conn:
            for r in conn.execute(select(device_states)):
                state = DeviceState(r.device, Status(r.status), r.since, r.last_poll, r.failures,
                                    r.reason, list(r.history or []), bool(r.flapping), float(r.observed),
                                    Status(r.known), r.known_since)
                self._saved[r.device] = (_signature(state), tuple(state.history))
                if r.device.startswith(LINK_PREFIX):
                    link_id = r.device.removeprefix(LINK_PREFIX)
                    if link_id in tracker.links:
                        state.device = link_id
                        tracker.links[link_id] = state
                        count += 1
                elif r.device in tracker.states:
                    tracker.states[r.device] = state
                    count += 1
        return count

    def save(self, devices: Iterable[DeviceState], links: Iterable[DeviceState] = ()) -> None:
        """Write the states that changed since the last save, in one transaction."""
        self._saves += 1
        checkpoint = self._saves % self.checkpoint_every == 0
        rows = []
        for prefix, states in (("", devices), (LINK_PREFIX, links)):
            for state in states:
                key = prefix + state.device
                saved = self._saved.get(key)
                sig = _signature(state)
                if saved is None or saved[0] != sig or (checkpoint and saved[1] != tuple(state.history)):
                    rows.append(_row(key, state))
                    self._saved[key] = (sig, tuple(state.history))
        if not rows:
            return
        with self.engine.begin() as conn:
            keys = [r["device"] for r in rows]
            for i in range(0, len(keys), 500):
                conn.execute(delete(device_states).where(device_states.c.device.in_(keys[i:i + 500])))
            conn.execute(insert(device_states), rows)


def _row(key: str, s: DeviceState) -> dict:
    return {"device": key, "status": s.status.value, "since": s.since, "last_poll": s.last_poll,
            "failures": s.failures, "reason": s.reason, "history": list(s.history),
            "flapping": int(s.flapping), "observed": s.observed, "known": s.known.value,
            "known_since": s.known_since}


def _signature(s: DeviceState) -> tuple:
    return (s.status, s.since, s.failures, s.reason, s.flapping, s.known)
