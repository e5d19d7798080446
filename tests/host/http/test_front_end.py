"""The HTTP front end serving a sample app: routing, requests, responses, keys, failures."""

import asyncio
import json
import logging
from typing import Any

import aiohttp
import pytest

from devhost.app.loader import load_app
from devhost.app.settings import load_settings
from devhost.http.keys import HostKeys
from devhost.http.server import HttpFrontEnd
from devhost.taskhub.base import RuntimeStatus
from tests.support import APP_DIR
from tests.support.front_end import (
    SAMPLE_APP,
    AppServer,
    AppWriter,
    FrontEndStarter,
    ServedApp,
)

ORDER_APP = APP_DIR


async def call(method: str, url: str, **kwargs: Any) -> tuple[int, Any, Any]:
    """One request; returns status, headers and the body (JSON when it is JSON)."""
    async with aiohttp.ClientSession() as session, session.request(method, url,
                                                                   **kwargs) as response:
        text = await response.text()
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        return response.status, response.headers, body


async def test_port_zero_gives_a_real_port(sample: HttpFrontEnd) -> None:
    """Asking for port 0 binds a free port, reported by ``port`` and ``base_url``."""
    assert sample.port > 0
    assert sample.base_url == f"http://127.0.0.1:{sample.port}"


async def test_request_is_mapped(sample: HttpFrontEnd) -> None:
    """Method, URL, route values, query (repeats joined), headers and body reach the
    function."""
    status, headers, body = await call(
        "POST", f"{sample.base_url}/api/echo/12/more?a=1&a=2&b=x",
        headers={"X-Test-Name": "value"}, data=b"raw body")
    assert status == 200
    assert headers["X-Echo"] == "sync"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert body["method"] == "POST"
    assert body["url"] == f"{sample.base_url}/api/echo/12/more?a=1&a=2&b=x"
    assert body["route"] == {"id": "12", "rest": "more"}
    assert body["params"] == {"a": "1,2", "b": "x"}
    assert body["headers"] == {"x-test-name": "value"}
    assert body["body"] == "raw body"


async def test_sync_function_runs_off_the_loop_thread(sample: HttpFrontEnd) -> None:
    """A sync function runs in a worker thread, an async one on the loop."""
    _, _, sync_body = await call("GET", f"{sample.base_url}/api/echo/1")
    _, _, async_body = await call("GET", f"{sample.base_url}/api/async-echo")
    assert (sync_body["loop_thread"], async_body["loop_thread"]) == (False, True)


async def test_sync_http_functions_share_the_sync_activities_pool(served_sample) -> None:
    """The Python worker runs every sync function, HTTP or activity, on its one pool of
    PYTHON_THREADPOOL_THREAD_COUNT threads; so does the host (the runtime's pool)."""
    _, _, body = await call("GET", f"{served_sample.front_end.base_url}/api/echo/1")
    pool = served_sample.runtime.workers.sync_pool
    assert body["thread"].startswith(pool._thread_name_prefix)


async def test_blocked_sync_function_does_not_block_others(sample: HttpFrontEnd) -> None:
    """A sync function waiting on a gate lets another request in to open it."""
    waiting = asyncio.create_task(call("GET", f"{sample.base_url}/api/wait"))
    await asyncio.sleep(0.05)
    assert (await call("GET", f"{sample.base_url}/api/release"))[0] == 200
    assert (await waiting)[2] == "released"


async def test_response_is_mapped(sample: HttpFrontEnd) -> None:
    """Status, headers, mimetype and charset of the func.HttpResponse come back."""
    status, headers, _ = await call("GET", f"{sample.base_url}/api/async-echo")
    assert status == 201
    assert headers["X-Echo"] == "async"
    assert headers["Content-Type"] == "text/plain; charset=latin-1"


async def test_optional_route_segment_and_prefix_case(sample: HttpFrontEnd) -> None:
    """The optional segment may be absent; the prefix and literals ignore case."""
    status, _, body = await call("GET", f"{sample.base_url}/API/Echo/5")
    assert status == 200
    assert body["route"] == {"id": "5"}


async def test_failed_constraint_is_not_found(sample: HttpFrontEnd) -> None:
    """``{id:int}`` with a non-number is no match at all: 404 JSON."""
    status, _, body = await call("GET", f"{sample.base_url}/api/echo/abc")
    assert (status, body["error"]) == (404, "not found")


async def test_unknown_paths_are_not_found(sample: HttpFrontEnd) -> None:
    """Paths outside the prefix and unknown routes get 404 JSON."""
    for path in ("/api/nothing-here", "/elsewhere", "/"):
        status, _, body = await call("GET", f"{sample.base_url}{path}")
        assert (status, body["error"]) == (404, "not found"), path


async def test_wrong_method_is_405(sample: HttpFrontEnd) -> None:
    """A route that exists for other methods answers 405 with Allow."""
    status, headers, body = await call("DELETE", f"{sample.base_url}/api/echo/1")
    assert status == 405
    assert body == {"error": "method not allowed", "allowed": ["GET", "POST"]}
    assert headers["Allow"] == "GET, POST"


async def test_function_exception_is_500_without_details(
        sample: HttpFrontEnd, caplog: pytest.LogCaptureFixture) -> None:
    """A raising function gives a bare 500; the traceback goes to the log only."""
    with caplog.at_level(logging.ERROR, logger="devhost.http.server"):
        status, _, body = await call("GET", f"{sample.base_url}/api/boom")
    assert status == 500
    assert body["error"] == "function failed"
    assert body["function"] == "boom"
    assert "kaboom" not in json.dumps(body)
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and "kaboom: internal detail" in str(logged[0].exc_info[1])
    assert body["invocationId"] in logged[0].getMessage()


async def test_non_response_return_is_500(sample: HttpFrontEnd) -> None:
    """Returning something that is not an HttpResponse is a function failure."""
    status, _, body = await call("GET", f"{sample.base_url}/api/bad-return")
    assert (status, body["error"]) == (500, "function failed")


async def test_request_body_limit(write_app: AppWriter,
                                  start_front_end: FrontEndStarter) -> None:
    """A body over the limit is refused with 413 JSON before the function runs."""
    front_end = await start_front_end(write_app(SAMPLE_APP), max_body_bytes=1024)
    status, _, body = await call("POST", f"{front_end.base_url}/api/echo/1", data=b"x" * 2048)
    assert (status, body["error"], body["limit"]) == (413, "request body too large", 1024)
    ok_status, _, _ = await call("POST", f"{front_end.base_url}/api/echo/1", data=b"x" * 512)
    assert ok_status == 200


AUTH_MATRIX = [
    ("open", None, 200),
    ("secret", None, 401),
    ("secret", "function", 200),
    ("secret", "master", 200),
    ("secret", "system", 401),
    ("secret", "wrong", 401),
    ("admin-only", None, 401),
    ("admin-only", "function", 401),
    ("admin-only", "system", 401),
    ("admin-only", "master", 200),
]


@pytest.mark.parametrize("carrier", ["header", "query"])
@pytest.mark.parametrize(("route", "key", "expected"), AUTH_MATRIX)
async def test_auth_matrix(write_app: AppWriter, start_front_end: FrontEndStarter,
                           route: str, key: str | None, expected: int, carrier: str) -> None:
    """Anonymous open; function needs function or master key; admin only master; the key
    may come as x-functions-key or code=."""
    folder = write_app(SAMPLE_APP)
    front_end = await start_front_end(folder)
    keys = HostKeys.load(folder)  # the same keys the front end read
    value = {"function": keys.function_key, "master": keys.master_key,
             "system": keys.system_key, "wrong": "not-a-key", None: None}[key]
    kwargs: dict[str, Any] = {}
    if value is not None:
        kwargs = {"headers": {"x-functions-key": value}} if carrier == "header" else {
            "params": {"code": value}}
    status, _, body = await call("GET", f"{front_end.base_url}/api/{route}", **kwargs)
    assert status == expected
    if expected == 401:
        assert body["error"] == "unauthorized"


async def test_route_prefix_from_host_json(write_app: AppWriter,
                                           start_front_end: FrontEndStarter) -> None:
    """host.json's routePrefix moves the functions; an empty prefix serves them at /."""
    v1 = await start_front_end(write_app(
        SAMPLE_APP, "v1", host__json='{"extensions": {"http": {"routePrefix": "v1"}}}'))
    root = await start_front_end(write_app(
        SAMPLE_APP, "root", host__json='{"extensions": {"http": {"routePrefix": ""}}}'))
    assert (await call("GET", f"{v1.base_url}/v1/open"))[0] == 200
    assert (await call("GET", f"{v1.base_url}/api/open"))[0] == 404
    assert (await call("GET", f"{root.base_url}/open"))[0] == 200


async def test_starter_gets_a_working_durable_client(served_sample: ServedApp) -> None:
    """A durableClient function receives binding JSON the SDK can use end to end: the
    instance it starts runs to completion."""
    sample = served_sample.front_end
    status, headers, body = await call("POST", f"{sample.base_url}/api/start/Hello",
                                       json={"city": "Tokyo"})
    assert status == 202
    record = await served_sample.client.wait_for(body["id"])
    assert (record.name, json.loads(record.input or "")) == ("Hello", {"city": "Tokyo"})
    assert record.runtime_status == RuntimeStatus.COMPLETED
    assert json.loads(record.output or "") == "Hello {'city': 'Tokyo'}"
    assert headers["Location"] == body["statusQueryGetUri"]
    assert body["statusQueryGetUri"].startswith(f"{sample.base_url}/runtime/webhooks/")


async def test_starter_failure_inside_sdk_is_500(sample: HttpFrontEnd) -> None:
    """The SDK raising on an unknown orchestrator surfaces as the function's 500."""
    status, _, body = await call("POST", f"{sample.base_url}/api/start/Nope", json={})
    assert (status, body["function"]) == (500, "start")


async def test_stop_is_idempotent(write_app: AppWriter, serve_app: AppServer) -> None:
    """stop() twice is harmless, and the port is free afterwards."""
    folder = write_app(SAMPLE_APP)
    served = await serve_app(folder)  # stopped once more when the test ends
    front_end = served.front_end
    port = front_end.port
    await front_end.stop()
    await front_end.stop()
    again = HttpFrontEnd(load_app(folder), served.client, HostKeys.load(folder),
                         load_settings(folder, environ={}), port=port)
    await again.start()
    await again.stop()


async def test_order_app_places_and_reads_an_order(serve_app: AppServer) -> None:
    """The real order app runs unchanged: place an order, retry it, read its status."""
    served = await serve_app(ORDER_APP, HostKeys("fn", "m", "s"))
    # The order stays Pending: this reads what the routes stored, not the order's journey
    # (whose pushes and backend delays the app tests cover).
    served.hub.hold_episodes()
    front_end = served.front_end
    order = {"orderId": "order-0001", "regId": "device-1",
             "items": [{"name": "pizza", "quantity": 2}]}
    status, _, body = await call("POST", f"{front_end.base_url}/api/orders", json=order)
    assert status == 202, body
    assert body["statusUrl"] == f"{front_end.base_url}/api/orders/order-0001"
    record = await served.client.get_instance("order-0001")
    assert record is not None and record.name == "OrderOrchestrator"
    assert json.loads(record.input or "")["items"] == [{"name": "pizza", "quantity": 2}]
    retried, _, _ = await call("POST", f"{front_end.base_url}/api/orders", json=order)
    assert retried == 200
    status, _, body = await call("GET", body["statusUrl"])
    assert (status, body["orderId"]) == (200, "order-0001")
    approve = f"{front_end.base_url}/api/orders/order-0001/approve"
    assert (await call("POST", approve, json={"approved": True}))[0] == 401
    assert [r.instance_id for r in await served.client.query()] == ["order-0001"]
