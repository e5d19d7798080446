"""Who may call what: every management route x every key, and what the mobile app's answers
never carry. The app routes' key table runs on the test kit (test_order_flow_on_the_test_kit.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable

import pytest

from devhost.host import LocalHost
from devhost.taskhub.base import InstanceRecord
from tests.support.local_host import (
    WAIT_SECONDS,
    WEBHOOK,
    HttpApi,
    Reply,
    at_stage,
    ended,
    order_body,
    segment,
    stage_of,
)

# Events nobody waits for (the losers of a race, the "Ping" of the auth table) stay buffered;
# the SDK warns about each one when it replays. That is the documented, harmless case.
pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion")

TOKEN = "fcm-token-" + "Zq8" * 40  # long and unique, so any echo of it is unmistakable
EXISTING = "auth-existing-0001"
UNKNOWN = "auth-unknown-00001"
KEYS = ("wrong", "function", "master", "system")
CELLS = ["none"] + [f"{key} via {how}" for key in KEYS for how in ("header", "code=")]

# Management route -> (method, path below the host, body) and the status an authorised call
# gets (the app's routes are in test_order_flow_on_the_test_kit.py).
MANAGEMENT_ROUTES: dict[str, tuple[str, str, bytes, int]] = {
    "start": ("POST", f"{WEBHOOK}/orchestrators/OrderOrchestrator/{{cell}}", b"", 202),
    "status": ("GET", f"{WEBHOOK}/instances/{EXISTING}", b"", 202),
    "query": ("GET", f"{WEBHOOK}/instances", b"", 200),
    "raise event": ("POST", f"{WEBHOOK}/instances/{EXISTING}/raiseEvent/Ping", b'{"n": 1}', 202),
    "terminate": ("POST", f"{WEBHOOK}/instances/{UNKNOWN}/terminate?reason=x", b"", 404),
    "purge": ("DELETE", f"{WEBHOOK}/instances/{UNKNOWN}", b"", 404),
}
# Which keys pass each kind of route, as in Azure.
PASSES = {
    "anonymous": set(KEYS) | {"none"},
    "function": {"function", "master"},
    "system": {"master", "system"},
}


def expected_table(level: str, authorised: int) -> dict[str, int]:
    """The status of each cell for a route of auth ``level`` answering ``authorised``."""
    return {cell: authorised if cell.split(" ")[0] in PASSES[level] else 401 for cell in CELLS}


def start_input(order_id: str) -> bytes:
    """A valid orchestration input, as the starter would send it."""
    return json.dumps({"orderId": order_id, "regId": TOKEN,
                       "items": [{"name": "Margherita", "quantity": 1}],
                       "approvalTimeoutSeconds": 1800,
                       "pushRetry": {"maxAttempts": 2, "firstRetryMilliseconds": 100}}).encode()


async def call(api: HttpApi, cell: str, method: str, path: str, body: bytes) -> Reply:
    """Call ``path`` presenting the key ``cell`` names, in the header or in ``code=``."""
    key, _, how = cell.partition(" via ")
    headers = {"content-type": "application/json"}
    query = ""
    if key != "none" and how == "header":
        headers["x-functions-key"] = api.key(key)
    elif key != "none":
        query = f"code={segment(api.key(key))}"
    if "?" in path:
        path, _, extra = path.partition("?")
        query = f"{extra}&{query}" if query else extra
    return await api.request(method, path, data=body, headers=headers, query=query)


async def existing_order(host: LocalHost, api: HttpApi) -> InstanceRecord:
    """The order the status routes look at, waiting for approval."""
    assert (await api.place(order_body(EXISTING, TOKEN))).status == 202
    assert host.runtime is not None
    record: InstanceRecord = await host.runtime.client.wait_for(
        EXISTING, at_stage("awaiting_approval"), WAIT_SECONDS)
    return record


@pytest.mark.parametrize("route", list(MANAGEMENT_ROUTES))
async def test_management_api_needs_the_system_or_master_key(host: LocalHost, api: HttpApi,
                                                             route: str) -> None:
    """Protection: the webhook's system-key check; never anonymous, never the function key."""
    await existing_order(host, api)
    method, path, body, authorised = MANAGEMENT_ROUTES[route]
    actual = {}
    for number, cell in enumerate(CELLS):
        instance = f"auth-start-{number:04d}"
        sent = start_input(instance) if route == "start" else body
        reply = await call(api, cell, method, path.replace("{cell}", instance), sent)
        actual[cell] = reply.status
        if reply.status == 401:
            assert all(api.key(k) not in reply.text for k in ("function", "master", "system"))
    assert actual == expected_table("system", authorised)
    assert host.runtime is not None
    started = {r.instance_id for r in await host.runtime.client.query()} - {EXISTING}
    assert started == ({f"auth-start-{n:04d}" for n, c in enumerate(CELLS)
                        if c.split(" ")[0] in PASSES["system"]} if route == "start" else set())


SNEAKY_PATHS = [
    "/runtime/webhooks/durabletask/instances",
    "/runtime/webhooks/durabletask/instances/",
    "/runtime/webhooks/durabletask",
    "/RUNTIME/Webhooks/DurableTask/instances",
    "//runtime/webhooks/durabletask/instances",
    "/runtime//webhooks/durabletask/instances",
    "/runtime/webhooks/durabletask//instances",
    "/runtime/webhooks/%64urabletask/instances",
    "/runtime%2Fwebhooks%2Fdurabletask/instances",
    "/api/../runtime/webhooks/durabletask/instances",
    "/api/%2e%2e/runtime/webhooks/durabletask/instances",
    "/api/orders/..%2F..%2Fruntime%2Fwebhooks%2Fdurabletask%2Finstances",
    f"/runtime/webhooks/durabletask/instances/{EXISTING}",
    f"/runtime/webhooks/durabletask/instances/{EXISTING}/terminate",
    "/runtime/webhooks/durabletask/orchestrators/OrderOrchestrator",
    "/_devhost/rpc/not-the-secret/durabletask/instances",
    "/_devhost/rpc//durabletask/instances",
    "/_devhost/rpc/durabletask/instances",
]


@pytest.mark.parametrize("path", SNEAKY_PATHS)
async def test_management_api_is_never_reachable_anonymously(host: LocalHost, api: HttpApi,
                                                             path: str) -> None:
    """Protection: the webhook key check and the secret RPC prefix, for odd spellings too."""
    await existing_order(host, api)
    for method in ("GET", "POST", "DELETE"):
        for query in ("", "code=", "code=" + segment(api.key("function")),
                      "code=" + segment(api.key("wrong"))):
            reply = await api.request(method, path, data=b"{}", query=query,
                                      headers={"content-type": "application/json"})
            assert reply.status in (400, 401, 404, 405), (method, path, query, reply.status)
            # The host refused it: the management API (whose errors say "Message") never ran.
            assert isinstance(reply.body, dict) and "Message" not in reply.body, reply.text
    assert host.runtime is not None
    record = await host.runtime.client.get_instance(EXISTING)
    assert stage_of(record) == "awaiting_approval"


# Nothing secret in the mobile app's answers -----------------------------------------------------

def forbidden(api: HttpApi) -> list[str]:
    """What no answer to the mobile app may carry: keys, management URLs, the full token."""
    return [api.key("function"), api.key("master"), api.key("system"), "runtime/webhooks",
            "statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "code=",
            "_devhost/rpc", TOKEN]


def assert_clean(api: HttpApi, reply: Reply, what: str) -> None:
    """Neither the body nor any header of ``reply`` carries a forbidden string."""
    for secret in forbidden(api):
        assert secret not in reply.text, (what, secret[:20])
        for name, value in reply.headers.items():
            assert secret not in value, (what, name, secret[:20])


async def test_mobile_app_answers_carry_no_key_management_url_or_token(
        host: LocalHost, api: HttpApi) -> None:
    """Protection: _accepted/order_view expose only statusUrl and the journey, never more."""
    assert host.runtime is not None
    seen: list[tuple[str, Reply]] = []

    async def record(what: str, reply: Awaitable[Reply]) -> Reply:
        answer = await reply
        seen.append((what, answer))
        return answer

    order_id = "leak-check-00001"
    body = order_body(order_id, TOKEN)
    assert (await record("place", api.place(body))).status == 202
    polls = [record("status while running", api.status(order_id)) for _ in range(20)]
    await asyncio.gather(*polls)
    await host.runtime.client.wait_for(order_id, at_stage("awaiting_approval"), WAIT_SECONDS)
    assert (await record("place again", api.place(body))).status == 200
    other = order_body(order_id, TOKEN + "x")
    assert (await record("place conflicting", api.place(other))).status == 409
    assert (await record("place invalid", api.place({**body, "regId": 42}))).status == 400
    assert (await record("place with key", api.request(
        "POST", "/api/orders", json_body=order_body("leak-check-00002", TOKEN),
        headers={"x-functions-key": api.key("master")}))).status == 202
    assert (await record("status awaiting", api.status(order_id))).status == 200
    assert (await record("status bad id", api.status("..'"))).status == 400
    assert (await record("status unknown", api.status(UNKNOWN))).status == 404
    approved = await record("approve (staff)", api.approve(order_id, {"approved": True}))
    assert approved.status == 202
    await host.runtime.client.wait_for(order_id, ended, WAIT_SECONDS)
    final = await record("status finished", api.status(order_id))
    assert final.body["stage"] == "finished"
    assert (await record("approve ended (staff)", api.approve(order_id, {"approved": True}))
            ).status == 410
    for what, reply in seen:
        assert_clean(api, reply, what)
    assert final.body["timeline"] and final.body["result"]

