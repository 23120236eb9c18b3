"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) that work offline.

FastAPI's defaults load both from a CDN, so on a command post without internet
``/docs`` is blank. The assets here come from the ``fastapi-offline`` package
(Swagger UI and ReDoc bundles, MIT licensed), installed as a dependency and
served under ``/docs/assets``; no request leaves the server (ReDoc's footer logo, which its
bundle always fetches from its CDN, points at a local image; Swagger UI's validator badge is off).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"  # ReDoc's footer logo, always fetched: served locally


def assets_dir() -> Path:
    """The Swagger UI and ReDoc bundles shipped by ``fastapi-offline``."""
    return Path(str(resources.files("fastapi_offline").joinpath("static")))


def install_docs(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Serve ``/docs``, ``/docs/oauth2-redirect`` and ``/redoc`` from local assets."""
    redoc_js = (assets_dir() / "redoc.standalone.js").read_text(encoding="utf-8")
    redoc_js = redoc_js.replace(REDOC_LOGO, f"{ASSETS}/favicon.png")
    title = f"{app.title} — API"

    @app.get(f"{ASSETS}/redoc.offline.js", include_in_schema=False)
    def redoc_bundle() -> Response:
        return Response(redoc_js, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    app.mount(ASSETS, StaticFiles(directory=str(assets_dir())), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},  # no badge from the public validator
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{ASSETS}/redoc.offline.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
