"""FCM faults through the emulator: dead tokens, refused credentials, throttling, outages, slowness.

In every case the order reaches its terminal stage in bounded time and the status says how
each push went. Retries wait on the durable (virtual) clock, which the tests move.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from devhost.engine.protocol import EventType
from devhost.host import LocalHost
from devhost.taskhub.base import InstanceRecord
from fcm_emulator import FcmEmulator
from push import TransientPushError
from tests.support.local_host import (
    WAIT_SECONDS,
    HttpApi,
    assert_completed_once,
    at_stage,
    custom_status,
    ended,
    events_of,
    order_body,
)

TOKEN = "device-token-faults"
MAX_ATTEMPTS = 3  # PUSH_MAX_ATTEMPTS of the hardening hosts
RETRY_SECONDS = 1  # PUSH_FIRST_RETRY_MILLISECONDS / 1000
STAGES = ["received", "processing", "awaiting_approval", "finished"]


def runtime(host: LocalHost) -> Any:
    """The host's durable runtime."""
    assert host.runtime is not None
    return host.runtime


async def drive(host: LocalHost, order_id: str, condition: Any,
                timeout: float = WAIT_SECONDS) -> InstanceRecord:
    """Move the virtual clock a retry interval at a time until ``condition`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        record = await runtime(host).client.get_instance(order_id)
        if record is not None and condition(record):
            return record
        if loop.time() > deadline:
            raise AssertionError(f"{order_id} did not get there within {timeout} s")
        await runtime(host).advance(seconds=RETRY_SECONDS)
        await asyncio.sleep(0.02)


async def run_order(host: LocalHost, api: HttpApi, order_id: str) -> InstanceRecord:
    """Place, approve once asked, and return the ended order (retries driven by the clock)."""
    assert (await api.place(order_body(order_id, TOKEN))).status == 202
    await drive(host, order_id, at_stage("awaiting_approval"))
    assert (await api.approve(order_id, {"approved": True})).status == 202
    return await drive(host, order_id, ended)


def push_outcomes(record: InstanceRecord) -> list[tuple[str, str]]:
    """(stage, push outcome) of each timeline entry."""
    return [(entry["stage"], entry["push"]["outcome"])
            for entry in custom_status(record)["timeline"]]


async def activity_attempts(host: LocalHost, order_id: str) -> list[str]:
    """How each BackendAction attempt ended, in order: "failed" or "completed"."""
    history = await runtime(host).client.get_history(order_id)
    outcomes = {event["TaskScheduledId"]: "failed" for event in
                events_of(history, EventType.TASK_FAILED)}
    outcomes.update({event["TaskScheduledId"]: "completed" for event in
                     events_of(history, EventType.TASK_COMPLETED)})
    return [outcomes[event["EventId"]] for event in events_of(history, EventType.TASK_SCHEDULED)]


async def test_unregistered_token_is_recorded_and_never_retried(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator) -> None:
    """Protection: a 404 UNREGISTERED is a final DeliveryResult, not a TransientPushError."""
    fcm.mark_unregistered(TOKEN)
    record = await run_order(host, api, "fault-unregistered-1")
    assert assert_completed_once(record, fcm, TOKEN, delivered=False) == "finished"
    assert push_outcomes(record) == [(stage, "unregistered") for stage in STAGES]
    assert [r["status"] for r in fcm.requests()] == [404] * 4
    assert await activity_attempts(host, "fault-unregistered-1") == ["completed"] * 4


async def test_refused_credentials_are_a_config_error_never_retried(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator) -> None:
    """Protection: a 401 is CONFIG_ERROR (keep the token, fix the settings), not retried."""
    fcm.queue_fault(401, count=4)
    record = await run_order(host, api, "fault-unauthorized1")
    assert assert_completed_once(record, fcm, TOKEN, delivered=False) == "finished"
    assert push_outcomes(record) == [(stage, "config_error") for stage in STAGES]
    assert [r["status"] for r in fcm.requests()] == [401] * 4
    for entry in custom_status(record)["timeline"]:
        assert entry["push"]["statusCode"] == 401 and entry["push"]["error"]
    assert await activity_attempts(host, "fault-unauthorized1") == ["completed"] * 4


async def test_throttling_storm_gives_up_after_max_attempts_per_push(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator) -> None:
    """Protection: the bounded durable retry policy; a push that never goes out costs no order."""
    fcm.queue_fault(429, count=1000, retry_after=3600)
    started = time.monotonic()
    record = await run_order(host, api, "fault-throttled-001")
    assert time.monotonic() - started < WAIT_SECONDS
    assert assert_completed_once(record, fcm, TOKEN, delivered=False) == "finished"
    assert push_outcomes(record) == [(stage, "failed") for stage in STAGES]
    for entry in custom_status(record)["timeline"]:
        assert "QUOTA_EXCEEDED" in entry["push"]["error"], entry["push"]
    assert [r["status"] for r in fcm.requests()] == [429] * (MAX_ATTEMPTS * len(STAGES))
    assert await activity_attempts(host, "fault-throttled-001") == (
        ["failed"] * (MAX_ATTEMPTS * len(STAGES)))


async def test_outage_bursts_are_retried_until_delivered(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator) -> None:
    """Protection: 5xx raises TransientPushError, so the retry policy sends the push again."""
    order_id = "fault-outage-000001"
    fcm.queue_fault(503, count=2)
    assert (await api.place(order_body(order_id, TOKEN))).status == 202
    await drive(host, order_id, at_stage("awaiting_approval"))
    fcm.queue_fault(503, count=2)
    assert (await api.approve(order_id, {"approved": True})).status == 202
    record = await drive(host, order_id, ended)
    assert assert_completed_once(record, fcm, TOKEN) == "finished"
    assert push_outcomes(record) == [(stage, "sent") for stage in STAGES]
    assert [r["status"] for r in fcm.requests()] == [503, 503, 200, 200, 200, 503, 503, 200]
    assert await activity_attempts(host, order_id) == [
        "failed", "failed", "completed", "completed", "completed",
        "failed", "failed", "completed"]
    history = await runtime(host).client.get_history(order_id)
    assert len(events_of(history, EventType.TASK_FAILED)) == 4
    assert all("UNAVAILABLE" in event["Reason"]
               for event in events_of(history, EventType.TASK_FAILED))


@pytest.fixture
def one_second_timeout(monkeypatch: pytest.MonkeyPatch, host: LocalHost) -> float:
    """FCM_TIMEOUT_SECONDS=1 (read at each send)."""
    monkeypatch.setenv("FCM_TIMEOUT_SECONDS", "1")
    return 1.0


async def test_slow_fcm_is_cut_off_at_the_timeout(
        host: LocalHost, fcm: FcmEmulator, one_second_timeout: float) -> None:
    """Protection: every FCM request carries FCM_TIMEOUT_SECONDS; a slow answer is transient."""
    assert host.index is not None
    activity = host.index.activities["BackendAction"]
    action = {"orderId": "fault-slow-activity", "regId": TOKEN, "orderStatus": "received",
              "seq": 1}
    fcm.queue_fault(200, delay_seconds=30)
    started = time.monotonic()
    with pytest.raises(TransientPushError, match="did not answer"):
        await activity.func(**{activity.input_param: action})
    assert time.monotonic() - started < one_second_timeout + 1
    # Not slow any more: the same activity delivers at once.
    started = time.monotonic()
    result = await activity.func(**{activity.input_param: action})
    assert result["push"]["outcome"] == "sent"
    assert time.monotonic() - started < one_second_timeout + 1


async def test_slow_fcm_delays_an_order_but_never_stalls_it(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, one_second_timeout: float) -> None:
    """Protection: the timeout turns a hanging push into a retry; the order still finishes."""
    order_id = "fault-slow-order-01"
    fcm.queue_fault(200, count=2, delay_seconds=30)
    started = time.monotonic()
    record = await run_order(host, api, order_id)
    elapsed = time.monotonic() - started
    assert assert_completed_once(record, fcm, TOKEN) == "finished"
    assert push_outcomes(record) == [(stage, "sent") for stage in STAGES]
    assert await activity_attempts(host, order_id) == [
        "failed", "failed", "completed", "completed", "completed", "completed"]
    assert elapsed < 2 * (one_second_timeout + 1) + 3
    history = await runtime(host).client.get_history(order_id)
    assert all("did not answer within 1 s" in event["Reason"]
               for event in events_of(history, EventType.TASK_FAILED))
