"""The staff route ``POST /api/orders/{orderId}/approve`` on the real host.

The route may raise the ``Approval`` event only while the order's custom status says it is
waiting for it; every other case is refused and must leave the task hub untouched. Orders
are brought to each state by really running them on a LocalHost over the memory task hub
with a virtual clock (held where a test needs them to stay put).
"""

import json
from typing import Any

import pytest

from constants import APPROVAL_EVENT, ORDER_ORCHESTRATOR
from devhost.engine.protocol import EventType
from devhost.errors import StorageUnavailable
from devhost.host import LocalHost
from devhost.taskhub.base import InstanceRecord, RuntimeStatus
from tests.support.local_host import (
    WAIT_SECONDS,
    HttpApi,
    Reply,
    api_url,
    assert_nothing_leaks,
    at_stage,
    body_of,
    client_of,
    custom_status,
    decided,
    decoded,
    details_of,
    ended,
    events_of,
    hub_of,
    order_body,
    record_of,
    runtime_of,
    segment,
)

# Events nobody waits for (a decision raised after the order decided) stay buffered; the
# SDK warns about each one when it replays. That is the documented, harmless case.
pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion")

ORDER_ID = "order-0001"
REG_ID = "fcm-registration-token-of-the-customers-phone-0123456789"




async def approve(api: HttpApi, body: Any, order_id: str = ORDER_ID, query: str = "",
                  key: bool = True) -> Reply:
    """POST ``body`` (a dict is sent as JSON, bytes as they are) with the function key."""
    raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    headers = {"content-type": "application/json"}
    if key:
        headers["x-functions-key"] = api.key("function")
    return await api.request("POST", f"/api/orders/{segment(order_id)}/approve", data=raw,
                             headers=headers, query=query)


async def placed(api: HttpApi, host: LocalHost, pushes: int | None,
                 order_id: str = ORDER_ID) -> None:
    """Place the order, letting only ``pushes`` of its pushes run (None: all of them)."""
    hub_of(host).allow_activities(pushes)
    assert (await api.place(order_body(order_id, REG_ID))).status == 202


async def waiting(api: HttpApi, host: LocalHost, order_id: str = ORDER_ID) -> InstanceRecord:
    """Bring the order where approval is allowed: awaiting_approval, not decided yet.

    Its next push (the final stage's) is held, so it stays there after a decision too.
    """
    await placed(api, host, 3, order_id)
    record: InstanceRecord = await client_of(host).wait_for(
        order_id, at_stage("awaiting_approval"), WAIT_SECONDS)
    return record


async def raised(host: LocalHost, order_id: str = ORDER_ID) -> list[Any]:
    """The decisions the order received, as JSON values, in order."""
    history = await hub_of(host).get_history(order_id)
    return [decoded(event.get("Input")) for event in events_of(history, EventType.EVENT_RAISED)
            if event["Name"] == APPROVAL_EVENT]






# -- Raised ----------------------------------------------------------------------------------


async def test_approval_while_waiting_is_202_and_raises_the_event(api, calls, host):
    """While awaiting approval, the route answers 202 and raises Approval with the decision."""
    await waiting(api, host)
    response = await approve(api, {"approved": True, "note": "extra cheese is fine"})
    assert response.status == 202
    assert body_of(response) == {"orderId": ORDER_ID, "approved": True,
                                 "statusUrl": f"{api_url(api)}/orders/{ORDER_ID}"}
    (call,) = [c for c in calls.made if c.method == "raise_event"]
    assert call.args[:2] == (ORDER_ID, APPROVAL_EVENT)
    assert decoded(call.args[2]) == {"approved": True, "note": "extra cheese is fine"}
    record = await client_of(host).wait_for(ORDER_ID, decided, WAIT_SECONDS)
    assert await raised(host) == [{"approved": True, "note": "extra cheese is fine"}]
    assert custom_status(record)["approval"]["note"] == "extra cheese is fine"
    assert_nothing_leaks(response, REG_ID)


async def test_decline_without_note_raises_only_approved(api, calls, host):
    """A decline without a note raises {"approved": false} and no note key."""
    await waiting(api, host)
    response = await approve(api, {"approved": False})
    assert response.status == 202
    assert body_of(response)["approved"] is False
    await client_of(host).wait_for(ORDER_ID, decided, WAIT_SECONDS)
    assert await raised(host) == [{"approved": False}]


async def test_note_of_exactly_500_characters_is_raised_whole(api, calls, host):
    """A note at the 500-character limit is accepted and raised unchanged."""
    await waiting(api, host)
    note = "n" * 500
    assert (await approve(api, {"approved": True, "note": note})).status == 202
    await client_of(host).wait_for(ORDER_ID, decided, WAIT_SECONDS)
    assert await raised(host) == [{"approved": True, "note": note}]


async def test_explicit_null_note_is_the_same_as_no_note(api, calls, host):
    """``"note": null`` is accepted and raised as a decision without a note."""
    await waiting(api, host)
    assert (await approve(api, {"approved": True, "note": None})).status == 202
    await client_of(host).wait_for(ORDER_ID, decided, WAIT_SECONDS)
    assert await raised(host) == [{"approved": True}]


async def test_status_url_drops_the_function_key(api, calls, host):
    """The staff's function key in the query never reaches the status URL."""
    await waiting(api, host)
    response = await approve(api, {"approved": True}, key=False,
                             query=f"code={segment(api.key('function'))}")
    assert response.status == 202
    assert body_of(response)["statusUrl"] == f"{api_url(api)}/orders/{ORDER_ID}"
    assert_nothing_leaks(response, REG_ID)


# -- Refused: the order is not waiting ---------------------------------------------------------


@pytest.mark.parametrize(("pushes", "wait_until", "stage"), [
    (None, None, "received"),
    (0, "running", "received"),
    (1, "received", "received"),
    (2, "processing", "processing"),
], ids=["pending", "running-before-first-status", "received", "processing"])
async def test_approval_before_the_order_asks_is_409(api, calls, host, pushes, wait_until,
                                                     stage):
    """Too early (not yet awaiting approval) is 409 naming the stage, and nothing is raised."""
    if wait_until is None:
        hub_of(host).hold_episodes()  # no episode yet: Pending
        await placed(api, host, None)
        expected_status = RuntimeStatus.PENDING
    else:
        await placed(api, host, pushes)
        condition = ((lambda r: r.runtime_status == RuntimeStatus.RUNNING)
                     if wait_until == "running" else at_stage(wait_until))
        await client_of(host).wait_for(ORDER_ID, condition, WAIT_SECONDS)
        expected_status = RuntimeStatus.RUNNING
    response = await approve(api, {"approved": True})
    assert response.status == 409
    assert details_of(response) == [{"field": "stage", "message": stage}]
    assert "raise_event" not in calls.methods()
    record = await record_of(host, ORDER_ID)
    assert record.runtime_status == expected_status
    assert (custom_status(record).get("stage") or "received") == stage
    assert await raised(host) == []


async def decide(api: HttpApi, host: LocalHost, outcome: str) -> None:
    """Let the waiting order's approval end with ``outcome`` (its final push held)."""
    if outcome in ("approved", "declined"):
        answer = await approve(api, {"approved": outcome == "approved"})
        assert answer.status == 202
    elif outcome == "expired":
        await runtime_of(host).advance(seconds=1800 + 1)
    else:  # a payload that is no decision, sent past the route through the management API
        path = f"instances/{ORDER_ID}/raiseEvent/{APPROVAL_EVENT}"
        assert (await api.management("POST", path, data=b'"maybe"')).status == 202
    record = await client_of(host).wait_for(ORDER_ID, decided, WAIT_SECONDS)
    assert custom_status(record)["approval"]["outcome"] == outcome
    assert record.runtime_status == RuntimeStatus.RUNNING


@pytest.mark.parametrize("outcome", ["approved", "declined", "expired", "invalid"])
async def test_approval_already_decided_is_409(api, calls, host, outcome):
    """Once the approval has an outcome, another decision is 409 naming it; nothing raised."""
    await waiting(api, host)
    await decide(api, host, outcome)
    before = await raised(host)
    raises = calls.methods().count("raise_event")
    response = await approve(api, {"approved": True})
    assert response.status == 409
    assert details_of(response) == [{"field": "approval", "message": outcome}]
    assert calls.methods().count("raise_event") == raises
    assert await raised(host) == before


async def ended_order(api: HttpApi, host: LocalHost, how: str) -> InstanceRecord:
    """Bring the order to its end ``how``: completed, expired, failed or terminated."""
    if how == "terminated-early":
        await placed(api, host, 0)  # not even the received push: no custom status
        await client_of(host).terminate(ORDER_ID, "never mind")
    elif how == "failed-while-waiting":
        # An approval timeout no date can hold: the orchestrator fails setting its timer.
        hub_of(host).allow_activities(None)
        body = order_body(ORDER_ID, REG_ID)
        value = {"orderId": ORDER_ID, "regId": REG_ID, "items": body["items"],
                 "approvalTimeoutSeconds": 10**15,
                 "pushRetry": {"maxAttempts": 3, "firstRetryMilliseconds": 1000}}
        answer = await api.management("POST", f"orchestrators/{ORDER_ORCHESTRATOR}/{ORDER_ID}",
                                      data=json.dumps(json.dumps(value)).encode())
        assert answer.status == 202, answer.text
    else:
        await waiting(api, host)
        hub_of(host).allow_activities(None)
        if how == "completed":
            assert (await approve(api, {"approved": True})).status == 202
        elif how == "expired":
            await runtime_of(host).advance(seconds=1800 + 1)
        else:
            await client_of(host).terminate(ORDER_ID, "kitchen closed")
    record: InstanceRecord = await client_of(host).wait_for(ORDER_ID, ended, WAIT_SECONDS)
    return record


@pytest.mark.parametrize(("how", "runtime_status", "stage"), [
    ("completed", RuntimeStatus.COMPLETED, "finished"),
    ("expired", RuntimeStatus.COMPLETED, "expired"),
    ("failed-while-waiting", RuntimeStatus.FAILED, "awaiting_approval"),
    ("terminated-while-waiting", RuntimeStatus.TERMINATED, "awaiting_approval"),
    ("terminated-early", RuntimeStatus.TERMINATED, None),
], ids=["completed", "expired", "failed-while-waiting", "terminated-while-waiting",
        "terminated-early"])
async def test_approval_of_an_ended_order_is_410(api, calls, host, how, runtime_status, stage):
    """An order that ended is 410, even if its last status said it was waiting."""
    record = await ended_order(api, host, how)
    assert record.runtime_status == runtime_status
    assert custom_status(record).get("stage") == stage
    before = await raised(host)
    raises = calls.methods().count("raise_event")
    response = await approve(api, {"approved": True})
    assert response.status == 410
    assert [d["field"] for d in details_of(response)] == ["orderId"]
    assert calls.methods().count("raise_event") == raises
    assert await raised(host) == before


async def test_approval_of_an_unknown_order_is_404(api, calls, host):
    """An order id no instance has is 404 naming orderId, and nothing is raised."""
    response = await approve(api, {"approved": True}, order_id="order-9999")
    assert response.status == 404
    assert [d["field"] for d in details_of(response)] == ["orderId"]
    assert calls.methods() == ["get_instance"]
    assert list(await hub_of(host).query_instances()) == []


# -- Refused: the instance moved on between the check and the raise ----------------------------


async def test_order_that_ends_before_the_raise_is_410(api, calls, host):
    """When the host answers the raise with 410 (ended meanwhile), the route answers 410."""
    await waiting(api, host)

    async def order_ends() -> None:
        await client_of(host).terminate(ORDER_ID, "kitchen closed")
        await client_of(host).wait_for(ORDER_ID, ended, WAIT_SECONDS)

    calls.before_next("raise_event", order_ends)
    response = await approve(api, {"approved": True})
    assert response.status == 410
    assert [d["field"] for d in details_of(response)] == ["orderId"]
    assert (await record_of(host, ORDER_ID)).runtime_status == RuntimeStatus.TERMINATED
    assert await raised(host) == []


async def test_order_purged_before_the_raise_is_404(api, calls, host):
    """When the host answers the raise with 404 (purged meanwhile), the route answers 404."""
    await waiting(api, host)

    async def order_is_purged() -> None:
        await client_of(host).terminate(ORDER_ID, "kitchen closed")
        await client_of(host).wait_for(ORDER_ID, ended, WAIT_SECONDS)
        assert await hub_of(host).purge_instance(ORDER_ID)

    calls.before_next("raise_event", order_is_purged)
    response = await approve(api, {"approved": True})
    assert response.status == 404
    assert await hub_of(host).get_instance(ORDER_ID) is None
    assert await hub_of(host).get_history(ORDER_ID) == []


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
async def test_invalid_decision_is_400_naming_the_field(api, calls, host, body, field):
    """An invalid decision is 400 naming the field, before any durable call."""
    await waiting(api, host)
    calls.made.clear()
    response = await approve(api, body)
    assert response.status == 400
    assert field in [d["field"] for d in details_of(response)]
    assert calls.made == []
    assert await raised(host) == []


@pytest.mark.parametrize("raw", [b"", b"{", b"approved=true", b"[true]", b"true", b"\xff"],
                         ids=["empty", "truncated", "form", "array", "bare-true", "not-utf8"])
async def test_body_that_is_not_a_json_object_is_400(api, calls, host, raw):
    """A body that is not a JSON object is 400 naming the body; nothing is looked up."""
    await waiting(api, host)
    calls.made.clear()
    response = await approve(api, raw)
    assert response.status == 400
    assert [d["field"] for d in details_of(response)] == ["body"]
    assert calls.made == []
    assert await raised(host) == []


async def test_body_over_4_kib_is_413(api, calls, host):
    """A decision body over 4 KiB is 413 before parsing, and nothing is raised."""
    await waiting(api, host)
    calls.made.clear()
    raw = json.dumps({"approved": True}).encode()
    raw += b" " * (4 * 1024 + 1 - len(raw))
    response = await approve(api, raw)
    assert response.status == 413
    assert calls.made == []
    assert await raised(host) == []


@pytest.mark.parametrize("order_id", ["short", "x" * 65, "order 0001", "order%2F0001"])
async def test_malformed_order_id_is_400(api, calls, host, order_id):
    """A malformed order id in the route is 400 naming orderId, before any durable call."""
    response = await approve(api, {"approved": True}, order_id=order_id)
    assert response.status == 400
    assert [d["field"] for d in details_of(response)] == ["orderId"]
    assert calls.made == []
    assert await raised(host) == []


async def test_empty_order_id_reaches_no_route(api, calls, host):
    """An empty order id matches no route of the app: the host's 404, before any durable call."""
    response = await approve(api, {"approved": True}, order_id="")
    assert response.status == 404
    assert calls.made == []


async def test_refusals_never_leak_management_urls_or_the_token(api, calls, host):
    """409, 410, 404 and 400 answers carry no management URL, key or device token."""
    await placed(api, host, 2)
    await client_of(host).wait_for(ORDER_ID, at_stage("processing"), WAIT_SECONDS)
    assert (await api.place(order_body("order-ended", REG_ID))).status == 202
    await client_of(host).terminate("order-ended", "kitchen closed")
    await client_of(host).wait_for("order-ended", ended, WAIT_SECONDS)
    answers = [
        await approve(api, {"approved": True}),
        await approve(api, {"approved": True}, order_id="order-ended"),
        await approve(api, {"approved": True}, order_id="order-9999"),
        await approve(api, {"approved": "yes"}),
    ]
    assert [a.status for a in answers] == [409, 410, 404, 400]
    for answer in answers:
        assert_nothing_leaks(answer, REG_ID)


async def test_approval_when_the_task_hub_is_unreachable_answers_503(api, calls, host,
                                                                     monkeypatch):
    """An approval the back end cannot take is a retryable 503, and nothing was raised."""
    await waiting(api, host)

    async def storage_down(messages: Any) -> None:
        raise StorageUnavailable("the task hub's storage did not answer")

    monkeypatch.setattr(hub_of(host), "send", storage_down)
    response = await approve(api, {"approved": True})
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    monkeypatch.undo()
    assert await raised(host) == []
    record = await record_of(host, ORDER_ID)
    assert (custom_status(record)["stage"], custom_status(record)["approval"].get("outcome")) == (
        "awaiting_approval", None)
