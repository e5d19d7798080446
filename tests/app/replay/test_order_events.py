"""External events at the wrong time: early, duplicate, late and foreign ones."""

import json

import azure.durable_functions as df
import pytest

from devhost.engine.protocol import ActionType
from tests.support.history import History, OrderHistory, replay

DUPLICATE_WARNING = "ignore:Potential duplicate Task completion:UserWarning"


def pushed_stages(actions: list[dict]) -> list[str]:
    """The stages the BackendAction actions among ``actions`` announce."""
    return [json.loads(a["input"])["orderStatus"] for a in actions
            if a["actionType"] == ActionType.CALL_ACTIVITY_WITH_RETRY]


def waits_twice(context: df.DurableOrchestrationContext):
    """A stand-in orchestrator: one activity, then two waits for the same event name."""
    yield context.call_activity("Work")
    first = yield context.wait_for_external_event("Go")
    second = yield context.wait_for_external_event("Go")
    return [first, second]


@pytest.mark.filterwarnings(DUPLICATE_WARNING)
def test_sdk_hands_an_early_event_to_every_later_wait() -> None:
    """SDK issue #507: an event raised during an activity satisfies each later wait of its name."""
    handle = df.Orchestrator.create(waits_twice)
    h = History("WaitsTwice", "demo-1", None).start()
    replay(handle, h)
    with pytest.warns(UserWarning, match="Potential duplicate Task completion for TaskId: Go"):
        early = replay(handle, h.advance(seconds=1).event_raised("Go", "once"))
    assert early.new_actions == ()

    done = replay(handle, h.advance(seconds=1).task_completed(0, None))
    assert done.is_done
    assert done.output == ["once", "once"]


def test_sdk_delivers_events_after_their_wait_once_each() -> None:
    """Events that arrive while their wait is open are delivered once each, in order."""
    handle = df.Orchestrator.create(waits_twice)
    h = History("WaitsTwice", "demo-2", None).start()
    replay(handle, h)
    replay(handle, h.advance(seconds=1).task_completed(0, None))
    replay(handle, h.advance(seconds=1).event_raised("Go", "first"))
    done = replay(handle, h.advance(seconds=1).event_raised("Go", "second"))
    assert done.output == ["first", "second"]


@pytest.mark.filterwarnings(DUPLICATE_WARNING)
def test_an_early_approval_decides_the_moment_approval_is_requested(run) -> None:
    """An approval buffered before the wait approves in the very episode that asks for it.

    This is why the approve route refuses events until the status says awaiting_approval:
    the customer is pushed the question and the answer in the same instant.
    """
    h = OrderHistory().start()
    run(h)
    run(h.advance(seconds=2).push_succeeds())
    with pytest.warns(UserWarning, match="TaskId: Approval"):
        early = run(h.advance(seconds=1).approve())
    assert early.new_actions == ()
    assert early.custom_status["stage"] == "received"

    run(h.advance(seconds=2).push_succeeds())
    asked = run(h.advance(seconds=2).push_succeeds())

    when_any, final_push = asked.new_actions
    assert when_any["actionType"] == ActionType.WHEN_ANY
    assert when_any["compoundActions"][1]["isCanceled"] is True
    assert pushed_stages(final_push["compoundActions"]) == ["finished"]
    approval = asked.custom_status["approval"]
    assert approval["outcome"] == "approved"
    assert approval["decidedAt"] == approval["requestedAt"]


@pytest.mark.filterwarnings(DUPLICATE_WARNING)
def test_a_duplicate_approval_after_the_decision_changes_nothing(run, at_approval) -> None:
    """The orchestrator waits once: a second Approval (even a decline) is ignored."""
    reference, _ = at_approval()
    run(reference.advance(seconds=4).approve())
    expected = run(reference.advance(seconds=3).push_succeeds())

    h, _ = at_approval()
    decided = run(h.advance(seconds=4).approve())
    duplicate = run(h.advance(seconds=1).decline())
    assert duplicate.new_actions == ()
    assert duplicate.custom_status == decided.custom_status

    done = run(h.advance(seconds=2).push_succeeds())
    assert done.output == expected.output
    assert done.custom_status == expected.custom_status
    assert [a["actionType"] for a in done.actions] == [a["actionType"] for a in expected.actions]


@pytest.mark.filterwarnings(DUPLICATE_WARNING)
def test_the_first_of_two_approvals_in_one_episode_wins(run, at_approval) -> None:
    """Two Approval events in one episode: the first decides, the second is ignored."""
    h, _ = at_approval()
    decided = run(h.advance(seconds=4).approve().decline())

    assert pushed_stages(decided.new_atomic_actions) == ["finished"]
    assert decided.custom_status["approval"]["outcome"] == "approved"


@pytest.mark.filterwarnings(DUPLICATE_WARNING)
def test_an_approval_after_the_deadline_changes_nothing(run, at_approval) -> None:
    """Once the deadline has expired the order, a late approval schedules nothing."""
    h, _ = at_approval(approvalTimeoutSeconds=20)
    expired = run(h.deadline_fires())
    late = run(h.advance(seconds=1).approve())

    assert late.new_actions == ()
    assert late.custom_status == expired.custom_status
    done = run(h.advance(seconds=2).push_succeeds())
    assert done.custom_status["stage"] == "expired"
    assert done.custom_status["approval"]["outcome"] == "expired"


@pytest.mark.filterwarnings(DUPLICATE_WARNING)
def test_events_of_other_names_are_ignored(run) -> None:
    """Events named otherwise, before or during the wait, neither decide nor schedule."""
    h = OrderHistory().start()
    run(h)
    before = run(h.advance(seconds=1).event_raised("Approved", {"approved": True}))
    assert before.new_actions == ()
    for _ in range(3):
        asked = run(h.advance(seconds=2).push_succeeds())

    during = run(h.advance(seconds=1).event_raised("Cancel", {"approved": False})
                 .event_raised("ApprovalRequest", None))
    assert during.new_actions == ()
    assert during.custom_status == asked.custom_status
    assert "outcome" not in during.custom_status["approval"]

    decided = run(h.advance(seconds=1).approve())
    assert pushed_stages(decided.new_atomic_actions) == ["finished"]
