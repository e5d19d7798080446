"""The mobile app's routes on the real host: ``POST /api/orders`` and ``GET /api/orders/{orderId}``.

Each test runs the order app on a LocalHost over the memory task hub with a virtual clock,
sends raw HTTP to its routes, and checks the answer and what really happened: the instances
the task hub holds, and the calls the front end made on the durable runtime.
"""

import json
import re
from typing import Any

import pytest

from constants import (
    DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    DEFAULT_PUSH_FIRST_RETRY_MS,
    DEFAULT_PUSH_MAX_ATTEMPTS,
    ORDER_ORCHESTRATOR,
    SETTING_APPROVAL_TIMEOUT,
    SETTING_PUSH_FIRST_RETRY_MS,
    SETTING_PUSH_MAX_ATTEMPTS,
)
from devhost.errors import StorageUnavailable
from devhost.host import LocalHost
from devhost.taskhub.base import InstanceRecord, RuntimeStatus
from fcm_emulator import FcmEmulator
from models.orders import ORDER_ID_PATTERN
from tests.support.local_host import (
    WAIT_SECONDS,
    HttpApi,
    Reply,
    api_url,
    assert_nothing_leaks,
    at_stage,
    base_settings,
    body_of,
    client_of,
    custom_status,
    decoded,
    details_of,
    ended,
    hub_of,
    record_of,
    segment,
)

REG_ID = "fcm-registration-token-of-the-customers-phone-0123456789"
ORDER_ID = "order-0001"
ITEMS = [{"name": "Margherita", "quantity": 2}, {"name": "Cola", "quantity": 1}]
BODY_LIMIT = 16 * 1024  # the published limit, pinned here rather than read from the app
FLOW_SETTINGS = (SETTING_APPROVAL_TIMEOUT, SETTING_PUSH_MAX_ATTEMPTS, SETTING_PUSH_FIRST_RETRY_MS)


@pytest.fixture(autouse=True)
def _default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from the default flow settings, whatever the environment holds."""
    for name in FLOW_SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def app_settings(fcm: FcmEmulator) -> dict[str, str]:
    """The hardening settings without the flow settings, so the app's defaults apply."""
    return {name: value for name, value in base_settings(fcm).items()
            if name not in FLOW_SETTINGS}




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


async def place(api: HttpApi, body: Any, path: str = "/api/orders", query: str = "") -> Reply:
    """POST ``body`` (a dict is sent as JSON, bytes or str as they are) to the host."""
    raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    raw = raw.encode() if isinstance(raw, str) else raw
    return await api.request("POST", path, data=raw, query=query,
                             headers={"content-type": "application/json"})


async def read(api: HttpApi, order_id: str) -> Reply:
    """GET the order's status (the id sent as one percent-encoded path segment)."""
    return await api.status(segment(order_id))


async def start_directly(api: HttpApi, order_id: str, value: Any) -> None:
    """Start the order orchestrator under ``order_id`` with ``value`` as its input, through
    the management API as the SDK client sends it (input JSON-encoded twice)."""
    answer = await api.management("POST", f"orchestrators/{ORDER_ORCHESTRATOR}/{order_id}",
                                  data=json.dumps(json.dumps(value)).encode())
    assert answer.status == 202, answer.text


async def instances(host: LocalHost) -> list[InstanceRecord]:
    """Every instance the task hub holds."""
    return list(await hub_of(host).query_instances())




def fields_of(reply: Reply) -> list[str]:
    """The fields an error answer names in its details."""
    return [detail["field"] for detail in details_of(reply)]



# -- POST /api/orders: accepted ------------------------------------------------------------


async def test_new_order_answers_202_with_where_to_watch_it(api, calls):
    """A new order is 202 with orderId, stage received, and statusUrl also in Location."""
    response = await place(api, order(orderId=ORDER_ID))
    assert response.status == 202
    assert body_of(response) == {"orderId": ORDER_ID, "stage": "received",
                                 "statusUrl": f"{api_url(api)}/orders/{ORDER_ID}"}
    assert response.headers["Location"] == f"{api_url(api)}/orders/{ORDER_ID}"


async def test_new_order_starts_the_orchestrator_once_with_the_order(api, calls, host):
    """The order orchestrator is started once, under the order id, with the order as input."""
    await place(api, order(orderId=ORDER_ID))
    assert calls.started == [(ORDER_ORCHESTRATOR, ORDER_ID, stored_input(ORDER_ID))]
    (record,) = await instances(host)
    assert (record.name, record.instance_id) == (ORDER_ORCHESTRATOR, ORDER_ID)
    assert decoded(record.input) == stored_input(ORDER_ID)


async def test_order_without_id_gets_a_server_made_id(api, calls, host):
    """Without orderId the server picks a valid, fresh id and starts the order under it."""
    first = body_of(await place(api, order()))
    second = body_of(await place(api, order()))
    assert re.fullmatch(ORDER_ID_PATTERN, first["orderId"])
    assert first["orderId"] != second["orderId"]
    assert [started[1] for started in calls.started] == [first["orderId"], second["orderId"]]
    assert {r.instance_id for r in await instances(host)} == {first["orderId"],
                                                              second["orderId"]}
    assert first["statusUrl"] == f"{api_url(api)}/orders/{first['orderId']}"


async def test_status_url_drops_the_query_string_of_the_request(api, calls):
    """A function key in the request's query never reaches the status URL."""
    response = await place(api, order(orderId=ORDER_ID), query="code=secret-key")
    assert body_of(response)["statusUrl"] == f"{api_url(api)}/orders/{ORDER_ID}"
    assert_nothing_leaks(response, REG_ID)


async def test_status_url_is_right_when_the_prefix_is_spelt_in_capitals(api, calls):
    """Routes are case-insensitive in the host, so /API/orders must still point at the order."""
    response = await place(api, order(orderId=ORDER_ID), path="/API/orders")
    assert response.status == 202
    assert (body_of(response)["statusUrl"].lower()
            == f"{api_url(api)}/orders/{ORDER_ID}".lower())


async def test_item_names_and_token_are_stored_trimmed(api, calls, host):
    """Whitespace around an item name or the token is dropped before the order starts."""
    await place(api, order(orderId=ORDER_ID, regId=f"  {REG_ID} ",
                           items=[{"name": "  Calzone ", "quantity": 1}]))
    started = decoded((await record_of(host, ORDER_ID)).input)
    assert started["regId"] == REG_ID
    assert started["items"] == [{"name": "Calzone", "quantity": 1}]


async def test_body_of_exactly_the_limit_is_accepted(api, calls):
    """A body of exactly 16 KiB is parsed, not refused for its size."""
    raw = json.dumps(order(orderId=ORDER_ID)).encode()
    raw += b" " * (BODY_LIMIT - len(raw))
    assert len(raw) == BODY_LIMIT
    assert (await place(api, raw)).status == 202


# -- POST /api/orders: a retried start -----------------------------------------------------


async def test_retry_with_same_id_and_content_answers_200_and_starts_nothing(api, calls, host):
    """Placing the same order again is 200 with the same answer, and no second start."""
    first = await place(api, order(orderId=ORDER_ID))
    again = await place(api, order(orderId=ORDER_ID))
    assert again.status == 200
    assert body_of(again) == body_of(first)
    assert again.headers["Location"] == f"{api_url(api)}/orders/{ORDER_ID}"
    assert len(calls.started) == 1
    assert len(await instances(host)) == 1


async def test_retry_reports_the_stage_the_order_reached(api, calls, host):
    """A retry of an order already processing answers with stage processing."""
    hub_of(host).allow_activities(2)  # the received and processing pushes, not the next
    await place(api, order(orderId=ORDER_ID))
    await client_of(host).wait_for(ORDER_ID, at_stage("processing"), WAIT_SECONDS)
    response = await place(api, order(orderId=ORDER_ID))
    assert response.status == 200
    assert body_of(response)["stage"] == "processing"
    assert len(calls.started) == 1


async def test_retry_of_an_ended_order_does_not_start_it_again(api, calls, host):
    """A retry of a completed order is 200 with its final stage; the host would restart it."""
    await place(api, order(orderId=ORDER_ID))
    await client_of(host).wait_for(ORDER_ID, at_stage("awaiting_approval"), WAIT_SECONDS)
    assert (await api.approve(ORDER_ID, {"approved": True})).status == 202
    done = await client_of(host).wait_for(ORDER_ID, ended, WAIT_SECONDS)
    assert done.runtime_status == RuntimeStatus.COMPLETED
    response = await place(api, order(orderId=ORDER_ID))
    assert response.status == 200
    assert body_of(response)["stage"] == "finished"
    assert len(calls.started) == 1
    assert (await record_of(host, ORDER_ID)).runtime_status == RuntimeStatus.COMPLETED


async def test_retry_with_different_settings_is_still_the_same_order(api, calls, monkeypatch):
    """A settings change between the two requests does not turn a retry into a conflict."""
    await place(api, order(orderId=ORDER_ID))
    monkeypatch.setenv(SETTING_APPROVAL_TIMEOUT, "60")
    assert (await place(api, order(orderId=ORDER_ID))).status == 200
    assert len(calls.started) == 1


@pytest.mark.parametrize("changes", [
    {"regId": "another-device-token"},
    {"items": [{"name": "Margherita", "quantity": 3}, {"name": "Cola", "quantity": 1}]},
    {"items": [{"name": "Cola", "quantity": 1}, {"name": "Margherita", "quantity": 2}]},
    {"items": [{"name": "Margherita", "quantity": 2}]},
], ids=["other-device", "other-quantity", "other-order-of-items", "fewer-items"])
async def test_same_id_with_different_content_is_409(api, calls, host, changes):
    """An order id that holds a different order is 409 naming orderId, and nothing starts."""
    await place(api, order(orderId=ORDER_ID))
    response = await place(api, order(orderId=ORDER_ID, **changes))
    assert response.status == 409
    assert fields_of(response) == ["orderId"]
    assert len(calls.started) == 1
    assert decoded((await record_of(host, ORDER_ID)).input) == stored_input(ORDER_ID)
    assert_nothing_leaks(response, REG_ID)


async def test_same_id_as_an_instance_without_order_input_is_409(api, calls, host):
    """An instance under that id whose input is not an order is never taken as a retry."""
    hub_of(host).hold_episodes()  # it stays Pending: its input would fail the orchestrator
    await start_directly(api, ORDER_ID, ["something", "else"])
    response = await place(api, order(orderId=ORDER_ID))
    assert response.status == 409
    # The only start is the test's own, through the management API.
    assert calls.started == [(ORDER_ORCHESTRATOR, ORDER_ID, ["something", "else"])]
    assert decoded((await record_of(host, ORDER_ID)).input) == ["something", "else"]


async def test_concurrent_start_of_the_same_order_answers_200(api, calls, host):
    """When another request starts the same order between check and start, answer 200."""
    hub_of(host).hold_episodes()

    async def the_other_request() -> None:
        await start_directly(api, ORDER_ID, stored_input(ORDER_ID))

    calls.before_next("start_new", the_other_request)
    response = await place(api, order(orderId=ORDER_ID))
    assert response.status == 200
    assert body_of(response) == {"orderId": ORDER_ID, "stage": "received",
                                 "statusUrl": f"{api_url(api)}/orders/{ORDER_ID}"}
    # Only the other request's start went through (the route's own was refused).
    assert [started[1] for started in calls.started] == [ORDER_ID]
    assert calls.methods().count("start_new") == 2
    assert len(await instances(host)) == 1


async def test_concurrent_start_of_a_different_order_answers_409(api, calls, host):
    """When another request takes the id with other content in between, answer 409."""
    hub_of(host).hold_episodes()
    other = stored_input(ORDER_ID, reg_id="someone-else")

    async def the_other_request() -> None:
        await start_directly(api, ORDER_ID, other)

    calls.before_next("start_new", the_other_request)
    response = await place(api, order(orderId=ORDER_ID))
    assert response.status == 409
    assert [started[2] for started in calls.started] == [other]
    assert decoded((await record_of(host, ORDER_ID)).input) == other


async def test_start_failure_that_is_no_race_answers_503(api, calls, host, monkeypatch):
    """A start the host refuses for another reason is a 503 to retry, never a false success."""
    async def storage_down(*args: Any) -> None:
        raise StorageUnavailable("the task hub's storage did not answer")

    monkeypatch.setattr(hub_of(host), "create_instance", storage_down)
    response = await place(api, order(orderId=ORDER_ID))
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert json.loads(response.text)["error"].startswith("orders are temporarily")
    assert calls.started == []
    assert await instances(host) == []


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
async def test_invalid_order_is_400_naming_the_field(api, calls, host, body, field):
    """Each invalid order is 400 whose details name the bad field; nothing reaches the runtime."""
    response = await place(api, body)
    assert response.status == 400
    assert field in fields_of(response)
    assert calls.made == []
    assert await instances(host) == []
    assert_nothing_leaks(response, REG_ID)


@pytest.mark.parametrize("raw", [b"[]", b'"an order"', b"42", b"null", b"true"],
                         ids=["array", "string", "number", "null", "bool"])
async def test_json_that_is_not_an_object_is_400(api, calls, host, raw):
    """A JSON body that is not an object is 400 naming the body."""
    response = await place(api, raw)
    assert response.status == 400
    assert fields_of(response) == ["body"]
    assert calls.made == []
    assert await instances(host) == []


@pytest.mark.parametrize("raw", [b"", b"{", b"{'regId': 'x'}", b"\xff\xfe", b"[" * 10_000],
                         ids=["empty", "truncated", "single-quotes", "not-utf8", "deep"])
async def test_body_that_is_not_json_is_400(api, calls, host, raw):
    """A body that is not JSON at all is 400 naming the body."""
    response = await place(api, raw)
    assert response.status == 400
    assert fields_of(response) == ["body"]
    assert calls.made == []
    assert await instances(host) == []


async def test_body_over_16_kib_is_413_before_parsing(api, calls, host):
    """One byte over 16 KiB is 413, even for a valid order, and nothing is started."""
    raw = json.dumps(order(orderId=ORDER_ID)).encode()
    raw += b" " * (BODY_LIMIT + 1 - len(raw))
    response = await place(api, raw)
    assert response.status == 413
    assert fields_of(response) == ["body"]
    assert calls.made == []
    assert await instances(host) == []


async def test_no_answer_of_the_route_leaks_management_urls_or_the_token(api, calls, host):
    """Accepted, retried, conflicting and refused answers carry no URL, key or token."""
    answers = [
        await place(api, order(orderId=ORDER_ID)),
        await place(api, order(orderId=ORDER_ID)),
        await place(api, order(orderId=ORDER_ID, regId="another-device-token")),
        await place(api, order(regId=REG_ID, items=[])),
    ]
    assert [a.status for a in answers] == [202, 200, 409, 400]
    for answer in answers:
        assert_nothing_leaks(answer, REG_ID)


# -- POST /api/orders: settings flow into the input -----------------------------------------


async def started_input(host: LocalHost) -> dict:
    """The input the only order on the task hub was started with."""
    (record,) = await instances(host)
    value: dict = decoded(record.input)
    return value


async def test_settings_flow_into_the_started_input(api, calls, host, monkeypatch):
    """APPROVAL_TIMEOUT_SECONDS and the push retry settings are read into the input."""
    monkeypatch.setenv(SETTING_APPROVAL_TIMEOUT, "120")
    monkeypatch.setenv(SETTING_PUSH_MAX_ATTEMPTS, "7")
    monkeypatch.setenv(SETTING_PUSH_FIRST_RETRY_MS, "250")
    await place(api, order(orderId=ORDER_ID))
    started = await started_input(host)
    assert started["approvalTimeoutSeconds"] == 120
    assert started["pushRetry"] == {"maxAttempts": 7, "firstRetryMilliseconds": 250}


@pytest.mark.parametrize(("setting", "value", "expected"), [
    (SETTING_APPROVAL_TIMEOUT, "259200", 259200),
    (SETTING_APPROVAL_TIMEOUT, " 30 ", 30),
    (SETTING_PUSH_MAX_ATTEMPTS, "1", 1),
    (SETTING_PUSH_MAX_ATTEMPTS, "20", 20),
    (SETTING_PUSH_FIRST_RETRY_MS, "3600000", 3_600_000),
])
async def test_settings_at_their_bounds_are_used(api, calls, host, monkeypatch, setting, value,
                                                 expected):
    """A setting at its allowed bound (or padded with spaces) is taken as given."""
    monkeypatch.setenv(setting, value)
    await place(api, order(orderId=ORDER_ID))
    assert _setting_in(await started_input(host), setting) == expected


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
async def test_a_bad_setting_falls_back_to_its_default(api, calls, host, monkeypatch, setting,
                                                       value, default):
    """A setting that is not a whole number in range is replaced by its default."""
    monkeypatch.setenv(setting, value)
    response = await place(api, order(orderId=ORDER_ID))
    assert response.status == 202
    assert _setting_in(await started_input(host), setting) == default


def _setting_in(started: dict, setting: str) -> int:
    """Where a setting lands in the orchestration input."""
    return {
        SETTING_APPROVAL_TIMEOUT: started["approvalTimeoutSeconds"],
        SETTING_PUSH_MAX_ATTEMPTS: started["pushRetry"]["maxAttempts"],
        SETTING_PUSH_FIRST_RETRY_MS: started["pushRetry"]["firstRetryMilliseconds"],
    }[setting]


# -- GET /api/orders/{orderId} ---------------------------------------------------------------


async def waiting_order(api: HttpApi, host: LocalHost) -> InstanceRecord:
    """Place the order and let it run until it asks for approval."""
    hub_of(host).allow_activities(3)  # three pushes: received, processing, awaiting_approval
    assert (await place(api, order(orderId=ORDER_ID))).status == 202
    record: InstanceRecord = await client_of(host).wait_for(
        ORDER_ID, at_stage("awaiting_approval"), WAIT_SECONDS)
    return record


async def completed_order(api: HttpApi, host: LocalHost) -> InstanceRecord:
    """Place the order, approve it with a note and let it finish."""
    await waiting_order(api, host)
    hub_of(host).allow_activities(None)
    assert (await api.approve(ORDER_ID, {"approved": True, "note": "extra cheese"})).status == 202
    record: InstanceRecord = await client_of(host).wait_for(ORDER_ID, ended, WAIT_SECONDS)
    assert record.runtime_status == RuntimeStatus.COMPLETED
    return record


async def test_status_reshapes_the_custom_status_of_a_running_order(api, calls, host):
    """A running order's status is its stage, runtime status, timeline and approval."""
    journey = custom_status(await waiting_order(api, host))
    assert [entry["stage"] for entry in journey["timeline"]] == [
        "received", "processing", "awaiting_approval"]
    assert set(journey["approval"]) == {"requestedAt", "expiresAt"}
    response = await read(api, ORDER_ID)
    assert response.status == 200
    assert body_of(response) == {
        "orderId": ORDER_ID,
        "stage": "awaiting_approval",
        "items": ITEMS,
        "runtimeStatus": "Running",
        "timeline": journey["timeline"],
        "approval": journey["approval"],
    }


async def test_status_of_a_completed_order_carries_its_result(api, calls, host):
    """A completed order's status adds the result: every BackendAction's outcome."""
    record = await completed_order(api, host)
    approval = custom_status(record)["approval"]
    assert (approval["outcome"], approval["note"]) == ("approved", "extra cheese")
    assert set(approval) == {"requestedAt", "expiresAt", "outcome", "note", "decidedAt"}
    output = json.loads(record.output or "null")
    assert [(r["stage"], r["seq"]) for r in output] == [
        ("received", 1), ("processing", 2), ("awaiting_approval", 3), ("finished", 4)]
    body = body_of(await read(api, ORDER_ID))
    assert body["stage"] == "finished"
    assert body["runtimeStatus"] == "Completed"
    assert body["approval"] == approval
    assert body["result"] == output


async def test_status_of_an_order_that_did_not_complete_has_no_result(api, calls, host):
    """Only a completed order reports a result: not a running one, nor one with an output."""
    await waiting_order(api, host)
    assert "result" not in body_of(await read(api, ORDER_ID))
    await client_of(host).terminate(ORDER_ID, "kitchen closed")
    record = await client_of(host).wait_for(ORDER_ID, ended, WAIT_SECONDS)
    assert json.loads(record.output or "null") == "kitchen closed"  # the reason is the output
    body = body_of(await read(api, ORDER_ID))
    assert body["runtimeStatus"] == "Terminated"
    assert "result" not in body


async def test_status_of_a_pending_order_is_received_with_empty_timeline(api, calls, host):
    """Before its first episode an order is stage received with an empty timeline."""
    hub_of(host).hold_episodes()
    await place(api, order(orderId=ORDER_ID))
    response = await read(api, ORDER_ID)
    assert response.status == 200
    assert body_of(response) == {"orderId": ORDER_ID, "stage": "received", "items": ITEMS,
                                 "runtimeStatus": "Pending", "timeline": []}


async def test_status_of_a_failed_order_keeps_its_last_stage(api, calls, host):
    """A failed order shows the stage it reached and Failed, without a result."""
    # An approval timeout no date can hold: the orchestrator fails when it sets the timer.
    await start_directly(api, ORDER_ID, {**stored_input(ORDER_ID),
                                         "approvalTimeoutSeconds": 10**15})
    record = await client_of(host).wait_for(ORDER_ID, ended, WAIT_SECONDS)
    assert record.runtime_status == RuntimeStatus.FAILED
    reached = custom_status(record)["stage"]
    assert reached in {"processing", "awaiting_approval"}
    body = body_of(await read(api, ORDER_ID))
    assert (body["stage"], body["runtimeStatus"]) == (reached, "Failed")
    assert "result" not in body


async def test_status_of_a_terminated_order_without_custom_status(api, calls, host):
    """An order terminated before its first episode is received and Terminated."""
    hub_of(host).allow_activities(0)  # not even the received push: no custom status yet
    await place(api, order(orderId=ORDER_ID))
    await client_of(host).terminate(ORDER_ID, "never mind")
    record = await client_of(host).wait_for(ORDER_ID, ended, WAIT_SECONDS)
    assert record.custom_status is None
    body = body_of(await read(api, ORDER_ID))
    assert (body["stage"], body["runtimeStatus"], body["timeline"]) == (
        "received", "Terminated", [])


async def test_status_of_an_unknown_order_is_404(api, calls):
    """An order id no instance has is 404 naming orderId."""
    response = await read(api, "order-9999")
    assert response.status == 404
    assert fields_of(response) == ["orderId"]
    assert calls.methods() == ["get_instance"]


@pytest.mark.parametrize("order_id", ["short", "x" * 65, "order 0001", "order.0001",
                                      "..%2F..%2Fsecrets", "order-0001\n"])
async def test_status_with_a_malformed_order_id_is_400_without_a_lookup(api, calls, order_id):
    """A malformed order id is 400 naming orderId and never reaches the durable client."""
    response = await read(api, order_id)
    assert response.status == 400
    assert fields_of(response) == ["orderId"]
    assert calls.made == []


async def test_status_with_an_empty_order_id_reaches_no_status_route(api, calls):
    """An empty order id is the orders route, whose GET is the staff list: 401, no lookup."""
    response = await api.status("")
    assert response.status == 401
    assert calls.made == []


async def test_status_never_echoes_the_device_token(api, calls, host):
    """The status answer carries the items alone of the input, never the registration token."""
    await completed_order(api, host)
    response = await read(api, ORDER_ID)
    assert response.status == 200
    assert_nothing_leaks(response, REG_ID)


async def test_status_when_the_task_hub_is_unreachable_answers_503(api, calls, host,
                                                                   monkeypatch):
    """A status read that the durable back end cannot answer is a retryable 503, not a 500."""
    hub_of(host).hold_episodes()
    await place(api, order(orderId=ORDER_ID))

    async def storage_down(instance_id: str) -> None:
        raise StorageUnavailable("the task hub's storage did not answer")

    monkeypatch.setattr(hub_of(host), "get_instance", storage_down)
    response = await read(api, ORDER_ID)
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert json.loads(response.text)["details"][0]["field"] == "service"
