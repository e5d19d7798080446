"""Approvals under pressure: too early, twice, all at once, garbled, too late, racing the timer."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from devhost.engine.protocol import EventType
from devhost.host import LocalHost
from devhost.taskhub.base import InstanceRecord
from fcm_emulator import FcmEmulator
from tests.support.local_host import (
    WAIT_SECONDS,
    HttpApi,
    assert_completed_once,
    at_stage,
    decided,
    ended,
    events_of,
    order_body,
    outcome_of,
    stage_of,
)

# Events nobody waits for (the losers of a race, the "Ping" of the auth table) stay buffered;
# the SDK warns about each one when it replays. That is the documented, harmless case.
pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion")

TOKEN = "device-token-approvals"
TIMEOUT_SECONDS = 1800
FINAL_BY_DECISION = {True: "finished", False: "cancelled"}


def runtime(host: LocalHost) -> Any:
    """The host's durable runtime."""
    assert host.runtime is not None
    return host.runtime


async def waiting_order(host: LocalHost, api: HttpApi, order_id: str) -> InstanceRecord:
    """Place an order and wait until it asks for approval."""
    placed = await api.place(order_body(order_id, TOKEN))
    assert placed.status == 202, placed.text
    record: InstanceRecord = await runtime(host).client.wait_for(
        order_id, at_stage("awaiting_approval"), WAIT_SECONDS)
    return record


def decision_of(event: dict[str, Any]) -> Any:
    """An EventRaised payload as a JSON value (the SDK client encodes it twice)."""
    value: Any = event.get("Input")
    while isinstance(value, str):
        value = json.loads(value)
    return value


def assert_refused(reply: Any, status: int) -> None:
    """The app refused with ``status`` and its error shape."""
    assert reply.status == status, reply.text
    assert set(reply.body) == {"error", "details"}, reply.text


async def raised_events(host: LocalHost, order_id: str) -> list[dict[str, Any]]:
    """The order's EventRaised history events, in order."""
    return events_of(await runtime(host).client.get_history(order_id), EventType.EVENT_RAISED)


async def test_too_early_approval_is_refused_and_never_applied(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator) -> None:
    """Protection: approve answers 409 before awaiting_approval and raises nothing to buffer."""
    order_id = "early-approval-0001"
    fcm.queue_fault(200, count=3, delay_seconds=0.5)  # slow pushes hold each early stage
    assert (await api.place(order_body(order_id, TOKEN))).status == 202
    assert_refused(await api.approve(order_id, {"approved": False, "note": "pending"}), 409)
    for stage in ("received", "processing"):
        await runtime(host).client.wait_for(order_id, at_stage(stage), WAIT_SECONDS)
        assert_refused(await api.approve(order_id, {"approved": False, "note": stage}), 409)
    await runtime(host).client.wait_for(order_id, at_stage("awaiting_approval"), WAIT_SECONDS)
    assert await raised_events(host, order_id) == []

    assert (await api.approve(order_id, {"approved": True, "note": "asked"})).status == 202
    record = await runtime(host).client.wait_for(order_id, ended, WAIT_SECONDS)
    assert assert_completed_once(record, fcm, TOKEN) == "finished"
    assert outcome_of(record) == "approved"
    assert [decision_of(e) for e in await raised_events(host, order_id)] == [
        {"approved": True, "note": "asked"}]


async def test_second_approval_is_refused_once_the_first_is_recorded(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator) -> None:
    """Protection: approve answers 409 once the custom status holds an outcome."""
    order_id = "twice-approval-0001"
    await waiting_order(host, api, order_id)
    fcm.queue_fault(200, delay_seconds=1.0)  # the final push is slow: the order stays open
    assert (await api.approve(order_id, {"approved": True})).status == 202
    await runtime(host).client.wait_for(order_id, decided, WAIT_SECONDS)
    for approved in (False, True):
        second = await api.approve(order_id, {"approved": approved})
        assert_refused(second, 409)
        assert second.body["details"] == [{"field": "approval", "message": "approved"}]
    record = await runtime(host).client.wait_for(order_id, ended, WAIT_SECONDS)
    assert assert_completed_once(record, fcm, TOKEN) == "finished"
    assert len(await raised_events(host, order_id)) == 1


async def test_concurrent_approvals_apply_exactly_the_first(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator) -> None:
    """Protection: the orchestrator waits for Approval once, so only the first event decides."""
    order_ids = [f"concurrent-approval-{n:04d}" for n in range(3)]
    await asyncio.gather(*(waiting_order(host, api, order_id) for order_id in order_ids))
    calls = [api.approve(order_id, {"approved": n % 2 == 0, "note": f"staff member {n}"})
             for order_id in order_ids for n in range(10)]
    replies = await asyncio.gather(*calls)
    # Decision: duplicates that race past the status check get 202 too and are then ignored.
    # Accepted, not fixed: 202 means "accepted", the orchestrator applies exactly the first
    # Approval in its history, and the status (outcome, note, decidedAt) says which it was.
    # Refusing them would need a lock shared by every instance of the app, not the route's.
    assert {reply.status for reply in replies} <= {202, 409}, [r.text for r in replies]

    for index, order_id in enumerate(order_ids):
        accepted = sum(1 for r in replies[index * 10:(index + 1) * 10] if r.status == 202)
        assert accepted >= 1
        record = await runtime(host).client.wait_for(order_id, ended, WAIT_SECONDS)
        final = assert_completed_once(record, fcm, TOKEN)
        raised = await raised_events(host, order_id)
        assert 1 <= len(raised) <= accepted
        first = decision_of(raised[0])
        assert final == FINAL_BY_DECISION[first["approved"]]
        approval = json.loads(record.custom_status or "{}")["approval"]
        assert approval["note"] == first["note"]
        assert approval["outcome"] == ("approved" if first["approved"] else "declined")


@pytest.mark.parametrize("payload", [
    b'{"approved": "yes"}',
    b'{"approved": 1}',
    b'{"approved": true, "sneaky": "extra field"}',
    b'{"note": "no decision at all"}',
    b'"approved"',
    b'[true]',
    b"null",
    b'{"approved": true, "note": "' + b"n" * 501 + b'"}',
    b'{"approved": true, "note": "\\u0000"}',
    b"[" * 64 + b"]" * 64,
    json.dumps("[" * 945 + "]" * 945).encode(),
], ids=["string-bool", "int-bool", "extra-field", "missing", "json-string", "array", "null",
        "long-note", "nul-note", "deep-64",
        "deep-json-in-a-string"])
async def test_invalid_payload_through_management_api_cancels(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, payload: bytes) -> None:
    """Protection: read_decision turns any payload that does not validate into 'invalid'."""
    order_id = "invalid-payload-0001"
    await waiting_order(host, api, order_id)
    raised = await api.management("POST", f"instances/{order_id}/raiseEvent/Approval",
                                  data=payload)
    assert raised.status == 202, raised.text
    record = await runtime(host).client.wait_for(order_id, ended, WAIT_SECONDS)
    assert assert_completed_once(record, fcm, TOKEN) == "cancelled"
    assert outcome_of(record) == "invalid"


async def test_empty_payload_through_management_api_is_refused(
        host: LocalHost, api: HttpApi) -> None:
    """An empty event body is a 400 (HttpApiHandler.cs parses it with JToken.Load, which
    refuses it) and raises nothing: the order still waits for its approval."""
    order_id = "empty-payload-00001"
    await waiting_order(host, api, order_id)
    raised = await api.management("POST", f"instances/{order_id}/raiseEvent/Approval",
                                  data=b"")
    assert raised.status == 400, raised.text
    assert json.loads(raised.text)["Message"] == "Invalid JSON content"
    assert events_of(await runtime(host).client.get_history(order_id),
                     EventType.EVENT_RAISED) == []
    record = await runtime(host).client.get_instance(order_id)
    assert stage_of(record) == "awaiting_approval" and outcome_of(record) is None


async def _race(host: LocalHost, api: HttpApi, order_ids: list[str], arrival: str) -> list[Any]:
    """Approve every order and move the clock onto the deadline, in the ``arrival`` order."""
    async def approve_all() -> list[Any]:
        return list(await asyncio.gather(*(api.approve(o, {"approved": True})
                                           for o in order_ids)))

    async def time_out() -> None:
        await runtime(host).advance(seconds=TIMEOUT_SECONDS)

    if arrival == "approval-first":
        replies = await approve_all()
        await time_out()
        return replies
    if arrival == "timeout-first":
        await time_out()
        return await approve_all()
    replies, _ = await asyncio.gather(approve_all(), time_out())
    return list(replies)


@pytest.mark.parametrize("arrival", ["approval-first", "timeout-first", "together"])
async def test_approval_racing_the_timeout_ends_once(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, arrival: str) -> None:
    """Protection: an approval accepted before the deadline wins; task_any follows history order."""
    order_ids = [f"race-{arrival}-{n}" for n in range(4)]
    await asyncio.gather(*(waiting_order(host, api, order_id) for order_id in order_ids))
    replies = await _race(host, api, order_ids, arrival)
    for order_id, reply in zip(order_ids, replies, strict=True):
        assert reply.status in (202, 409, 410), reply.text
        record = await runtime(host).client.wait_for(order_id, ended, WAIT_SECONDS)
        final = assert_completed_once(record, fcm, TOKEN)
        history = await runtime(host).client.get_history(order_id)
        kinds = [event["EventType"] for event in history]
        approval_at = (kinds.index(EventType.EVENT_RAISED)
                       if EventType.EVENT_RAISED in kinds else len(kinds))
        timer_at = (kinds.index(EventType.TIMER_FIRED)
                    if EventType.TIMER_FIRED in kinds else len(kinds))
        assert final == ("finished" if approval_at < timer_at else "expired"), kinds
        assert outcome_of(record) == ("approved" if final == "finished" else "expired")
        if arrival == "approval-first":
            # Accepted before the deadline: the decision counts, even when the episode
            # that applies it also sees the timer that came due since.
            assert (reply.status, final) == (202, "finished")
        if arrival == "timeout-first":
            assert final == "expired"
        if reply.status != 202:
            assert final == "expired" and stage_of(record) == "expired"
