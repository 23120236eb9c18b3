"""Durable device and link states, so a restart neither forgets nor re-opens anything.

Links are stored beside devices under a ``link:`` prefix. A state is written
when what people see changes (status, since, reason, flapping, and the failure
count while it still confirms a failure); the flap-detection history rides
along then, and a history that changed alone is checkpointed within
``checkpoint_every`` saves — each state on its own turn, so a national cycle
writes a tenth of them rather than every tenth cycle writing all. A save
looks only at the states it is told may have changed (and those a refused
save left), not at the whole inventory.

A save that fails (the disk is full or read-only, the database does not
answer) never stops the evaluation: the in-memory tracker stays the truth, the
failure is logged once per episode and counted in :func:`write_health`, and
the states not written are written at the next save.
"""

from __future__ import annotations

import json
import logging
import time
import weakref
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from alerting.bulk import execute_many, upsert_many
from alerting.db import device_states
from alerting.states import FAILED, DeviceState, StateTracker, Status
from store.disk import DiskFault, disk_fault

log = logging.getLogger(__name__)
LINK_PREFIX = "link:"
# what a write to the alerting database may fail with, without stopping the watch
WRITE_ERRORS = (SQLAlchemyError, OSError)


@dataclass
class WriteHealth:
    """Writes to one alerting database that failed: per part (states, history, incidents)."""

    where: str  # the database file's directory (SQLite) or the server, for people
    failures: dict[str, int] = field(default_factory=dict)  # part → failed writes since start
    failing: dict[str, str] = field(default_factory=dict)  # part → last error, while it keeps failing
    lost: dict[str, int] = field(default_factory=dict)  # part → records given up (too many waited)
    fault: DiskFault | None = None  # full / read-only, when that is the cause
    since: int | None = None  # when the current episode began (epoch s)

    def failed(self, part: str, exc: BaseException) -> None:
        """Count a failed write; log it once per episode (a part that was writing fine)."""
        self.failures[part] = self.failures.get(part, 0) + 1
        first = part not in self.failing
        self.failing[part] = _first_line(exc)
        self.fault = disk_fault(exc, self.where) or self.fault
        if self.since is None:
            self.since = int(time.time())
        if first:
            cause = self.fault.text() if self.fault else self.failing[part]
            log.error("alerting database: cannot write %s (%s); kept in memory, retried at the next "
                      "evaluation", part, cause)

    def ok(self, part: str) -> None:
        """A write of ``part`` went through: its episode is over."""
        if self.failing.pop(part, None) is not None:
            log.warning("alerting database: %s written again (%d failed writes in all)", part,
                        self.failures.get(part, 0))
        if not self.failing:
            self.fault, self.since = None, None

    @property
    def total(self) -> int:
        """Failed writes since start, all parts."""
        return sum(self.failures.values())


_HEALTH: weakref.WeakKeyDictionary[Engine, WriteHealth] = weakref.WeakKeyDictionary()


def write_health(engine: Engine) -> WriteHealth:
    """The write health of the alerting database behind ``engine`` (one per engine)."""
    health = _HEALTH.get(engine)
    if health is None:
        database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
        if database and database != ":memory:":
            where = str(Path(database).resolve().parent)
        else:
            where = engine.url.render_as_string(hide_password=True)
        health = _HEALTH[engine] = WriteHealth(where)
    return health


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class StateRepository:
    """Saves and restores a :class:`StateTracker`'s states."""

    def __init__(self, engine: Engine, checkpoint_every: int = 10) -> None:
        self.engine = engine
        self.checkpoint_every = checkpoint_every
        self._saves = 0
        self._saved: dict[str, tuple] = {}  # last written (signature, history) per key
        self._retry: dict[str, DeviceState] = {}  # given to a save the database refused
        self._by_turn: list[dict[str, DeviceState]] = [{} for _ in range(checkpoint_every)]  # observed
        self._turn: dict[str, int] = {}  # key → the save (modulo checkpoint_every) its history is due at
        self.health = write_health(engine)

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

    def save(self, devices: Iterable[DeviceState], links: Iterable[DeviceState] = (), *,
             observed: Iterable[DeviceState] = (), observed_links: Iterable[DeviceState] = ()) -> bool:
        """Write the states that changed since they were last written, in one transaction.

        ``devices``/``links``: the states whose fields may have changed since the
        last save (all of them is right too, only slower); each is looked at now.
        ``observed``/``observed_links``: states whose flap history alone may have
        changed; each is looked at on its checkpoint turn. False when the
        database refused (disk full, read-only…): nothing is raised, and what
        was not written waits, so a later save writes it.
        """
        self._saves += 1
        turn = self._saves % self.checkpoint_every
        check, self._retry = self._retry, {}
        for prefix, states in (("", devices), (LINK_PREFIX, links)):
            for state in states:
                check[prefix + state.device] = state
        by_turn, turns = self._by_turn, self._turn
        for prefix, states in (("", observed), (LINK_PREFIX, observed_links)):
            for state in states:
                key = prefix + state.device if prefix else state.device
                t = turns.get(key)
                by_turn[self._turn_of(key) if t is None else t][key] = state
        due, by_turn[turn] = by_turn[turn], {}
        rows = []  # whole rows (new, or what people see changed)
        histories = []  # only the flap history (and when it was observed) changed: a narrower update
        written: dict[str, tuple] = {}
        saved_of = self._saved.get
        for key, state in check.items():
            saved = saved_of(key)
            sig = _signature(state)
            history = tuple(state.history)
            if saved is not None and saved[0] == sig:
                if history == saved[1] or self._turn_of(key) != turn:
                    continue  # unchanged, or only the history changed: written on its turn
                histories.append((_history_json(history), state.last_poll, state.observed, key))
            else:
                rows.append(_row(key, state, history))
            written[key] = (sig, history)
        for key, state in due.items():
            if key in check:
                continue
            saved = saved_of(key)
            sig = _signature(state)
            history = tuple(state.history)
            if saved is None or saved[0] != sig:
                rows.append(_row(key, state, history))
            elif saved[1] != history:
                histories.append((_history_json(history), state.last_poll, state.observed, key))
            else:
                continue
            written[key] = (sig, history)
        if not rows and not histories:
            return True
        try:
            with self.engine.begin() as conn:
                upsert_many(conn, device_states, "device", COLUMNS, rows)
                execute_many(conn, CHECKPOINT, histories)
        except WRITE_ERRORS as exc:
            self.health.failed("states", exc)
            self._retry = check  # looked at again at the next save
            for key, state in due.items():
                by_turn[turn].setdefault(key, state)  # and these on their next turn
            return False
        self._saved.update(written)
        self.health.ok("states")
        return True

    def _turn_of(self, key: str) -> int:
        """The saves (modulo ``checkpoint_every``) at which a changed history of ``key`` is written:
        spread evenly, and the same in every process."""
        turn = self._turn.get(key)
        if turn is None:
            turn = self._turn[key] = zlib.crc32(key.encode()) % self.checkpoint_every
        return turn


CHECKPOINT = "UPDATE device_states SET history = {}, last_poll = {}, observed = {} WHERE device = {}"
COLUMNS = ("device", "status", "since", "last_poll", "failures", "reason", "history", "flapping", "observed",
           "known", "known_since")


def _row(key: str, s: DeviceState, history: tuple[int, ...]) -> tuple:
    """The ``COLUMNS`` of ``s`` (whose history is ``history``) stored under ``key``."""
    return (key, s.status.value, s.since, s.last_poll, s.failures, s.reason, _history_json(history),
            int(s.flapping), s.observed, s.known.value, s.known_since)


@lru_cache(maxsize=1 << 14)
def _history_json(history: tuple[int, ...]) -> str:
    """A flap history as stored (JSON); most states share a few histories."""
    return json.dumps(list(history))


def _signature(s: DeviceState) -> tuple:
    """What a save compares. The failure count matters only until a device is down or
    unreachable (it confirms the failure), so a device that stays down is not rewritten at
    every failed poll; its row is rewritten, with the count, when its status moves on.

    Made of plain values only, so the collector stops tracking the ~30k kept per national
    inventory (tuples of atomic values are untracked)."""
    return (s.status._value_, s.since, s.failures if s.status not in FAILED else -1, s.reason, s.flapping,
            s.known._value_)  # ``_value_``: the plain string, without Enum's hash or property on the way
