"""The order orchestrator's main path through the SDK's replay engine: stages, status, decision."""

import json
from datetime import datetime, timedelta, timezone
from itertools import pairwise

import pytest

from constants import APPROVAL_EVENT, BACKEND_ACTION
from devhost.engine.protocol import ActionType, parse_iso
from tests.support.history import (
    Episode,
    OrderHistory,
    answer,
    as_sent_by_client,
    flatten,
    order_input,
)

STAGES_TO_APPROVAL = ["received", "processing", "awaiting_approval"]


def pushed_stage(action: dict) -> str:
    """The stage a BackendAction action announces."""
    return json.loads(action["input"])["orderStatus"]


def status_times(status: dict) -> list[str]:
    """Every time the custom status carries."""
    times = [entry["at"] for entry in status["timeline"]]
    approval = status.get("approval") or {}
    return times + [approval[key] for key in ("requestedAt", "expiresAt", "decidedAt")
                    if key in approval]


def test_approved_order_finishes_with_the_four_push_results(run, at_approval) -> None:
    """Approve -> the last push announces finished and the output is the four push results."""
    h, _ = at_approval()
    run(h.advance(seconds=3).approve())
    done = run(h.advance(seconds=2).push_succeeds())

    assert done.is_done
    assert done.error is None
    assert [r["seq"] for r in done.output] == [1, 2, 3, 4]
    assert [r["stage"] for r in done.output] == [*STAGES_TO_APPROVAL, "finished"]
    assert done.output[3] == {"orderId": "order-0001", "stage": "finished", "seq": 4,
                              "push": {"outcome": "sent",
                                       "messageId": "projects/demo/messages/order-0001-4"}}
    assert done.custom_status["stage"] == "finished"
    assert done.new_actions == ()


def test_each_push_is_an_activity_with_retry_from_the_input_policy(run, at_approval) -> None:
    """Every BackendAction is a CallActivityWithRetry in a WhenAll, with the input's policy."""
    h, _ = at_approval(pushRetry={"maxAttempts": 7, "firstRetryMilliseconds": 250})
    run(h.approve())

    pushes = [a for a in h.episodes[-1].actions if a["actionType"] == ActionType.WHEN_ALL]
    assert len(pushes) == 4
    for when_all in pushes:
        (call,) = when_all["compoundActions"]
        assert call["actionType"] == ActionType.CALL_ACTIVITY_WITH_RETRY
        assert call["functionName"] == BACKEND_ACTION
        assert call["retryOptions"] == {"firstRetryIntervalInMilliseconds": 250,
                                        "maxNumberOfAttempts": 7}


def test_activity_inputs_name_order_device_stage_and_seq(run, at_approval) -> None:
    """Each push input is exactly {orderId, regId, orderStatus, seq}, seq counting stages."""
    h, _ = at_approval(orderId="order-xyz-42", regId="token-abc")
    run(h.decline())

    inputs = [json.loads(a["input"]) for a in flatten(h.episodes[-1].actions)
              if a["actionType"] == ActionType.CALL_ACTIVITY_WITH_RETRY]
    assert inputs == [
        {"orderId": "order-xyz-42", "regId": "token-abc", "orderStatus": stage, "seq": seq}
        for seq, stage in enumerate([*STAGES_TO_APPROVAL, "cancelled"], start=1)
    ]


def test_one_push_per_episode_and_a_stage_is_published_after_its_push(run) -> None:
    """Each episode schedules the next stage's push; the status shows only pushed stages."""
    h = OrderHistory().start()
    first = run(h)
    assert [pushed_stage(a) for a in first.new_atomic_actions] == ["received"]
    assert first.custom_status is None

    published: list[str] = []
    for stage, next_stage in pairwise(STAGES_TO_APPROVAL):
        episode = run(h.advance(seconds=2).push_succeeds())
        published.append(stage)
        assert [pushed_stage(a) for a in episode.new_atomic_actions] == [next_stage]
        assert episode.custom_status["stage"] == stage
        assert [e["stage"] for e in episode.custom_status["timeline"]] == published
        assert "approval" not in episode.custom_status


def test_timeline_entries_carry_time_seq_and_push_result(run) -> None:
    """A timeline entry holds the episode's time, the seq and the push result as returned."""
    h = OrderHistory().start()
    run(h)
    run(h.advance(seconds=5).push_succeeds())
    episode = run(h.advance(seconds=7).push_succeeds("unregistered", error="UNREGISTERED",
                                                     statusCode=404))

    assert episode.custom_status["timeline"] == [
        {"stage": "received", "at": "2024-05-01T12:00:05Z", "seq": 1,
         "push": {"outcome": "sent", "messageId": "projects/demo/messages/order-0001-1"}},
        {"stage": "processing", "at": "2024-05-01T12:00:12Z", "seq": 2,
         "push": {"outcome": "unregistered", "error": "UNREGISTERED", "statusCode": 404}},
    ]


def test_the_episode_publishing_awaiting_approval_starts_the_wait(run, at_approval) -> None:
    """awaiting_approval, its approval request and task_any(wait, timer) share one episode."""
    h, asked = at_approval(approvalTimeoutSeconds=90)
    before = h.episodes[-2]

    assert before.custom_status["stage"] == "processing"
    assert before.action_types() == [ActionType.CALL_ACTIVITY_WITH_RETRY]

    (when_any,) = asked.new_actions
    assert when_any["actionType"] == ActionType.WHEN_ANY
    wait, timer = when_any["compoundActions"]
    assert wait == {"actionType": ActionType.WAIT_FOR_EXTERNAL_EVENT,
                    "externalEventName": APPROVAL_EVENT, "reason": "ExternalEvent"}
    assert timer["actionType"] == ActionType.CREATE_TIMER
    assert timer["isCanceled"] is False
    assert asked.custom_status["stage"] == "awaiting_approval"
    assert asked.custom_status["approval"] == {"requestedAt": "2024-05-01T12:00:06Z",
                                               "expiresAt": "2024-05-01T12:01:36Z"}
    assert parse_iso(timer["fireAt"]) == h.now + timedelta(seconds=90)
    assert not asked.is_done


@pytest.mark.parametrize("by_client", [True, False], ids=["client-encoded", "plain-dict"])
@pytest.mark.parametrize(("approved", "final"), [(True, "finished"), (False, "cancelled")])
def test_decision_payload_decides_the_final_stage(run, at_approval, by_client, approved,
                                                  final) -> None:
    """Approve -> finished, decline -> cancelled, from a JSON string or a dict alike."""
    h, _ = at_approval()
    decided = run(h.advance(seconds=4).approval({"approved": approved, "note": "extra olives"},
                                                by_client=by_client))

    assert [pushed_stage(a) for a in decided.new_atomic_actions] == [final]
    assert decided.custom_status["stage"] == "awaiting_approval"
    assert decided.custom_status["approval"] == {
        "requestedAt": "2024-05-01T12:00:06Z", "expiresAt": "2024-05-01T12:30:06Z",
        "outcome": "approved" if approved else "declined", "note": "extra olives",
        "decidedAt": "2024-05-01T12:00:10Z"}

    done = run(h.advance(seconds=2).push_succeeds())
    assert done.is_done
    assert done.custom_status["stage"] == final
    assert done.output[-1]["stage"] == final


@pytest.mark.parametrize("payload", [
    as_sent_by_client({"approved": "yes"}),
    as_sent_by_client({"approve": True}),
    as_sent_by_client({"approved": True, "note": "x" * 501}),
    as_sent_by_client("not json at all"),
    as_sent_by_client(None),
    {"approved": 1},
    ["approved"],
    None,
], ids=["string-bool", "misspelt-field", "long-note", "not-json", "null", "int-bool",
        "list", "no-data"])
@pytest.mark.filterwarnings("ignore:Potential duplicate Task completion:UserWarning")
def test_invalid_payload_cancels_and_does_not_wait_again(run, at_approval, payload) -> None:
    """A payload that does not validate ends the wait as invalid and the order as cancelled."""
    h, _ = at_approval()
    decided = run(h.advance(seconds=4).approval(payload, by_client=False))

    assert decided.action_types() == [ActionType.CALL_ACTIVITY_WITH_RETRY]
    assert pushed_stage(decided.new_atomic_actions[0]) == "cancelled"
    assert decided.custom_status["approval"]["outcome"] == "invalid"
    assert "note" not in decided.custom_status["approval"]
    waits = [a for a in flatten(decided.actions)
             if a["actionType"] == ActionType.WAIT_FOR_EXTERNAL_EVENT]
    assert len(waits) == 1

    retried = run(h.advance(seconds=1).approve())
    assert retried.new_actions == ()
    assert retried.custom_status == decided.custom_status

    done = run(h.advance(seconds=2).push_succeeds())
    assert done.custom_status["stage"] == "cancelled"
    assert done.custom_status["approval"]["outcome"] == "invalid"


def test_deadline_expires_the_order_at_start_plus_timeout(run, at_approval) -> None:
    """The deadline fires at requestedAt + approvalTimeoutSeconds and the order expires."""
    h, asked = at_approval(approvalTimeoutSeconds=30)
    requested_at = parse_iso(asked.custom_status["approval"]["requestedAt"])
    assert h.deadline.fire_at == requested_at + timedelta(seconds=30)

    expired = run(h.deadline_fires())
    assert h.now == requested_at + timedelta(seconds=30)
    assert [pushed_stage(a) for a in expired.new_atomic_actions] == ["expired"]
    assert expired.custom_status["approval"] == {
        "requestedAt": "2024-05-01T12:00:06Z", "expiresAt": "2024-05-01T12:00:36Z",
        "outcome": "expired", "decidedAt": "2024-05-01T12:00:36Z"}
    timer = next(a for a in flatten(expired.actions)
                 if a["actionType"] == ActionType.CREATE_TIMER)
    assert timer["isCanceled"] is False

    done = run(h.advance(seconds=2).push_succeeds())
    assert done.is_done
    assert [r["stage"] for r in done.output] == [*STAGES_TO_APPROVAL, "expired"]


def test_the_deadline_is_cancelled_when_the_decision_wins(run, at_approval) -> None:
    """Once the event wins, the CreateTimer action reports isCanceled in every later answer."""
    h, _ = at_approval()
    decided = run(h.advance(seconds=4).approve())
    done = run(h.advance(seconds=2).push_succeeds())

    for episode in (decided, done):
        (timer,) = [a for a in flatten(episode.actions)
                    if a["actionType"] == ActionType.CREATE_TIMER]
        assert timer["isCanceled"] is True


def test_a_late_deadline_after_the_decision_changes_nothing(run, at_approval) -> None:
    """A deadline that fires after the decision neither schedules nor changes anything."""
    h, _ = at_approval(approvalTimeoutSeconds=10)
    decided = run(h.advance(seconds=4).approve())
    late = run(h.deadline_fires())

    assert late.new_actions == ()
    assert late.custom_status == decided.custom_status
    done = run(h.advance(seconds=2).push_succeeds())
    assert done.is_done
    assert done.custom_status["approval"]["outcome"] == "approved"


def test_replaying_the_same_history_gives_the_same_state(run, handle, at_approval) -> None:
    """The same context JSON gives byte-identical state JSON, mid-flow and at the end."""
    h, _ = at_approval()
    waiting = h.context_json()
    assert answer(handle, waiting) == answer(handle, waiting)

    run(h.advance(seconds=4).approve())
    last = h.context_json()
    last_episode: Episode = run(h.advance(seconds=2).push_succeeds())
    again, failure = answer(handle, h.context_json())
    assert failure is None
    assert again == last_episode.text
    assert answer(handle, last) == answer(handle, last)


def test_custom_status_times_are_the_orchestrator_started_timestamps(run) -> None:
    """Every time in the status is an OrchestratorStarted timestamp chosen by the test."""
    start = datetime(2001, 2, 3, 4, 5, 6, 789000, tzinfo=timezone.utc)
    h = OrderHistory(order_input(approvalTimeoutSeconds=45), at=start).start()
    run(h)
    run(h.advance(seconds=11).push_succeeds())
    run(h.advance(minutes=3).push_succeeds())
    run(h.advance(hours=2).push_succeeds())
    run(h.advance(seconds=13).decline())
    done = run(h.advance(days=1).push_succeeds())

    assert status_times(done.custom_status) == [
        "2001-02-03T04:05:17.789000Z",  # received
        "2001-02-03T04:08:17.789000Z",  # processing
        "2001-02-03T06:08:17.789000Z",  # awaiting_approval
        "2001-02-04T06:08:30.789000Z",  # cancelled
        "2001-02-03T06:08:17.789000Z",  # requestedAt
        "2001-02-03T06:09:02.789000Z",  # expiresAt = requestedAt + 45 s
        "2001-02-03T06:08:30.789000Z",  # decidedAt
    ]
