"""A phone's view in the device simulator: place an order from the page, watch its pushes
arrive newest first, and flip the emulator's fault switches.

The app runs on a LocalHost (memory hub, virtual clock) whose ``Host.CORS`` allows the
emulator's origin, as the example settings do; the page calls the app cross-origin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page, expect

from devhost.host import LocalHost
from devhost.http.cors import CorsPolicy
from fcm_emulator import FcmEmulator
from tests.support import APP_DIR
from tests.support.local_host import GatedTaskHub, base_settings, client_of
from tests.support.process_state import forget_sdk_session, process_state_kept

pytestmark = pytest.mark.browser

# Generous: the machine is shared; the page itself refreshes every second.
WAIT_MS = 15_000


async def hosted(monkeypatch: pytest.MonkeyPatch, fcm: FcmEmulator,
                 cors: CorsPolicy | None) -> AsyncIterator[LocalHost]:
    """The order app on a LocalHost with ``cors``, the simulator pointed at it."""
    from devhost.clock import VirtualClock

    with process_state_kept():
        for name, value in base_settings(fcm).items():
            monkeypatch.setenv(name, value)
        forget_sdk_session()
        clock = VirtualClock()
        async with LocalHost(APP_DIR, lambda settings: GatedTaskHub(clock), port=0,
                             cors=cors) as local:
            fcm.app_url = f"{local.base_url}/api"
            yield local


@pytest.fixture
async def app_host(monkeypatch: pytest.MonkeyPatch, fcm: FcmEmulator
                   ) -> AsyncIterator[LocalHost]:
    """The app, allowing the emulator's origin as the example settings do."""
    async for local in hosted(monkeypatch, fcm, CorsPolicy((fcm.base_url,))):
        yield local


@pytest.fixture
async def closed_host(monkeypatch: pytest.MonkeyPatch, fcm: FcmEmulator
                      ) -> AsyncIterator[LocalHost]:
    """The app without any ``Host.CORS``."""
    async for local in hosted(monkeypatch, fcm, None):
        yield local


async def place_from_the_page(page: Page, fcm: FcmEmulator, token: str, order_id: str) -> None:
    """Open the token's page and place an order with the page's form."""
    await page.goto(f"{fcm.base_url}/?token={token}")
    await page.get_by_label("Order id (optional)").fill(order_id)
    await page.get_by_role("button", name="Place order").click()


async def test_an_order_placed_in_the_page_pushes_into_it(screenshots: Path, page: Page,
                                                          fcm: FcmEmulator,
                                                          app_host: LocalHost) -> None:
    """The page's order reaches the app across origins; its pushes appear as a phone lists
    them (stage, title, body, time), newest first, without a reload; after the approval the
    final push is on top."""
    await place_from_the_page(page, fcm, "sim-device-1", "sim-order-0001")
    await expect(page.locator("#order-result")).to_contain_text(
        "202: order sim-order-0001", timeout=WAIT_MS)
    stages = page.locator("#notifications .notification .stage")
    await expect(stages.first).to_have_text("awaiting_approval", timeout=WAIT_MS)
    await expect(stages).to_have_text(["awaiting_approval", "processing", "received"])
    pushed = fcm.messages("sim-device-1")
    newest = page.locator("#notifications .notification").first
    await expect(newest.locator(".title")).to_have_text(pushed[-1]["notification"]["title"])
    await expect(newest.locator(".body")).to_have_text(pushed[-1]["notification"]["body"])

    client = client_of(app_host)
    assert app_host.keys is not None
    async with aiohttp.ClientSession() as session, session.post(
            f"{app_host.base_url}/api/orders/sim-order-0001/approve",
            json={"approved": True, "note": "no pineapple on a Neapolitan"},
            headers={"x-functions-key": app_host.keys.function_key}) as answer:
        assert answer.status == 202
    await client.wait_for("sim-order-0001", timeout=30)
    await expect(stages.first).to_have_text("finished", timeout=WAIT_MS)
    await expect(stages).to_have_count(4)
    await page.screenshot(path=str(screenshots / "simulator.png"))


async def test_the_fault_switches_reach_the_emulator(page: Page, fcm: FcmEmulator,
                                                     app_host: LocalHost) -> None:
    """"Mark this token unregistered" makes the emulator refuse it, and the queue buttons
    queue faults for the next sends; the page shows both."""
    await page.goto(f"{fcm.base_url}/?token=sim-device-2")
    await page.get_by_role("button", name="Mark this token unregistered").click()
    await expect(page.locator("#token-state")).to_contain_text("unregistered",
                                                                timeout=WAIT_MS)
    await page.get_by_label("Next sends").fill("2")
    await page.get_by_role("button", name="Queue 503").click()
    await expect(page.locator("#fault-result")).to_have_text("the next 2 send(s) answer 503",
                                                             timeout=WAIT_MS)
    async with aiohttp.ClientSession() as session, session.get(
            f"{fcm.base_url}/emulator/state", params={"token": "sim-device-2"}) as answer:
        assert await answer.json() == {"token": "sim-device-2", "unregistered": True,
                                       "queuedFaults": 2}


async def test_without_host_cors_the_browser_refuses_the_call(
        page: Page, fcm: FcmEmulator, closed_host: LocalHost) -> None:
    """Without ``Host.CORS`` the browser blocks the cross-origin call: the page says how
    to fix it, and no order was started."""
    await place_from_the_page(page, fcm, "sim-device-3", "sim-order-0003")
    await expect(page.locator("#order-result")).to_contain_text("Host.CORS", timeout=WAIT_MS)
    assert await client_of(closed_host).get_instance("sim-order-0003") is None
