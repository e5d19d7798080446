"""Headless Chromium through Playwright, for the tests of the pages (``make test-browser``).

The browser is Debian's ``chromium`` (Playwright's own download cannot be fetched here), started
with the flags that keep it off the network beyond loopback. Tests marked ``browser`` are
skipped by ``make test`` and run by ``make test-browser``; without chromium on PATH they fail
with the command that installs it rather than pass unseen.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

# Loopback only: no background traffic, no component or sync downloads, no QUIC probes.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Screenshots the README shows: written here when UPDATE_SCREENSHOTS=1 (make screenshots),
# otherwise into each test's own temporary folder, so a test run leaves the tree as it was.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UPDATE_SCREENSHOTS = "UPDATE_SCREENSHOTS"
VIEWPORT = {"width": 1280, "height": 800}


def chromium_path() -> str:
    """The chromium executable, or a failure that says how to install it."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium (bash .ci/run does it)")
    return path


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A fresh headless Chromium with an empty profile, closed after the test."""
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=list(CHROMIUM_FLAGS))
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """One page in its own context (own storage, own session) at the README's viewport."""
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        yield await context.new_page()
    finally:
        await context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where a test writes its screenshots: docs/screenshots when asked, else a temp folder."""
    folder = DOCS_SCREENSHOTS if os.environ.get(UPDATE_SCREENSHOTS) == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder
