"""One error shape for the whole JSON API: RFC 9457 problem details (``application/problem+json``).

``{"type", "title", "status", "detail"}`` (+ ``errors`` for invalid input). Pages
get a short Vietnamese HTML page instead, and 401 on a page sends people to log in.
"""

from __future__ import annotations

import logging
import sqlite3
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError as SqlOperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.errors import StoreUnavailable

PROBLEM_MEDIA = "application/problem+json"
RETRY_AFTER_S = 30  # what a 503 asks the caller to wait
log = logging.getLogger(__name__)


class Problem(BaseModel):
    """An error answer (RFC 9457). ``detail`` says what went wrong and what to do."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


def problem_response(
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, errors=errors)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_MEDIA, headers=headers
    )


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error codes a route can answer with."""
    return {code: {"model": Problem, "description": HTTPStatus(code).phrase} for code in codes}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error its one shape."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = dict(exc.headers or {})
        if _is_api(request):
            return problem_response(exc.status_code, detail, headers=headers)
        if exc.status_code == 401:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return HTMLResponse(
            _error_page(exc.status_code, detail), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors) or "invalid request"
        if _is_api(request):
            return problem_response(422, detail, errors)
        return HTMLResponse(_error_page(422, detail), status_code=422)

    @app.exception_handler(StoreUnavailable)
    async def store_down(request: Request, exc: StoreUnavailable) -> Response:
        log.warning("%s %s: metric store unavailable: %s", request.method, request.url.path, exc)
        return _answer(request, 503, "kho số liệu đo (metric store) tạm thời không truy cập được, "
                       "thử lại sau (metric store unavailable)")

    @app.exception_handler(sqlite3.OperationalError)
    @app.exception_handler(SqlOperationalError)
    async def database_down(request: Request, exc: Exception) -> Response:
        log.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc)
        return _answer(request, 503, "cơ sở dữ liệu tạm thời không dùng được, thử lại sau "
                       "(database unavailable)")

    @app.exception_handler(OverflowError)
    async def too_large_number(request: Request, exc: OverflowError) -> Response:
        return _answer(request, 422, "số quá lớn (number out of range)")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        # The server logs the traceback (ServerErrorMiddleware re-raises); the body tells nothing inside.
        return _answer(request, 500, "lỗi nội bộ, đã ghi vào nhật ký máy chủ (internal error, logged)")


def _answer(request: Request, status: int, detail: str) -> Response:
    """A problem+json for the API, a short HTML page otherwise; 503s carry ``Retry-After``."""
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    if _is_api(request):
        return problem_response(status, detail, headers=headers)
    return HTMLResponse(_error_page(status, detail), status_code=status, headers=headers)


def _error_page(status: int, detail: str) -> str:
    from html import escape

    return (
        "<!doctype html><html lang='vi'><meta charset='utf-8'><title>Lỗi</title>"
        "<link rel='stylesheet' href='/static/trucban.css'><main class='narrow'>"
        f"<h1>{status} {escape(HTTPStatus(status).phrase)}</h1><p>{escape(detail)}</p>"
        "<p><a href='/'>Về trang chính</a></p></main></html>"
    )


def problem_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Document error responses as ``application/problem+json`` (as they are sent).

    Every operation also lists the errors any request can meet: 422 (bad input),
    503 (a dependency down), 401 when it needs credentials, and 400/413 when it
    takes a body (malformed, or larger than the route's limit).
    """
    ref = {"$ref": "#/components/schemas/Problem"}
    for path in schema.get("paths", {}).values():
        for op in path.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            codes = [422, 503]
            if op.get("security"):
                codes.append(401)
            if "requestBody" in op:
                codes += [400, 413]
            for code in codes:
                entry = {"description": HTTPStatus(code).phrase, "content": {PROBLEM_MEDIA: {"schema": ref}}}
                op["responses"].setdefault(str(code), entry)
            for code, resp in op.get("responses", {}).items():
                content = resp.get("content")
                if str(code).startswith(("4", "5")) and content and "application/json" in content:
                    content[PROBLEM_MEDIA] = content.pop("application/json")
    if schema.get("paths"):
        schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
            "Problem", Problem.model_json_schema()
        )
    return schema
