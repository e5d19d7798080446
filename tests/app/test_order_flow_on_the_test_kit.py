"""The order flow on ``devhost.testing.DurableTestHost``: routes, keys and deadlines.

Tests that read as a story of requests and virtual time live here: each call returns once
the host is idle, so no test polls, and the 30-minute approval window passes in one call.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import azure.durable_functions as df
import pytest

from constants import APPROVAL_EVENT
from devhost.engine.protocol import EventType
from devhost.testing import DurableTestHost, Response
from tests.support import APP_DIR

# Events nobody waits for (the "Ping" of the auth table) stay buffered; the SDK warns about
# each one when it replays. That is the documented, harmless case.
pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion")

Status = df.OrchestrationRuntimeStatus
TIMEOUT_SECONDS = 1800
TOKEN = "fcm-token-" + "Zq8" * 40  # long and unique, so any echo of it is unmistakable
SETTINGS = {"BACKEND_ACTION_DELAY_SECONDS": "0", "APPROVAL_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
            "FCM_EMULATOR_HOST": "", "FCM_PROJECT_ID": "", "FCM_SERVICE_ACCOUNT_JSON": "",
            "GOOGLE_APPLICATION_CREDENTIALS": ""}
EXISTING = "auth-existing-0001"
UNKNOWN = "auth-unknown-00001"
KEYS = ("wrong", "function", "master", "system")
CELLS = ["none"] + [f"{key} via {how}" for key in KEYS for how in ("header", "code=")]
# Route -> (method, path, body) and the status an authorised call gets.
APP_ROUTES: dict[str, tuple[str, str, bytes, int]] = {
    "place order": ("POST", "/api/orders", b"{}", 400),
    "order status": ("GET", f"/api/orders/{EXISTING}", b"", 200),
    "approve": ("POST", f"/api/orders/{UNKNOWN}/approve", b'{"approved": true}', 404),
    "list orders": ("GET", "/api/orders", b"", 200),
    "staff console": ("GET", "/api/staff", b"", 200),
    "openapi": ("GET", "/api/openapi.json", b"", 200),
}
# The staff routes, which need the function key.
KEYED_APP_ROUTES = frozenset({"approve", "list orders"})
# Which keys pass each kind of route, as in Azure.
PASSES = {"anonymous": set(KEYS) | {"none"}, "function": {"function", "master"}}


@pytest.fixture
async def host() -> AsyncIterator[DurableTestHost]:
    """The order app on the test kit: no backend delay, no push configured."""
    async with DurableTestHost(APP_DIR, settings=SETTINGS) as started:
        yield started


def key_of(host: DurableTestHost, name: str) -> str:
    """The host's ``function``, ``master`` or ``system`` key, or a ``wrong`` one."""
    if name == "wrong":
        return "not-a-key-" + "x" * 32
    return str(getattr(host, f"{name}_key"))


async def place_waiting(host: DurableTestHost, order_id: str) -> None:
    """Place an order; it is waiting for approval once the call returns."""
    placed = await host.http("POST", "/api/orders", json={
        "orderId": order_id, "regId": TOKEN,
        "items": [{"name": "Neapolitan pizza with pineapple", "quantity": 1}]})
    assert placed.status_code == 202, placed.text
    assert (await host.status(order_id)).custom_status["stage"] == "awaiting_approval"


async def approve(host: DurableTestHost, order_id: str, body: Any) -> Response:
    """Staff approve with the function key."""
    return await host.http("POST", f"/api/orders/{order_id}/approve", json=body,
                           headers={"x-functions-key": host.function_key})


async def raised_approvals(host: DurableTestHost, order_id: str) -> int:
    """How many Approval events the order's history holds."""
    history = (await host.export(order_id))["history"]
    return sum(1 for event in history if event["EventType"] == EventType.EVENT_RAISED
               and event["Name"] == APPROVAL_EVENT)


async def test_approval_after_the_end_is_gone(host: DurableTestHost) -> None:
    """Protection: approve answers 410 for an ended order and the management API refuses too."""
    finished, expired = "after-end-finished-1", "after-end-expired-01"
    for order_id in (finished, expired):
        await place_waiting(host, order_id)
    assert (await approve(host, finished, {"approved": True})).status_code == 202
    await host.advance(seconds=TIMEOUT_SECONDS)  # only `expired` is still waiting
    for order_id, final in ((finished, "finished"), (expired, "expired")):
        status = await host.status(order_id)
        assert (status.runtime_status, status.custom_status["stage"]) == (Status.Completed, final)
        refused = await approve(host, order_id, {"approved": True})
        assert refused.status_code == 410
        assert set(refused.json()) == {"error", "details"}
        late = await host.http(
            "POST", f"/runtime/webhooks/durabletask/instances/{order_id}/raiseEvent/Approval",
            data=b'{"approved": true}', params={"code": host.system_key},
            headers={"content-type": "application/json"})
        assert late.status_code == 410
        assert await raised_approvals(host, order_id) == (1 if final == "finished" else 0)


async def call(host: DurableTestHost, cell: str, method: str, path: str,
               body: bytes) -> Response:
    """Call ``path`` presenting the key ``cell`` names, in the header or in ``code=``."""
    key, _, how = cell.partition(" via ")
    headers = {"content-type": "application/json"}
    params = {}
    if key != "none" and how == "header":
        headers["x-functions-key"] = key_of(host, key)
    elif key != "none":
        params["code"] = key_of(host, key)
    return await host.http(method, path, data=body, headers=headers, params=params)


@pytest.mark.parametrize("route", list(APP_ROUTES))
async def test_app_routes_check_keys_as_azure_does(host: DurableTestHost, route: str) -> None:
    """Protection: the host's key check per auth level (anonymous; the staff's: function)."""
    await place_waiting(host, EXISTING)
    method, path, body, authorised = APP_ROUTES[route]
    level = "function" if route in KEYED_APP_ROUTES else "anonymous"
    actual = {cell: (await call(host, cell, method, path, body)).status_code for cell in CELLS}
    assert actual == {cell: authorised if cell.split(" ")[0] in PASSES[level] else 401
                      for cell in CELLS}
    for cell in CELLS:
        reply = await call(host, cell, method, path, body)
        assert TOKEN not in reply.text and "code=" not in json.dumps(dict(reply.headers))
