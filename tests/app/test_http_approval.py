"""The staff route ``POST /api/orders/{orderId}/approve``, called as the built function.

The route may raise the ``Approval`` event only while the order's custom status says it is
waiting for it; every other case is refused and must leave the task hub untouched.
"""

import json
from typing import Any

import azure.functions as func
import pytest

from constants import APPROVAL_EVENT, APPROVE_FUNCTION
from tests.app.durable_client_standin import (
    CANCELED,
    COMPLETED,
    FAILED,
    PENDING,
    RUNNING,
    SUSPENDED,
    TERMINATED,
    DurableClientStandIn,
    Raised,
    built_functions,
)

API = "http://localhost:7071/api"
ORDER_ID = "order-0001"
REG_ID = "fcm-registration-token-of-the-customers-phone-0123456789"
ASKED = {"requestedAt": "2025-01-01T12:03:00Z", "expiresAt": "2025-01-01T12:33:00Z"}
LEAKS = ("statusQueryGetUri", "sendEventPostUri", "code=", "runtime/webhooks", REG_ID)
ORDER_INPUT = {
    "orderId": ORDER_ID, "regId": REG_ID, "items": [{"name": "Margherita", "quantity": 1}],
    "approvalTimeoutSeconds": 1800,
    "pushRetry": {"maxAttempts": 4, "firstRetryMilliseconds": 5000},
}


@pytest.fixture
def client() -> DurableClientStandIn:
    """An empty task hub behind the stand-in client."""
    return DurableClientStandIn()


def journey(stage: str, approval: dict | None = None) -> dict:
    """A custom status at ``stage``: one timeline entry per stage reached so far."""
    order = ["received", "processing", "awaiting_approval", stage]
    reached = order[: order.index(stage) + 1]
    status: dict[str, Any] = {
        "stage": stage,
        "timeline": [
            {"stage": name, "at": f"2025-01-01T12:0{seq}:00Z", "seq": seq,
             "push": {"outcome": "sent", "messageId": f"projects/demo/messages/{seq}"}}
            for seq, name in enumerate(reached, start=1)
        ],
    }
    if approval is not None:
        status["approval"] = approval
    return status


def decided(outcome: str) -> dict:
    """The approval state once the wait ended with ``outcome``."""
    return {**ASKED, "outcome": outcome, "decidedAt": "2025-01-01T12:04:00Z"}


def waiting(client: DurableClientStandIn, runtime_status: str = RUNNING) -> None:
    """Put the order where approval is allowed: awaiting_approval, not decided yet."""
    client.put_instance(ORDER_ID, runtime_status, journey("awaiting_approval", ASKED),
                        input=ORDER_INPUT)


async def approve(client: DurableClientStandIn, body: Any, order_id: str = ORDER_ID,
                  url: str | None = None) -> func.HttpResponse:
    """POST ``body`` (a dict is sent as JSON, bytes as they are) to the built route."""
    raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    req = func.HttpRequest(
        "POST", url or f"{API}/orders/{order_id}/approve",
        headers={"Content-Type": "application/json"}, params={},
        route_params={"orderId": order_id}, body=raw)
    route = built_functions()[APPROVE_FUNCTION].get_user_function().client_function
    return await route(req, client)


def body_of(response: func.HttpResponse) -> Any:
    """The JSON body of an answer."""
    assert response.mimetype == "application/json"
    return json.loads(response.get_body())


def details_of(response: func.HttpResponse) -> list[dict]:
    """The details of an error answer, after checking its shape."""
    body = body_of(response)
    assert isinstance(body["error"], str) and body["error"]
    return body["details"]


def assert_nothing_leaks(response: func.HttpResponse) -> None:
    """Neither body nor headers carry a management URL, a key or the device token."""
    text = response.get_body().decode() + json.dumps(dict(response.headers))
    for secret in LEAKS:
        assert secret not in text


# -- Raised ----------------------------------------------------------------------------------


async def test_approval_while_waiting_is_202_and_raises_the_event(client):
    """While awaiting approval, the route answers 202 and raises Approval with the decision."""
    waiting(client)
    response = await approve(client, {"approved": True, "note": "extra cheese is fine"})
    assert response.status_code == 202
    assert body_of(response) == {"orderId": ORDER_ID, "approved": True,
                                 "statusUrl": f"{API}/orders/{ORDER_ID}"}
    assert client.raised == [Raised(
        ORDER_ID, APPROVAL_EVENT, {"approved": True, "note": "extra cheese is fine"},
        json.dumps({"approved": True, "note": "extra cheese is fine"}))]
    assert_nothing_leaks(response)


async def test_decline_without_note_raises_only_approved(client):
    """A decline without a note raises {"approved": false} and no note key."""
    waiting(client)
    response = await approve(client, {"approved": False})
    assert response.status_code == 202
    assert body_of(response)["approved"] is False
    assert [json.loads(event.received) for event in client.raised] == [{"approved": False}]


async def test_note_of_exactly_500_characters_is_raised_whole(client):
    """A note at the 500-character limit is accepted and raised unchanged."""
    waiting(client)
    note = "n" * 500
    assert (await approve(client, {"approved": True, "note": note})).status_code == 202
    assert client.raised[0].data == {"approved": True, "note": note}


async def test_explicit_null_note_is_the_same_as_no_note(client):
    """``"note": null`` is accepted and raised as a decision without a note."""
    waiting(client)
    assert (await approve(client, {"approved": True, "note": None})).status_code == 202
    assert client.raised[0].data == {"approved": True}


async def test_suspended_order_that_waits_is_still_approvable(client):
    """A suspended order waiting for approval takes the event; the host buffers it."""
    waiting(client, SUSPENDED)
    assert (await approve(client, {"approved": True})).status_code == 202
    assert len(client.raised) == 1


async def test_status_url_drops_the_function_key(client):
    """The staff's function key in the query never reaches the status URL."""
    waiting(client)
    response = await approve(client, {"approved": True},
                             url=f"{API}/orders/{ORDER_ID}/approve?code=staff-key")
    assert body_of(response)["statusUrl"] == f"{API}/orders/{ORDER_ID}"
    assert_nothing_leaks(response)


# -- Refused: the order is not waiting ---------------------------------------------------------


@pytest.mark.parametrize(("runtime_status", "custom_status", "stage"), [
    (PENDING, None, "received"),
    (RUNNING, None, "received"),
    (RUNNING, journey("received"), "received"),
    (RUNNING, journey("processing"), "processing"),
], ids=["pending", "running-before-first-status", "received", "processing"])
async def test_approval_before_the_order_asks_is_409(client, runtime_status, custom_status,
                                                     stage):
    """Too early (not yet awaiting approval) is 409 naming the stage, and nothing is raised."""
    client.put_instance(ORDER_ID, runtime_status, custom_status, input=ORDER_INPUT)
    response = await approve(client, {"approved": True})
    assert response.status_code == 409
    assert details_of(response) == [{"field": "stage", "message": stage}]
    assert client.raised == []


async def test_approval_with_an_unreadable_custom_status_is_409(client):
    """A custom status that is not an order journey is never taken as waiting."""
    client.put_instance(ORDER_ID, RUNNING, {"stage": "awaiting_approval"}, input=ORDER_INPUT)
    response = await approve(client, {"approved": True})
    assert response.status_code == 409
    assert client.raised == []


@pytest.mark.parametrize("outcome", ["approved", "declined", "expired", "invalid"])
async def test_approval_already_decided_is_409(client, outcome):
    """Once the approval has an outcome, another decision is 409 naming it; nothing raised."""
    client.put_instance(ORDER_ID, RUNNING, journey("awaiting_approval", decided(outcome)),
                        input=ORDER_INPUT)
    response = await approve(client, {"approved": True})
    assert response.status_code == 409
    assert details_of(response) == [{"field": "approval", "message": outcome}]
    assert client.raised == []


@pytest.mark.parametrize(("runtime_status", "custom_status"), [
    (COMPLETED, journey("finished", decided("approved"))),
    (COMPLETED, journey("expired", decided("expired"))),
    (FAILED, journey("awaiting_approval", ASKED)),
    (TERMINATED, journey("awaiting_approval", ASKED)),
    (TERMINATED, None),
    (CANCELED, journey("awaiting_approval", ASKED)),
], ids=["completed", "expired", "failed-while-waiting", "terminated-while-waiting",
        "terminated-early", "canceled"])
async def test_approval_of_an_ended_order_is_410(client, runtime_status, custom_status):
    """An order that ended is 410, even if its last status said it was waiting."""
    client.put_instance(ORDER_ID, runtime_status, custom_status, input=ORDER_INPUT)
    response = await approve(client, {"approved": True})
    assert response.status_code == 410
    assert [d["field"] for d in details_of(response)] == ["orderId"]
    assert client.raised == []


async def test_approval_of_an_unknown_order_is_404(client):
    """An order id no instance has is 404 naming orderId, and nothing is raised."""
    response = await approve(client, {"approved": True}, order_id="order-9999")
    assert response.status_code == 404
    assert [d["field"] for d in details_of(response)] == ["orderId"]
    assert [call.method for call in client.calls] == ["get_status"]


# -- Refused: the instance moved on between the check and the raise ----------------------------


async def test_order_that_ends_before_the_raise_is_410(client):
    """When the host answers the raise with 410 (ended meanwhile), the route answers 410."""
    waiting(client)
    client.before_next("raise_event", lambda: client.set_status(ORDER_ID, COMPLETED))
    response = await approve(client, {"approved": True})
    assert response.status_code == 410
    assert [d["field"] for d in details_of(response)] == ["orderId"]
    assert client.raised == []


async def test_order_purged_before_the_raise_is_404(client):
    """When the host answers the raise with 404 (purged meanwhile), the route answers 404."""
    waiting(client)
    client.before_next("raise_event", lambda: client.purge(ORDER_ID))
    response = await approve(client, {"approved": True})
    assert response.status_code == 404
    assert client.raised == []


# -- Refused: the request itself -----------------------------------------------------------------


@pytest.mark.parametrize(("body", "field"), [
    ({}, "approved"),
    ({"note": "fine"}, "approved"),
    ({"approved": "yes"}, "approved"),
    ({"approved": "true"}, "approved"),
    ({"approved": 1}, "approved"),
    ({"approved": 0}, "approved"),
    ({"approved": None}, "approved"),
    ({"approved": True, "note": "n" * 501}, "note"),
    ({"approved": True, "note": 42}, "note"),
    ({"approved": True, "reason": "customer called"}, "reason"),
], ids=["empty", "no-approved", "yes", "string-true", "one", "zero", "null",
        "note-501", "note-number", "extra-field"])
async def test_invalid_decision_is_400_naming_the_field(client, body, field):
    """An invalid decision is 400 naming the field, before any durable call."""
    waiting(client)
    response = await approve(client, body)
    assert response.status_code == 400
    assert field in [d["field"] for d in details_of(response)]
    assert client.calls == []


@pytest.mark.parametrize("raw", [b"", b"{", b"approved=true", b"[true]", b"true", b"\xff"],
                         ids=["empty", "truncated", "form", "array", "bare-true", "not-utf8"])
async def test_body_that_is_not_a_json_object_is_400(client, raw):
    """A body that is not a JSON object is 400 naming the body; nothing is looked up."""
    waiting(client)
    response = await approve(client, raw)
    assert response.status_code == 400
    assert [d["field"] for d in details_of(response)] == ["body"]
    assert client.calls == []


async def test_body_over_4_kib_is_413(client):
    """A decision body over 4 KiB is 413 before parsing, and nothing is raised."""
    waiting(client)
    raw = json.dumps({"approved": True}).encode()
    raw += b" " * (4 * 1024 + 1 - len(raw))
    response = await approve(client, raw)
    assert response.status_code == 413
    assert client.calls == []


@pytest.mark.parametrize("order_id", ["", "short", "x" * 65, "order 0001", "order%2F0001"])
async def test_malformed_order_id_is_400(client, order_id):
    """A malformed order id in the route is 400 naming orderId, before any durable call."""
    response = await approve(client, {"approved": True}, order_id=order_id)
    assert response.status_code == 400
    assert [d["field"] for d in details_of(response)] == ["orderId"]
    assert client.calls == []


async def test_refusals_never_leak_management_urls_or_the_token(client):
    """409, 410, 404 and 400 answers carry no management URL, key or device token."""
    client.put_instance(ORDER_ID, RUNNING, journey("processing"), input=ORDER_INPUT)
    client.put_instance("order-ended", COMPLETED, journey("finished"), input=ORDER_INPUT)
    answers = [
        await approve(client, {"approved": True}),
        await approve(client, {"approved": True}, order_id="order-ended"),
        await approve(client, {"approved": True}, order_id="order-9999"),
        await approve(client, {"approved": "yes"}),
    ]
    assert [a.status_code for a in answers] == [409, 410, 404, 400]
    for answer in answers:
        assert_nothing_leaks(answer)


def _storage_down() -> None:
    raise Exception("Webhook returned unrecognized status code 503")


async def test_approval_when_the_task_hub_is_unreachable_answers_503(client):
    """An approval the back end cannot take is a retryable 503, and nothing was raised."""
    waiting(client)
    client.before_next("raise_event", _storage_down)
    response = await approve(client, {"approved": True})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert client.raised == []
