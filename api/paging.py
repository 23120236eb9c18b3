"""Paging for list endpoints: ``limit``/``offset`` in, ``X-Total-Count`` and ``Link`` out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import Path, Query, Request, Response

T = TypeVar("T")
MAX_LIMIT = 5000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="items to skip")]
MAX_ID = 2**63 - 1  # the largest integer the databases store; larger ids are bad input (422), not a 500
MAX_EPOCH = 4_102_444_800  # 2100-01-01 UTC: later instants are bad input for reports
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="số thứ tự (id)")]
Epoch = Annotated[int | None, Query(ge=0, le=MAX_EPOCH, description="epoch giây (UTC)")]


def set_headers(request: Request, response: Response, total: int, limit: int, offset: int) -> None:
    """Total count, and a ``Link: <…>; rel="next"`` when there is more."""
    response.headers["X-Total-Count"] = str(total)
    if offset + limit < total:
        url = request.url.include_query_params(offset=offset + limit, limit=limit)
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'


def page(request: Request, response: Response, items: Sequence[T], limit: int, offset: int) -> list[T]:
    """Slice an in-memory list and set the paging headers."""
    set_headers(request, response, len(items), limit, offset)
    return list(items[offset : offset + limit])
