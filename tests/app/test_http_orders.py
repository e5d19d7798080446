"""The mobile app's routes, called as the built functions the host indexes.

``POST /api/orders`` places an order and ``GET /api/orders/{orderId}`` reads it; both get
the in-memory durable client stand-in, which answers like the SDK client does.
"""

import json
import re
from typing import Any

import azure.functions as func
import pytest

from constants import (
    DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    DEFAULT_PUSH_FIRST_RETRY_MS,
    DEFAULT_PUSH_MAX_ATTEMPTS,
    ORDER_ORCHESTRATOR,
    ORDER_STATUS_FUNCTION,
    PLACE_ORDER_FUNCTION,
    SETTING_APPROVAL_TIMEOUT,
    SETTING_PUSH_FIRST_RETRY_MS,
    SETTING_PUSH_MAX_ATTEMPTS,
)
from models.orders import ORDER_ID_PATTERN
from tests.app.durable_client_standin import (
    COMPLETED,
    FAILED,
    PENDING,
    RUNNING,
    TERMINATED,
    DurableClientStandIn,
    Started,
    built_functions,
)

API = "http://localhost:7071/api"
REG_ID = "fcm-registration-token-of-the-customers-phone-0123456789"
ORDER_ID = "order-0001"
ITEMS = [{"name": "Margherita", "quantity": 2}, {"name": "Cola", "quantity": 1}]
BODY_LIMIT = 16 * 1024  # the published limit, pinned here rather than read from the app
LEAKS = ("statusQueryGetUri", "sendEventPostUri", "code=", "runtime/webhooks", REG_ID)


@pytest.fixture(autouse=True)
def _default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from the default flow settings, whatever the environment holds."""
    for name in (SETTING_APPROVAL_TIMEOUT, SETTING_PUSH_MAX_ATTEMPTS,
                 SETTING_PUSH_FIRST_RETRY_MS):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def client() -> DurableClientStandIn:
    """An empty task hub behind the stand-in client."""
    return DurableClientStandIn()


def order(**changes: Any) -> dict:
    """A valid order body, with some fields changed (``None`` removes one)."""
    body: dict[str, Any] = {"regId": REG_ID, "items": [dict(item) for item in ITEMS]}
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def stored_input(order_id: str, reg_id: str = REG_ID, items: list | None = None) -> dict:
    """The orchestration input a start with default settings passes for an order."""
    return {
        "orderId": order_id,
        "regId": reg_id,
        "items": ITEMS if items is None else items,
        "approvalTimeoutSeconds": DEFAULT_APPROVAL_TIMEOUT_SECONDS,
        "pushRetry": {"maxAttempts": DEFAULT_PUSH_MAX_ATTEMPTS,
                      "firstRetryMilliseconds": DEFAULT_PUSH_FIRST_RETRY_MS},
    }


def entry(stage: str, seq: int) -> dict:
    """A timeline entry as the orchestrator publishes it."""
    return {"stage": stage, "at": f"2025-01-01T12:0{seq}:00Z", "seq": seq,
            "push": {"outcome": "sent", "messageId": f"projects/demo/messages/{seq}"}}


def journey(*stages: str, approval: dict | None = None) -> dict:
    """A custom status that reached ``stages`` in order."""
    status: dict[str, Any] = {
        "stage": stages[-1],
        "timeline": [entry(stage, seq) for seq, stage in enumerate(stages, start=1)],
    }
    if approval is not None:
        status["approval"] = approval
    return status


def result(stage: str, seq: int) -> dict:
    """One BackendAction result, as the orchestrator's output lists them."""
    return {"orderId": ORDER_ID, "stage": stage, "seq": seq,
            "push": {"outcome": "sent", "messageId": f"projects/demo/messages/{seq}"}}


async def place(client: DurableClientStandIn, body: Any, url: str = f"{API}/orders"
                ) -> func.HttpResponse:
    """POST ``body`` (a dict is sent as JSON, bytes or str as they are) to the built route."""
    raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    raw = raw.encode() if isinstance(raw, str) else raw
    req = func.HttpRequest("POST", url, headers={"Content-Type": "application/json"},
                           params={}, route_params={}, body=raw)
    route = built_functions()[PLACE_ORDER_FUNCTION].get_user_function().client_function
    return await route(req, client)


async def read(client: DurableClientStandIn, order_id: str) -> func.HttpResponse:
    """GET the order's status through the built route."""
    req = func.HttpRequest("GET", f"{API}/orders/{order_id}", headers={}, params={},
                           route_params={"orderId": order_id}, body=b"")
    route = built_functions()[ORDER_STATUS_FUNCTION].get_user_function().client_function
    return await route(req, client)


def body_of(response: func.HttpResponse) -> Any:
    """The JSON body of an answer."""
    assert response.mimetype == "application/json"
    return json.loads(response.get_body())


def fields_of(response: func.HttpResponse) -> list[str]:
    """The fields an error answer names in its details."""
    body = body_of(response)
    assert isinstance(body["error"], str) and body["error"]
    return [detail["field"] for detail in body["details"]]


def assert_nothing_leaks(response: func.HttpResponse) -> None:
    """Neither body nor headers carry a management URL, a key or the device token."""
    text = response.get_body().decode() + json.dumps(dict(response.headers))
    for secret in LEAKS:
        assert secret not in text


# -- POST /api/orders: accepted ------------------------------------------------------------


async def test_new_order_answers_202_with_where_to_watch_it(client):
    """A new order is 202 with orderId, stage received, and statusUrl also in Location."""
    response = await place(client, order(orderId=ORDER_ID))
    assert response.status_code == 202
    assert body_of(response) == {"orderId": ORDER_ID, "stage": "received",
                                 "statusUrl": f"{API}/orders/{ORDER_ID}"}
    assert response.headers["Location"] == f"{API}/orders/{ORDER_ID}"


async def test_new_order_starts_the_orchestrator_once_with_the_order(client):
    """The order orchestrator is started once, under the order id, with the order as input."""
    await place(client, order(orderId=ORDER_ID))
    assert client.started == [Started(ORDER_ORCHESTRATOR, ORDER_ID, stored_input(ORDER_ID))]


async def test_order_without_id_gets_a_server_made_id(client):
    """Without orderId the server picks a valid, fresh id and starts the order under it."""
    first = body_of(await place(client, order()))
    second = body_of(await place(client, order()))
    assert re.fullmatch(ORDER_ID_PATTERN, first["orderId"])
    assert first["orderId"] != second["orderId"]
    assert [s.instance_id for s in client.started] == [first["orderId"], second["orderId"]]
    assert first["statusUrl"] == f"{API}/orders/{first['orderId']}"


async def test_status_url_drops_the_query_string_of_the_request(client):
    """A function key in the request's query never reaches the status URL."""
    response = await place(client, order(orderId=ORDER_ID),
                           url=f"{API}/orders?code=secret-key")
    assert body_of(response)["statusUrl"] == f"{API}/orders/{ORDER_ID}"
    assert_nothing_leaks(response)


async def test_status_url_is_right_when_the_prefix_is_spelt_in_capitals(client):
    """Routes are case-insensitive in the host, so /API/orders must still point at the order."""
    response = await place(client, order(orderId=ORDER_ID),
                           url="http://localhost:7071/API/orders")
    assert response.status_code == 202
    assert body_of(response)["statusUrl"].lower() == f"{API}/orders/{ORDER_ID}".lower()


async def test_item_names_and_token_are_stored_trimmed(client):
    """Whitespace around an item name or the token is dropped before the order starts."""
    await place(client, order(orderId=ORDER_ID, regId=f"  {REG_ID} ",
                              items=[{"name": "  Calzone ", "quantity": 1}]))
    started = client.started[0].client_input
    assert started["regId"] == REG_ID
    assert started["items"] == [{"name": "Calzone", "quantity": 1}]


async def test_body_of_exactly_the_limit_is_accepted(client):
    """A body of exactly 16 KiB is parsed, not refused for its size."""
    raw = json.dumps(order(orderId=ORDER_ID)).encode()
    raw += b" " * (BODY_LIMIT - len(raw))
    assert len(raw) == BODY_LIMIT
    assert (await place(client, raw)).status_code == 202


# -- POST /api/orders: a retried start -----------------------------------------------------


async def test_retry_with_same_id_and_content_answers_200_and_starts_nothing(client):
    """Placing the same order again is 200 with the same answer, and no second start."""
    first = await place(client, order(orderId=ORDER_ID))
    again = await place(client, order(orderId=ORDER_ID))
    assert again.status_code == 200
    assert body_of(again) == body_of(first)
    assert again.headers["Location"] == f"{API}/orders/{ORDER_ID}"
    assert len(client.started) == 1


async def test_retry_reports_the_stage_the_order_reached(client):
    """A retry of an order already processing answers with stage processing."""
    client.put_instance(ORDER_ID, RUNNING, journey("received", "processing"),
                        input=stored_input(ORDER_ID))
    response = await place(client, order(orderId=ORDER_ID))
    assert response.status_code == 200
    assert body_of(response)["stage"] == "processing"
    assert client.started == []


async def test_retry_of_an_ended_order_does_not_start_it_again(client):
    """A retry of a completed order is 200 with its final stage; the host would restart it."""
    client.put_instance(ORDER_ID, COMPLETED, journey("received", "processing", "finished"),
                        input=stored_input(ORDER_ID))
    response = await place(client, order(orderId=ORDER_ID))
    assert response.status_code == 200
    assert body_of(response)["stage"] == "finished"
    assert client.started == []


async def test_retry_with_different_settings_is_still_the_same_order(client, monkeypatch):
    """A settings change between the two requests does not turn a retry into a conflict."""
    await place(client, order(orderId=ORDER_ID))
    monkeypatch.setenv(SETTING_APPROVAL_TIMEOUT, "60")
    assert (await place(client, order(orderId=ORDER_ID))).status_code == 200
    assert len(client.started) == 1


@pytest.mark.parametrize("changes", [
    {"regId": "another-device-token"},
    {"items": [{"name": "Margherita", "quantity": 3}, {"name": "Cola", "quantity": 1}]},
    {"items": [{"name": "Cola", "quantity": 1}, {"name": "Margherita", "quantity": 2}]},
    {"items": [{"name": "Margherita", "quantity": 2}]},
], ids=["other-device", "other-quantity", "other-order-of-items", "fewer-items"])
async def test_same_id_with_different_content_is_409(client, changes):
    """An order id that holds a different order is 409 naming orderId, and nothing starts."""
    await place(client, order(orderId=ORDER_ID))
    response = await place(client, order(orderId=ORDER_ID, **changes))
    assert response.status_code == 409
    assert fields_of(response) == ["orderId"]
    assert len(client.started) == 1
    assert_nothing_leaks(response)


async def test_same_id_as_an_instance_without_order_input_is_409(client):
    """An instance under that id whose input is not an order is never taken as a retry."""
    client.put_instance(ORDER_ID, RUNNING, input=["something", "else"])
    response = await place(client, order(orderId=ORDER_ID))
    assert response.status_code == 409
    assert client.started == []


async def test_concurrent_start_of_the_same_order_answers_200(client):
    """When another request starts the same order between check and start, answer 200."""
    client.before_next("start_new", lambda: client.put_instance(
        ORDER_ID, PENDING, input=stored_input(ORDER_ID)))
    response = await place(client, order(orderId=ORDER_ID))
    assert response.status_code == 200
    assert body_of(response) == {"orderId": ORDER_ID, "stage": "received",
                                 "statusUrl": f"{API}/orders/{ORDER_ID}"}
    assert client.started == []


async def test_concurrent_start_of_a_different_order_answers_409(client):
    """When another request takes the id with other content in between, answer 409."""
    client.before_next("start_new", lambda: client.put_instance(
        ORDER_ID, RUNNING, input=stored_input(ORDER_ID, reg_id="someone-else")))
    response = await place(client, order(orderId=ORDER_ID))
    assert response.status_code == 409
    assert client.started == []


async def test_start_failure_that_is_no_race_answers_503(client):
    """A start the host refuses for another reason is a 503 to retry, never a false success."""
    broken = DurableClientStandIn(orchestrators=())
    response = await place(broken, order(orderId=ORDER_ID))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert json.loads(response.get_body())["error"].startswith("orders are temporarily")
    assert broken.started == []


# -- POST /api/orders: refused ---------------------------------------------------------------

REFUSED = [
    (order(regId=None), "regId"),
    (order(regId=""), "regId"),
    (order(regId="   "), "regId"),
    (order(regId=123), "regId"),
    (order(regId="x" * 4097), "regId"),
    (order(items=None), "items"),
    (order(items=[]), "items"),
    (order(items=[{"name": f"dish {n}", "quantity": 1} for n in range(51)]), "items"),
    (order(items={"name": "Cola", "quantity": 1}), "items"),
    (order(items=[{"name": "Cola", "quantity": 0}]), "items.0.quantity"),
    (order(items=[{"name": "Cola", "quantity": 100}]), "items.0.quantity"),
    (order(items=[{"name": "Cola", "quantity": "2"}]), "items.0.quantity"),
    (order(items=[{"name": "Cola", "quantity": True}]), "items.0.quantity"),
    (order(items=[{"name": "Cola", "quantity": 2.0}]), "items.0.quantity"),
    (order(items=[{"name": "Cola"}]), "items.0.quantity"),
    (order(items=[{"name": "Cola", "quantity": 1}, {"name": "", "quantity": 1}]),
     "items.1.name"),
    (order(items=[{"name": "   ", "quantity": 1}]), "items.0.name"),
    (order(items=[{"name": "x" * 101, "quantity": 1}]), "items.0.name"),
    (order(items=[{"name": "Cola", "quantity": 1, "price": 3}]), "items.0.price"),
    (order(orderId="short-7"), "orderId"),
    (order(orderId="x" * 65), "orderId"),
    (order(orderId="order/0001"), "orderId"),
    (order(orderId="order 0001"), "orderId"),
    (order(orderId="order.0001"), "orderId"),
    (order(orderId="ordér-0001"), "orderId"),
    (order(orderId="order-0001\n"), "orderId"),
    (order(orderId="@order-0001"), "orderId"),
    (order(orderId=12345678), "orderId"),
    (order(coupon="FREEPIZZA"), "coupon"),
]


@pytest.mark.parametrize(("body", "field"), REFUSED, ids=[
    "no-regId", "empty-regId", "blank-regId", "number-regId", "huge-regId", "no-items",
    "zero-items", "51-items", "items-not-a-list", "quantity-0", "quantity-100",
    "quantity-string", "quantity-true", "quantity-float", "no-quantity", "empty-name",
    "blank-name", "name-101", "item-extra-field", "orderId-7", "orderId-65", "orderId-slash",
    "orderId-space", "orderId-dot", "orderId-accent", "orderId-newline", "orderId-at",
    "orderId-number", "extra-field"])
async def test_invalid_order_is_400_naming_the_field(client, body, field):
    """Each invalid order is 400 whose details name the bad field; the client is never used."""
    response = await place(client, body)
    assert response.status_code == 400
    assert field in fields_of(response)
    assert client.calls == []
    assert_nothing_leaks(response)


@pytest.mark.parametrize("raw", [b"[]", b'"an order"', b"42", b"null", b"true"],
                         ids=["array", "string", "number", "null", "bool"])
async def test_json_that_is_not_an_object_is_400(client, raw):
    """A JSON body that is not an object is 400 naming the body."""
    response = await place(client, raw)
    assert response.status_code == 400
    assert fields_of(response) == ["body"]
    assert client.calls == []


@pytest.mark.parametrize("raw", [b"", b"{", b"{'regId': 'x'}", b"\xff\xfe", b"[" * 10_000],
                         ids=["empty", "truncated", "single-quotes", "not-utf8", "deep"])
async def test_body_that_is_not_json_is_400(client, raw):
    """A body that is not JSON at all is 400 naming the body."""
    response = await place(client, raw)
    assert response.status_code == 400
    assert fields_of(response) == ["body"]
    assert client.calls == []


async def test_body_over_16_kib_is_413_before_parsing(client):
    """One byte over 16 KiB is 413, even for a valid order, and nothing is started."""
    raw = json.dumps(order(orderId=ORDER_ID)).encode()
    raw += b" " * (BODY_LIMIT + 1 - len(raw))
    response = await place(client, raw)
    assert response.status_code == 413
    assert fields_of(response) == ["body"]
    assert client.calls == []


async def test_no_answer_of_the_route_leaks_management_urls_or_the_token(client):
    """Accepted, retried, conflicting and refused answers carry no URL, key or token."""
    answers = [
        await place(client, order(orderId=ORDER_ID)),
        await place(client, order(orderId=ORDER_ID)),
        await place(client, order(orderId=ORDER_ID, regId="another-device-token")),
        await place(client, order(regId=REG_ID, items=[])),
    ]
    assert [a.status_code for a in answers] == [202, 200, 409, 400]
    for answer in answers:
        assert_nothing_leaks(answer)


# -- POST /api/orders: settings flow into the input -----------------------------------------


async def test_settings_flow_into_the_started_input(client, monkeypatch):
    """APPROVAL_TIMEOUT_SECONDS and the push retry settings are read into the input."""
    monkeypatch.setenv(SETTING_APPROVAL_TIMEOUT, "120")
    monkeypatch.setenv(SETTING_PUSH_MAX_ATTEMPTS, "7")
    monkeypatch.setenv(SETTING_PUSH_FIRST_RETRY_MS, "250")
    await place(client, order(orderId=ORDER_ID))
    started = client.started[0].client_input
    assert started["approvalTimeoutSeconds"] == 120
    assert started["pushRetry"] == {"maxAttempts": 7, "firstRetryMilliseconds": 250}


@pytest.mark.parametrize(("setting", "value", "expected"), [
    (SETTING_APPROVAL_TIMEOUT, "259200", 259200),
    (SETTING_APPROVAL_TIMEOUT, " 30 ", 30),
    (SETTING_PUSH_MAX_ATTEMPTS, "1", 1),
    (SETTING_PUSH_MAX_ATTEMPTS, "20", 20),
    (SETTING_PUSH_FIRST_RETRY_MS, "3600000", 3_600_000),
])
async def test_settings_at_their_bounds_are_used(client, monkeypatch, setting, value,
                                                 expected):
    """A setting at its allowed bound (or padded with spaces) is taken as given."""
    monkeypatch.setenv(setting, value)
    await place(client, order(orderId=ORDER_ID))
    assert _setting_in(client.started[0].client_input, setting) == expected


@pytest.mark.parametrize(("setting", "value", "default"), [
    (SETTING_APPROVAL_TIMEOUT, "soon", DEFAULT_APPROVAL_TIMEOUT_SECONDS),
    (SETTING_APPROVAL_TIMEOUT, "0", DEFAULT_APPROVAL_TIMEOUT_SECONDS),
    (SETTING_APPROVAL_TIMEOUT, "-60", DEFAULT_APPROVAL_TIMEOUT_SECONDS),
    (SETTING_APPROVAL_TIMEOUT, "1.5", DEFAULT_APPROVAL_TIMEOUT_SECONDS),
    (SETTING_APPROVAL_TIMEOUT, "259201", DEFAULT_APPROVAL_TIMEOUT_SECONDS),
    (SETTING_APPROVAL_TIMEOUT, "   ", DEFAULT_APPROVAL_TIMEOUT_SECONDS),
    (SETTING_PUSH_MAX_ATTEMPTS, "0", DEFAULT_PUSH_MAX_ATTEMPTS),
    (SETTING_PUSH_MAX_ATTEMPTS, "21", DEFAULT_PUSH_MAX_ATTEMPTS),
    (SETTING_PUSH_MAX_ATTEMPTS, "many", DEFAULT_PUSH_MAX_ATTEMPTS),
    (SETTING_PUSH_FIRST_RETRY_MS, "0", DEFAULT_PUSH_FIRST_RETRY_MS),
    (SETTING_PUSH_FIRST_RETRY_MS, "3600001", DEFAULT_PUSH_FIRST_RETRY_MS),
    (SETTING_PUSH_FIRST_RETRY_MS, "5s", DEFAULT_PUSH_FIRST_RETRY_MS),
])
async def test_a_bad_setting_falls_back_to_its_default(client, monkeypatch, setting, value,
                                                       default):
    """A setting that is not a whole number in range is replaced by its default."""
    monkeypatch.setenv(setting, value)
    response = await place(client, order(orderId=ORDER_ID))
    assert response.status_code == 202
    assert _setting_in(client.started[0].client_input, setting) == default


def _setting_in(started: dict, setting: str) -> int:
    """Where a setting lands in the orchestration input."""
    return {
        SETTING_APPROVAL_TIMEOUT: started["approvalTimeoutSeconds"],
        SETTING_PUSH_MAX_ATTEMPTS: started["pushRetry"]["maxAttempts"],
        SETTING_PUSH_FIRST_RETRY_MS: started["pushRetry"]["firstRetryMilliseconds"],
    }[setting]


# -- GET /api/orders/{orderId} ---------------------------------------------------------------


async def test_status_reshapes_the_custom_status_of_a_running_order(client):
    """A running order's status is its stage, runtime status, timeline and approval."""
    approval = {"requestedAt": "2025-01-01T12:03:00Z", "expiresAt": "2025-01-01T12:33:00Z"}
    client.put_instance(ORDER_ID, RUNNING,
                        journey("received", "processing", "awaiting_approval",
                                approval=approval),
                        input=stored_input(ORDER_ID))
    response = await read(client, ORDER_ID)
    assert response.status_code == 200
    assert body_of(response) == {
        "orderId": ORDER_ID,
        "stage": "awaiting_approval",
        "runtimeStatus": "Running",
        "timeline": [entry("received", 1), entry("processing", 2),
                     entry("awaiting_approval", 3)],
        "approval": approval,
    }


async def test_status_of_a_completed_order_carries_its_result(client):
    """A completed order's status adds the result: every BackendAction's outcome."""
    approval = {"requestedAt": "2025-01-01T12:03:00Z", "expiresAt": "2025-01-01T12:33:00Z",
                "outcome": "approved", "note": "extra cheese", "decidedAt": "2025-01-01T12:05:00Z"}
    output = [result("received", 1), result("processing", 2),
              result("awaiting_approval", 3), result("finished", 4)]
    client.put_instance(ORDER_ID, COMPLETED,
                        journey("received", "processing", "awaiting_approval", "finished",
                                approval=approval),
                        input=stored_input(ORDER_ID), output=output)
    body = body_of(await read(client, ORDER_ID))
    assert body["stage"] == "finished"
    assert body["runtimeStatus"] == "Completed"
    assert body["approval"] == approval
    assert body["result"] == output


async def test_status_of_a_running_order_has_no_result(client):
    """Only a completed order reports a result, even if an output is already set."""
    client.put_instance(ORDER_ID, RUNNING, journey("received"), input=stored_input(ORDER_ID),
                        output=[result("received", 1)])
    assert "result" not in body_of(await read(client, ORDER_ID))


async def test_status_of_a_pending_order_is_received_with_empty_timeline(client):
    """Before its first episode an order is stage received with an empty timeline."""
    await place(client, order(orderId=ORDER_ID))
    response = await read(client, ORDER_ID)
    assert response.status_code == 200
    assert body_of(response) == {"orderId": ORDER_ID, "stage": "received",
                                 "runtimeStatus": "Pending", "timeline": []}


async def test_status_of_a_failed_order_keeps_its_last_stage(client):
    """A failed order shows the stage it reached and Failed, without a result."""
    client.put_instance(ORDER_ID, FAILED, journey("received", "processing"),
                        input=stored_input(ORDER_ID),
                        output="Orchestrator function 'OrderOrchestrator' failed: boom")
    body = body_of(await read(client, ORDER_ID))
    assert (body["stage"], body["runtimeStatus"]) == ("processing", "Failed")
    assert "result" not in body


async def test_status_of_a_terminated_order_without_custom_status(client):
    """An order terminated before its first episode is received and Terminated."""
    client.put_instance(ORDER_ID, TERMINATED, input=stored_input(ORDER_ID))
    body = body_of(await read(client, ORDER_ID))
    assert (body["stage"], body["runtimeStatus"], body["timeline"]) == (
        "received", "Terminated", [])


async def test_status_reads_a_custom_status_given_as_json_text(client):
    """A custom status that arrives as JSON text reads the same as one given as a value."""
    client.put_instance(ORDER_ID, RUNNING, json.dumps(journey("received", "processing")),
                        input=stored_input(ORDER_ID))
    body = body_of(await read(client, ORDER_ID))
    assert body["stage"] == "processing"
    assert body["timeline"] == [entry("received", 1), entry("processing", 2)]


async def test_status_of_an_unknown_order_is_404(client):
    """An order id no instance has is 404 naming orderId."""
    response = await read(client, "order-9999")
    assert response.status_code == 404
    assert fields_of(response) == ["orderId"]


@pytest.mark.parametrize("order_id", ["", "short", "x" * 65, "order 0001", "order.0001",
                                      "..%2F..%2Fsecrets", "order-0001\n"])
async def test_status_with_a_malformed_order_id_is_400_without_a_lookup(client, order_id):
    """A malformed order id is 400 naming orderId and never reaches the durable client."""
    response = await read(client, order_id)
    assert response.status_code == 400
    assert fields_of(response) == ["orderId"]
    assert client.calls == []


async def test_status_never_echoes_the_device_token(client):
    """The status answer carries nothing of the input, so never the registration token."""
    client.put_instance(ORDER_ID, COMPLETED, journey("received", "processing", "finished"),
                        input=stored_input(ORDER_ID),
                        output=[result("received", 1), result("processing", 2)])
    response = await read(client, ORDER_ID)
    assert response.status_code == 200
    assert_nothing_leaks(response)


def _storage_down() -> None:
    raise Exception("The operation failed with an unexpected status code 503")


async def test_status_when_the_task_hub_is_unreachable_answers_503(client):
    """A status read that the durable back end cannot answer is a retryable 503, not a 500."""
    client.put_instance(ORDER_ID, RUNNING, None, input=stored_input(ORDER_ID))
    client.before_next("get_status", _storage_down)
    response = await read(client, ORDER_ID)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert json.loads(response.get_body())["details"][0]["field"] == "service"
