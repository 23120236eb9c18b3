"""Headless Chromium (Debian's ``chromium``, never a downloaded browser) driven by Playwright's async API."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest_asyncio.fixture(scope="session", name="browser")
async def browser_fixture() -> AsyncIterator[object]:
    """One Chromium for the session (skips only when the system browser is missing)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian package 'chromium' is not installed (deploy/debian-packages.txt)")
    from playwright.async_api import async_playwright

    pw = await async_playwright().start()
    chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        yield chromium
    finally:
        await chromium.close()
        await pw.stop()


async def shot(page: object, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


async def log_in(page: object, url: str, username: str, password: str) -> None:
    """Fill the login form like a person."""
    await page.goto(url + "/login")  # type: ignore[attr-defined]
    await page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    await page.fill("input[name=password]", password)  # type: ignore[attr-defined]
    await page.click("#login-submit")  # type: ignore[attr-defined]
    await page.wait_for_load_state("domcontentloaded")  # type: ignore[attr-defined]
