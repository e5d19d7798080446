"""Fixtures of the staff console's browser tests: the app on its host, the console open.

The host's virtual clock starts at the wall clock's present, so the time left the page
counts with the browser's clock matches the orders' deadlines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest
from playwright.async_api import Locator, Page, Request

from devhost.clock import VirtualClock
from devhost.host import LocalHost
from tests.support.local_host import HttpApi

LIST_PATH = "/api/orders"


@pytest.fixture
def clock() -> VirtualClock:
    """The task hub's clock, starting now (it moves only when the test advances it)."""
    return VirtualClock(datetime.now(timezone.utc).replace(microsecond=0))


@dataclass
class ListRequests:
    """The list requests the page has in flight, counted from the browser's own events."""

    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def watch(self, page: Page) -> None:
        """Count ``page``'s list requests as they start and end."""
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    @staticmethod
    def _is_list(request: Request) -> bool:
        return request.method == "GET" and request.url.split("?")[0].endswith(LIST_PATH)

    def _started(self, request: Request) -> None:
        if self._is_list(request):
            self.in_flight += 1
            self.idle.clear()

    def _ended(self, request: Request) -> None:
        if self._is_list(request):
            self.in_flight -= 1
            if self.in_flight == 0:
                self.idle.set()


@dataclass
class Console:
    """The staff console open in a browser page, with the host behind it."""

    page: Page
    api: HttpApi
    host: LocalHost
    lists: ListRequests

    @property
    def url(self) -> str:
        """Where the app serves the console."""
        return f"{self.host.base_url}/api/staff"

    def row(self, order_id: str) -> Locator:
        """The table row of ``order_id``."""
        return self.page.locator(f'#orders tbody tr[data-order-id="{order_id}"]')

    @property
    def rows(self) -> Locator:
        """Every order row."""
        return self.page.locator("#orders tbody tr")

    @property
    def message(self) -> Locator:
        """The page's message line."""
        return self.page.locator("#message")

    async def enter_key(self, key: str) -> None:
        """Type ``key`` into the Function key field and use it."""
        await self.page.get_by_label("Function key").fill(key)
        await self.page.get_by_role("button", name="Use key").click()

    async def freeze_polling(self) -> None:
        """Stop the page's timers (no more list polls) once no list request is in flight."""
        now = await self.page.evaluate("Date.now()")
        await self.page.clock.pause_at(now + 1)
        # A poll the pause fired may still be on its way to the browser's request events.
        await asyncio.sleep(0.2)
        if self.lists.in_flight:
            await asyncio.wait_for(self.lists.idle.wait(), timeout=30)

    async def resume_polling(self) -> None:
        """Let the page's timers run again."""
        await self.page.clock.resume()


@pytest.fixture
async def console(page: Page, api: HttpApi, host: LocalHost) -> AsyncIterator[Console]:
    """The console page loaded (no key yet), its timers under the test's control."""
    lists = ListRequests()
    lists.watch(page)
    await page.clock.install()
    opened = Console(page, api, host, lists)
    answer = await page.goto(opened.url)
    assert answer is not None and answer.status == 200
    yield opened
