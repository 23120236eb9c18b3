"""The live channel: ``GET /api/live``, server-sent events telling a screen when to refresh.

Each ``state`` event carries ``v`` (a version of what the caller may see: it
changes when anything on its screens changed), ``ts`` (server time, epoch s),
``critical`` (open critical incidents in scope: the tab-title count),
``active`` and ``cycle_ts`` (start of the last poll cycle). One arrives at once,
on every change, and at least every refresh period (``refresh_s``), so a screen
that hears nothing for twice that period shows that its data is stale. Streams
end after a few minutes and browsers reconnect by themselves (``retry``);
uvicorn's shutdown ends them at once (sse-starlette). Not in the OpenAPI
document: a stream never ends by itself, which tools that call every operation
cannot handle.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from api.deps import LiveDep, Reader
from api.errors import responses

router = APIRouter(prefix="/api", tags=["live"], responses=responses(401, 403))
RETRY_MS = 1000  # the browser's reconnection delay after a dropped stream


@router.get("/live", include_in_schema=False, response_class=EventSourceResponse)
async def live(who: Reader, feed: LiveDep) -> EventSourceResponse:
    """Server-sent ``state`` events for the caller's scope (see the module docstring)."""

    shutdown = anyio.Event()  # set by sse-starlette when uvicorn shuts down: the stream ends cleanly

    async def events() -> AsyncIterator[dict[str, object]]:
        async for item in feed.stream(who, stop=shutdown):
            yield {"event": item["event"], "data": json.dumps(item["data"]), "retry": RETRY_MS}

    return EventSourceResponse(
        events(),
        ping=max(15, int(feed.heartbeat_s) * 3),
        headers={"Cache-Control": "no-store"},
        send_timeout=30,
        shutdown_event=shutdown,
        shutdown_grace_period=2.0,
    )
