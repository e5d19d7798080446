"""The staff console in headless Chromium, against the app on a LocalHost (memory hub).

Orders are really placed and run; the page polls the real list route and decides through
the real approve route. Where a test needs the page to act on a list it has already
shown (an order decided elsewhere, or expired, meanwhile), the page's own timers are
paused with Playwright's clock, so no poll removes the row before the click.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.staff.conftest import Console
from tests.support.local_host import (
    WAIT_SECONDS,
    at_stage,
    client_of,
    custom_status,
    decided,
    ended,
    hub_of,
    runtime_of,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:Potential duplicate Task completion"),
]

TOKEN = "fcm-registration-token-of-the-customers-phone-0123456789"
# The multiplication sign the page writes between a quantity and its item.
TIMES = "\u00d7"
# Generous bounds for a loaded machine; the page polls every 0.75 s.
SEEN_MS = 15_000


def order(order_id: str, *items: tuple[str, int]) -> dict[str, Any]:
    """A place-order body (one pizza when no items are given)."""
    lines = items or (("Neapolitan pizza with pineapple", 1),)
    return {"orderId": order_id, "regId": TOKEN,
            "items": [{"name": name, "quantity": quantity} for name, quantity in lines]}


async def place_waiting(console: Console, order_id: str, *items: tuple[str, int]) -> None:
    """Place an order through the app and wait until it asks for approval."""
    assert (await console.api.place(order(order_id, *items))).status == 202
    await client_of(console.host).wait_for(order_id, at_stage("awaiting_approval"),
                                           WAIT_SECONDS)


async def journey(console: Console, order_id: str) -> dict[str, Any]:
    """The order's published custom status once its approval is decided."""
    record = await client_of(console.host).wait_for(order_id, decided, WAIT_SECONDS)
    return custom_status(record)


async def test_staff_approve_with_a_note_and_decline_from_the_console(console: Console):
    """Each waiting order is one row (id, items, time left); Approve and Decline decide it."""
    await place_waiting(console, "order-console-1", ("Margherita", 2), ("Tiramisu", 1))
    await place_waiting(console, "order-console-2")
    await console.enter_key(console.api.key("function"))

    first = console.row("order-console-1")
    await expect(console.rows).to_have_count(2, timeout=SEEN_MS)
    await expect(first.locator("td.order")).to_have_text("order-console-1")
    await expect(first.locator("td.items li")).to_have_text(
        [f"2 {TIMES} Margherita", f"1 {TIMES} Tiramisu"])
    left = await first.locator("td.time-left").inner_text()
    minutes, seconds = (int(part) for part in left.split(":"))
    assert 0 < minutes * 60 + seconds <= 1800

    await first.get_by_label("Note for order order-console-1").fill("no pineapple, sorry")
    await first.get_by_role("button", name="Approve").click()
    await expect(console.message).to_have_text("Order order-console-1 approved.")
    await expect(first).to_have_count(0)
    approved = (await journey(console, "order-console-1"))["approval"]
    assert (approved["outcome"], approved["note"]) == ("approved", "no pineapple, sorry")

    await console.row("order-console-2").get_by_role("button", name="Decline").click()
    await expect(console.message).to_have_text("Order order-console-2 declined.")
    declined = (await journey(console, "order-console-2"))["approval"]
    assert declined["outcome"] == "declined" and "note" not in declined
    await expect(console.rows).to_have_count(0, timeout=SEEN_MS)
    await expect(console.page.locator("#list-state")).to_have_text(
        "No orders are waiting for approval.")


async def test_new_orders_appear_and_decided_ones_leave_without_a_reload(console: Console):
    """An order placed while the page is open appears; one decided elsewhere leaves."""
    await console.enter_key(console.api.key("function"))
    await expect(console.page.locator("#list-state")).to_have_text(
        "No orders are waiting for approval.", timeout=SEEN_MS)
    await console.page.evaluate("window.sameDocument = true")

    await place_waiting(console, "order-live-0001")
    await expect(console.row("order-live-0001")).to_have_count(1, timeout=SEEN_MS)
    await place_waiting(console, "order-live-0002")
    await expect(console.rows).to_have_count(2, timeout=SEEN_MS)
    # Newest first.
    await expect(console.rows.locator("td.order")).to_have_text(
        ["order-live-0002", "order-live-0001"])

    assert (await console.api.approve("order-live-0001", {"approved": True})).status == 202
    await expect(console.row("order-live-0001")).to_have_count(0, timeout=SEEN_MS)
    await expect(console.rows).to_have_count(1)
    assert await console.page.evaluate("window.sameDocument") is True


async def test_an_order_decided_elsewhere_meanwhile_shows_409(console: Console):
    """Approving an order someone already declined says so, and records nothing more."""
    await place_waiting(console, "order-taken-001")
    hub_of(console.host).allow_activities(0)  # the final push waits: status stays put
    await console.enter_key(console.api.key("function"))
    row = console.row("order-taken-001")
    await expect(row).to_have_count(1, timeout=SEEN_MS)
    await console.freeze_polling()

    assert (await console.api.approve("order-taken-001", {"approved": False})).status == 202
    await journey(console, "order-taken-001")
    await row.get_by_role("button", name="Approve").click()
    await expect(console.message).to_have_text(
        "Order order-taken-001 was already decided elsewhere (declined). "
        "Your decision was not recorded.")
    await expect(row).to_have_count(0)
    assert (await journey(console, "order-taken-001"))["approval"]["outcome"] == "declined"
    await console.resume_polling()


async def test_an_order_that_expired_meanwhile_shows_410(console: Console):
    """Declining an order whose time ran out (and which ended) says it expired."""
    await place_waiting(console, "order-late-0001")
    await console.enter_key(console.api.key("function"))
    row = console.row("order-late-0001")
    await expect(row).to_have_count(1, timeout=SEEN_MS)
    await console.freeze_polling()

    await runtime_of(console.host).advance(seconds=1800 + 1)
    record = await client_of(console.host).wait_for("order-late-0001", ended, WAIT_SECONDS)
    assert custom_status(record)["stage"] == "expired"
    await row.get_by_role("button", name="Decline").click()
    await expect(console.message).to_have_text(
        "Order order-late-0001 has expired or ended before your decision arrived. "
        "Nothing was changed.")
    await expect(row).to_have_count(0)
    await console.resume_polling()


async def test_a_wrong_key_shows_a_clear_message_and_no_orders(console: Console):
    """A refused key says so in the page; no order is shown; the right key then works."""
    await place_waiting(console, "order-guard-001")
    await console.enter_key("not-the-function-key")
    await expect(console.message).to_have_text(
        "The function key was refused (401). Check it and enter it again.", timeout=SEEN_MS)
    await expect(console.rows).to_have_count(0)

    await console.enter_key(console.api.key("function"))
    await expect(console.row("order-guard-001")).to_have_count(1, timeout=SEEN_MS)
    await expect(console.message).to_be_hidden()


async def test_a_key_that_stops_working_refuses_the_decision_in_the_page(console: Console):
    """When the key in the tab is wrong by the time staff click, the page says so."""
    await place_waiting(console, "order-stale-001")
    await console.enter_key(console.api.key("function"))
    row = console.row("order-stale-001")
    await expect(row).to_have_count(1, timeout=SEEN_MS)
    await console.freeze_polling()
    await console.page.evaluate(
        "sessionStorage.setItem('staffConsole.functionKey', 'revoked-key')")
    await row.get_by_role("button", name="Approve").click()
    await expect(console.message).to_have_text(
        "The function key was refused (401). Check it and enter it again.")
    record = await hub_of(console.host).get_instance("order-stale-001")
    assert record is not None and "outcome" not in custom_status(record)["approval"]


async def test_an_outage_is_said_and_the_list_comes_back_by_itself(console: Console):
    """While the task hub cannot be read the page says so and keeps trying; then it recovers."""
    from devhost.errors import StorageUnavailable

    await place_waiting(console, "order-outage-01")
    await console.enter_key(console.api.key("function"))
    await expect(console.row("order-outage-01")).to_have_count(1, timeout=SEEN_MS)
    client = client_of(console.host)
    working = client.query

    async def unavailable(*args: Any) -> Any:
        raise StorageUnavailable("storage is down")

    client.query = unavailable  # type: ignore[method-assign]
    await expect(console.message).to_have_text(
        "The list could not be refreshed (answer 503); retrying.", timeout=SEEN_MS)
    await expect(console.row("order-outage-01")).to_have_count(1)
    client.query = working  # type: ignore[method-assign]
    await expect(console.message).to_be_hidden(timeout=SEEN_MS)
    await expect(console.row("order-outage-01")).to_have_count(1)


async def test_the_key_stays_in_the_tab_only(console: Console):
    """The key is in this tab's sessionStorage: not in localStorage, cookies, or the URL."""
    key = console.api.key("function")
    await console.enter_key(key)
    page = console.page
    assert await page.evaluate("sessionStorage.getItem('staffConsole.functionKey')") == key
    assert await page.evaluate("localStorage.length") == 0
    assert await page.context.cookies() == []
    assert key not in page.url
    await page.reload()
    await expect(page.get_by_label("Function key")).to_have_value(key)

    other_tab = await page.context.new_page()
    await other_tab.goto(console.url)
    await expect(other_tab.get_by_label("Function key")).to_have_value("")
    await other_tab.close()

    await page.get_by_role("button", name="Forget key").click()
    assert await page.evaluate("sessionStorage.length") == 0


async def test_item_names_are_shown_as_text_never_run(console: Console):
    """An item name holding markup is shown as typed; no script in it runs."""
    name = '<img src=x onerror="window.injected=1">'
    await place_waiting(console, "order-markup-01", (name, 1))
    await console.enter_key(console.api.key("function"))
    item = console.row("order-markup-01").locator("td.items li")
    await expect(item).to_have_text(f"1 {TIMES} {name}", timeout=SEEN_MS)
    assert await console.page.evaluate("window.injected") is None
    assert await console.page.locator("#orders img").count() == 0


async def test_the_page_loads_only_from_the_app(console: Console):
    """The page is anonymous and its files come from the app, under a strict CSP."""
    answer = await console.page.request.get(console.url)
    assert answer.status == 200
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "code=" not in await answer.text()
    for asset in ("console.js", "console.css"):
        loaded = await console.page.request.get(f"{console.url}/{asset}")
        assert loaded.status == 200
    missing = await console.page.request.get(f"{console.url}/secrets.json")
    assert missing.status == 404
    assert json.loads(await missing.text())["error"] == "no such file"


async def test_screenshot_of_the_console(screenshots: Path, console: Console):
    """The README's picture: three orders waiting, one just approved."""
    await place_waiting(console, "order-7f3a21", ("Neapolitan pizza with pineapple", 1),
                        ("Lemonade", 2))
    await place_waiting(console, "order-7f3a22", ("Quattro formaggi", 1))
    await place_waiting(console, "order-7f3a23", ("Margherita", 2), ("Tiramisu", 2))
    await place_waiting(console, "order-7f3a24", ("Diavola", 1))
    await console.enter_key(console.api.key("function"))
    await expect(console.rows).to_have_count(4, timeout=SEEN_MS)
    row = console.row("order-7f3a21")
    await row.get_by_label("Note for order order-7f3a21").fill("pineapple left off")
    await row.get_by_role("button", name="Approve").click()
    await expect(console.message).to_have_text("Order order-7f3a21 approved.")
    await expect(console.rows).to_have_count(3)
    await expect(console.page.locator("#list-state")).to_have_text(
        "3 orders are waiting for approval.")
    await console.row("order-7f3a23").get_by_label(
        "Note for order order-7f3a23").fill("tiramisu is sold out: offer panna cotta?")
    await console.page.screenshot(path=str(screenshots / "staff-console.png"),
                                  clip={"x": 0, "y": 0, "width": 1280, "height": 540})
    assert (screenshots / "staff-console.png").stat().st_size > 10_000
