"""The live channel's feed: one watcher per app tells every open screen when what it shows has changed.

Once a second (``tick_s``) the watcher reads, in a worker thread, the shared
picture (commune summaries, coordinator rows, active incidents, last poll
cycle) and the newest incident timeline line (:mod:`alerting.marks`), and
derives one *version* per scope among the connected clients: a commune-scoped
viewer's version is computed from its own communes only, so it never changes
because another commune moved. Each client (a server-sent events stream, see
:mod:`api.routes.live`) gets a ``state`` message when its version changes and
at least every ``heartbeat_s`` (the page's refresh period), so a browser that
hears nothing for twice that period knows the link is gone and says so.

The work per tick does not grow with the number of clients: 50 open screens of
one scope cost one digest per new picture and one index lookup per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio

from alerting.incidents import IncidentStatus, Severity
from alerting.marks import IncidentMarks
from api.auth.roles import Principal
from api.context import ApiContext
from api.picture import Picture, PictureCache

Scope = frozenset[str] | None  # a principal's communes (None: the whole network)
TICK_S = 1.0
MAX_AGE_S = 300.0  # a stream ends after this; the browser reconnects at once (and is authenticated again)


@dataclass(frozen=True, slots=True)
class LiveState:
    """What one scope's screens are told."""

    version: str  # changes whenever anything shown to the scope changed
    critical: int  # open (not yet acknowledged) critical incidents in scope: the tab-title count
    active: int  # active incidents in scope
    cycle_ts: int | None  # when the last poll cycle started (epoch s), None before the first
    poll_s: float | None = None  # that plan's interval: data older than two of them is stale

    def message(self, now: float) -> dict[str, object]:
        """The ``state`` event's data."""
        return {"v": self.version, "ts": int(now), "critical": self.critical, "active": self.active,
                "cycle_ts": self.cycle_ts, "poll_s": self.poll_s}


class LiveFeed:
    """Shared by every live client of one app; the watcher runs only while some client is connected."""

    def __init__(
        self,
        ctx: ApiContext,
        picture: PictureCache,
        tick_s: float = TICK_S,
        heartbeat_s: float | None = None,
        max_age_s: float = MAX_AGE_S,
    ) -> None:
        self.ctx, self.picture = ctx, picture
        self.tick_s = tick_s
        self.heartbeat_s = float(heartbeat_s if heartbeat_s is not None else ctx.web.refresh_s)
        self.max_age_s = max_age_s
        self.marks = IncidentMarks(ctx.alerting.engine) if ctx.alerting is not None else None
        self.states: dict[Scope, LiveState] = {}
        self._scopes: Counter[Scope] = Counter()
        self._events: dict[tuple[Scope, int], int] = {}  # (scope, newest line overall) → newest in scope
        self._digests: dict[tuple[int, Scope], str] = {}  # (id of the picture, scope) → its digest
        self._lock = threading.Lock()
        self._watcher: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @property
    def clients(self) -> int:
        """Live streams open right now."""
        return sum(self._scopes.values())

    async def stream(
        self, who: Principal, stop: anyio.Event | None = None
    ) -> AsyncIterator[dict[str, object]]:
        """``state`` events for ``who``: at once, on every change of its version, and every heartbeat;
        ends when ``stop`` is set (the server shuts down) or after ``max_age_s``."""
        scope: Scope = None if who.communes is None else frozenset(who.communes)
        self._scopes[scope] += 1
        try:
            if scope not in self.states:
                await anyio.to_thread.run_sync(self._compute, [scope])
            self._ensure_watcher()
            started = sent_at = time.monotonic()
            sent = self.states[scope]
            yield {"event": "state", "data": sent.message(time.time())}
            while time.monotonic() - started < self.max_age_s:
                wait = max(0.05, self.heartbeat_s - (time.monotonic() - sent_at))
                if await _until(self._changed, stop, wait):
                    return
                state = self.states.get(scope, sent)
                if state.version != sent.version or time.monotonic() - sent_at >= self.heartbeat_s:
                    yield {"event": "state", "data": state.message(time.time())}
                    sent, sent_at = state, time.monotonic()
        finally:
            self._scopes[scope] -= 1
            if self._scopes[scope] <= 0:
                del self._scopes[scope]

    def _ensure_watcher(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(self._watch(), name="live-feed")

    async def _watch(self) -> None:
        """Recompute the connected scopes' states every tick; wake the streams when one changed."""
        while self._scopes:
            await asyncio.sleep(self.tick_s)
            before = dict(self.states)
            try:
                await anyio.to_thread.run_sync(self._compute, list(self._scopes))
            except Exception:  # noqa: BLE001 - a database hiccup: the heartbeats go on, the next tick retries
                continue
            if any(before.get(s) != self.states.get(s) for s in self.states):
                changed, self._changed = self._changed, asyncio.Event()
                changed.set()
        self.states.clear()  # nobody listens: the next client starts from fresh figures

    def _compute(self, scopes: list[Scope]) -> None:
        """The states of ``scopes`` now (worker thread: reads the picture and the alerting database)."""
        with self._lock:
            self._compute_locked(scopes)

    def _compute_locked(self, scopes: list[Scope]) -> None:
        pic = self.picture.get()  # a new poll cycle starts a rebuild; the next tick sees it
        newest = self.marks.newest() if self.marks is not None else 0
        last = self.ctx.cycle.last
        cycle_ts = int(last.started) if last is not None and getattr(last, "started", None) else None
        poll_s = float(last.interval_s) if last is not None and cycle_ts and last.interval_s else None
        self._events = {k: v for k, v in self._events.items() if k[1] == newest}
        self._digests = {k: v for k, v in self._digests.items() if k[0] == id(pic)}
        for scope in scopes:
            if (id(pic), scope) not in self._digests:
                self._digests[(id(pic), scope)] = _digest(pic, scope)
            digest = self._digests[(id(pic), scope)]
            if scope is None or self.marks is None:
                events = newest
            else:
                key = (scope, newest)
                if key not in self._events:
                    self._events[key] = self.marks.newest_in(scope)
                events = self._events[key]
            active = [i for i in pic.active if scope is None or i.commune in scope]
            critical = sum(
                1 for i in active if i.severity >= Severity.CRITICAL and i.status is IncidentStatus.OPEN
            )
            version = f"{digest}.{events}.{cycle_ts or 0}"
            self.states[scope] = LiveState(version, critical, len(active), cycle_ts, poll_s)


async def _until(changed: asyncio.Event, stop: anyio.Event | None, timeout: float) -> bool:
    """Wait until ``changed`` or ``stop`` is set, or ``timeout`` passed; True when it is ``stop``."""
    if stop is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout=timeout)
        return False
    if stop.is_set():
        return True
    waits = {asyncio.ensure_future(changed.wait()), asyncio.ensure_future(stop.wait())}
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
    return stop.is_set()


def _digest(pic: Picture, scope: Scope) -> str:
    """A short hash of everything the scope's screens show from the picture."""
    def seen(code: str | None) -> bool:
        return scope is None or (code is not None and code in scope)

    h = hashlib.blake2b(digest_size=8)
    for c in pic.communes:
        if seen(c.code):
            h.update(repr((c.code, c.status, c.devices, c.problem_devices)).encode())
    for r in pic.coordinator:
        if seen(r.code):
            h.update(repr((r.code, r.bts, r.minutes_left, r.charge_pct, r.connectivity, r.incidents,
                           r.storm)).encode())
    for i in pic.active:
        if seen(i.commune):
            h.update(repr((i.id, i.status, int(i.severity), i.title, i.acked_by, i.updated_at)).encode())
    return h.hexdigest()
