"""One error shape for the whole JSON API: RFC 9457 problem details (``application/problem+json``).

``{"type", "title", "status", "detail"}`` (+ ``errors`` for invalid input). Pages
get a short Vietnamese HTML page instead, and 401 on a page sends people to log in.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA = "application/problem+json"


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


def _error_page(status: int, detail: str) -> str:
    from html import escape

    return (
        "<!doctype html><html lang='vi'><meta charset='utf-8'><title>Lỗi</title>"
        "<link rel='stylesheet' href='/static/trucban.css'><main class='narrow'>"
        f"<h1>{status} {escape(HTTPStatus(status).phrase)}</h1><p>{escape(detail)}</p>"
        "<p><a href='/'>Về trang chính</a></p></main></html>"
    )


def problem_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Document error responses as ``application/problem+json`` (as they are sent)."""
    for path in schema.get("paths", {}).values():
        for op in path.values():
            for code, resp in op.get("responses", {}).items():
                content = resp.get("content")
                if str(code).startswith(("4", "5")) and content and "application/json" in content:
                    content[PROBLEM_MEDIA] = content.pop("application/json")
    return schema
