"""Pushes that fail: durable retries, exhausted retries and undeliverable outcomes."""

import json
from datetime import timedelta

import pytest

from devhost.engine.protocol import ActionType, EventType
from tests.support.history import OrderHistory, TaskKind, order_input

FAILURE_TEXT = "TransientPushError \n FCM answered 503"


def pushed_stages(actions: list[dict]) -> list[str]:
    """The stages the BackendAction actions among ``actions`` announce."""
    return [json.loads(a["input"])["orderStatus"] for a in actions
            if a["actionType"] == ActionType.CALL_ACTIVITY_WITH_RETRY]


def test_a_transient_failure_is_retried_and_the_retry_result_counts(run) -> None:
    """TaskFailed -> retry timer -> new attempt -> its result is the stage's push result."""
    h = OrderHistory(order_input(pushRetry={"maxAttempts": 3,
                                            "firstRetryMilliseconds": 5000})).start()
    run(h)
    failed = run(h.advance(seconds=2).push_fails())
    assert failed.new_actions == ()
    assert failed.custom_status is None
    timer = h.retry_timer
    assert timer.task_id == 1
    assert timer.fire_at == h.now + timedelta(seconds=5)

    fired = run(h.retry_timer_fires())
    assert fired.new_actions == ()
    assert fired.custom_status is None
    assert [(p.task_id, p.attempt) for p in h.pushes] == [(0, 1), (2, 2)]
    assert h.push.input == h.task(0).input

    received = run(h.advance(seconds=1).push_succeeds())
    assert pushed_stages(received.new_atomic_actions) == ["processing"]
    assert received.custom_status["timeline"][0]["push"]["outcome"] == "sent"
    assert received.custom_status["timeline"][0]["at"] == "2024-05-01T12:00:08Z"

    processing = run(h.advance(seconds=1).push_succeeds())
    assert h.push.task_id == 4
    assert pushed_stages(processing.new_atomic_actions) == ["awaiting_approval"]


@pytest.mark.parametrize("max_attempts", [1, 3])
def test_exhausted_retries_record_a_failed_push_and_the_order_goes_on(run,
                                                                      max_attempts) -> None:
    """After the last attempt and one more retry timer the push is recorded as failed."""
    h = OrderHistory(order_input(pushRetry={"maxAttempts": max_attempts,
                                            "firstRetryMilliseconds": 1000})).start()
    run(h)
    for attempt in range(1, max_attempts + 1):
        failed = run(h.advance(seconds=1).push_fails())
        assert failed.new_actions == ()
        fired = run(h.retry_timer_fires())
        if attempt < max_attempts:
            assert fired.new_actions == ()
            assert fired.custom_status is None

    assert len(h.pushes) == max_attempts + 1
    assert h.push.task_id == 2 * max_attempts
    assert pushed_stages(fired.new_atomic_actions) == ["processing"]
    assert fired.custom_status["stage"] == "received"
    assert fired.custom_status["timeline"][0]["push"] == {"outcome": "failed",
                                                          "error": FAILURE_TEXT}
    processing = run(h.advance(seconds=1).push_succeeds())
    assert pushed_stages(processing.new_atomic_actions) == ["awaiting_approval"]


def test_a_failure_text_is_cut_to_300_characters(run) -> None:
    """A long activity error is recorded as its first 300 characters."""
    h = OrderHistory(order_input(pushRetry={"maxAttempts": 1,
                                            "firstRetryMilliseconds": 1000})).start()
    run(h)
    run(h.advance(seconds=1).push_fails("PushError", "x" * 1000))
    fired = run(h.retry_timer_fires())

    error = fired.custom_status["timeline"][0]["push"]["error"]
    assert len(error) == 300
    assert error.startswith("PushError \n xxx")


def test_the_order_finishes_even_when_the_final_push_fails(run, at_approval) -> None:
    """A failed final push still ends the order, with the failure in the output."""
    h, _ = at_approval(pushRetry={"maxAttempts": 2, "firstRetryMilliseconds": 500})
    run(h.advance(seconds=3).approve())
    for _ in range(2):
        run(h.advance(seconds=1).push_fails())
        done = run(h.retry_timer_fires())

    assert done.is_done
    assert done.output[3] == {"orderId": "order-0001", "stage": "finished", "seq": 4,
                              "push": {"outcome": "failed", "error": FAILURE_TEXT}}
    assert done.custom_status["stage"] == "finished"


@pytest.mark.parametrize(("outcome", "delivery"), [
    ("unregistered", {"error": "UNREGISTERED", "statusCode": 404}),
    ("invalid_token", {"error": "INVALID_ARGUMENT", "statusCode": 400}),
    ("not_configured", {"error": "no FCM credentials"}),
])
def test_an_undeliverable_push_is_recorded_and_the_order_goes_on(run, outcome,
                                                                 delivery) -> None:
    """A push that reached no device is recorded as returned, and the next stage follows."""
    h = OrderHistory().start()
    run(h)
    received = run(h.advance(seconds=2).push_succeeds(outcome, **delivery))

    assert received.custom_status["timeline"][0]["push"] == {"outcome": outcome, **delivery}
    assert pushed_stages(received.new_atomic_actions) == ["processing"]


def test_retry_bookkeeping_is_recorded_like_a_host(run) -> None:
    """The host records TimerCreated with the failure and TaskScheduled when the timer fires."""
    h = OrderHistory().start()
    run(h)
    failed = run(h.advance(seconds=1).push_fails())
    fired = run(h.retry_timer_fires())

    assert [(e["EventType"], e["EventId"]) for e in failed.recorded] == [
        (EventType.TIMER_CREATED, 1)]
    assert [(e["EventType"], e["EventId"], e["Name"]) for e in fired.recorded] == [
        (EventType.TASK_SCHEDULED, 2, "BackendAction")]
    assert h.task(1).kind is TaskKind.RETRY_TIMER
