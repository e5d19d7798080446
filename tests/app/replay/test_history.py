"""The history builder records episodes the way a host does (the engine's tests lean on it)."""

import json

import pytest

from devhost.engine.protocol import EventType
from tests.support.history import T0, OrderHistory, TaskKind


def test_older_episodes_are_played_and_the_new_one_is_not(run) -> None:
    """Only the events before the last OrchestratorStarted carry IsPlayed."""
    h = OrderHistory().start()
    first = json.loads(h.context_json())
    assert first["isReplaying"] is False
    assert [e["IsPlayed"] for e in first["history"]] == [False, False]

    run(h)
    second = json.loads(h.advance(seconds=2).push_succeeds().context_json())
    events = second["history"]
    last_start = max(i for i, e in enumerate(events)
                     if e["EventType"] == EventType.ORCHESTRATOR_STARTED)
    assert second["isReplaying"] is True
    assert all(e["IsPlayed"] for e in events[:last_start])
    assert not any(e["IsPlayed"] for e in events[last_start:])
    assert events[last_start]["Timestamp"] == "2024-05-01T12:00:02.000000Z"


def test_an_episode_is_started_new_events_recorded_events_completed(run) -> None:
    """A closed episode reads OrchestratorStarted, arrivals, the host's records, Completed."""
    h = OrderHistory().start()
    run(h)
    run(h.advance(seconds=2).push_succeeds())

    assert [(e["EventType"], e["EventId"]) for e in h.events] == [
        (EventType.ORCHESTRATOR_STARTED, -1), (EventType.EXECUTION_STARTED, -1),
        (EventType.TASK_SCHEDULED, 0), (EventType.ORCHESTRATOR_COMPLETED, -1),
        (EventType.ORCHESTRATOR_STARTED, -1), (EventType.TASK_COMPLETED, -1),
        (EventType.TASK_SCHEDULED, 1), (EventType.ORCHESTRATOR_COMPLETED, -1),
    ]
    assert h.events[5]["TaskScheduledId"] == 0


def test_timers_and_waits_take_ids_as_the_sdk_gives_them(run, at_approval) -> None:
    """The deadline takes the id after the third push; the wait takes none."""
    h, _ = at_approval()
    assert [t.task_id for t in h.pushes] == [0, 1, 2]
    assert h.deadline.task_id == 3
    assert h.deadline.kind is TaskKind.TIMER
    assert h.deadline.fire_at is not None
    assert h.deadline.fire_at > T0


def test_an_ended_history_takes_no_more_events(run, at_approval) -> None:
    """After ExecutionCompleted is recorded, adding an event is refused."""
    h, _ = at_approval()
    run(h.approve())
    run(h.push_succeeds())

    assert h.events[-2]["EventType"] == EventType.EXECUTION_COMPLETED
    with pytest.raises(ValueError, match="ended"):
        h.approve()


def test_completing_an_id_that_was_never_recorded_is_refused() -> None:
    """A completion for an unknown task id is a mistake in the test, not a history."""
    h = OrderHistory().start()
    with pytest.raises(ValueError, match="no activity was recorded as 7"):
        h.task_completed(7, None)
