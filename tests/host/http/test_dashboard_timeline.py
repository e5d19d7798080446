"""The dashboard's reading of a history: what ran, what waited, and for how long."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from devhost.dashboard.instance_page import render_instance
from devhost.dashboard.timeline import Lane, build_timeline, event_label, event_summary
from devhost.dashboard.timeline_view import render_timeline
from devhost.engine.protocol import (
    RETRY_FOR,
    HistoryEvent,
    event_raised,
    execution_completed,
    execution_started,
    orchestrator_completed,
    orchestrator_started,
    sub_orchestration_created,
    sub_orchestration_failed,
    task_completed,
    task_scheduled,
    timer_created,
    timer_fired,
)
from devhost.taskhub.base import InstanceRecord, RuntimeStatus

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    """``seconds`` after T0."""
    return T0 + timedelta(seconds=seconds)


def test_activities_and_children_ran_timers_and_events_waited() -> None:
    """An activity runs from its scheduling to its result, a child from its creation to
    its failure; a timer waits from its creation to its firing; an event waits from the end
    of the episode before it to its arrival."""
    history = [
        orchestrator_started(at(0)), execution_started("Flow", "i", None, at(0)),
        task_scheduled(0, "Cook", None, at(0)), orchestrator_completed(at(0.1)),
        orchestrator_started(at(2)), task_completed(0, '"done"', at(2)),
        sub_orchestration_created(1, "Child", "i:1", None, at(2)),
        orchestrator_completed(at(2.1)),
        orchestrator_started(at(5)), sub_orchestration_failed(1, "boom", None, at(5)),
        timer_created(2, at(65), at(5)), orchestrator_completed(at(5.2)),
        orchestrator_started(at(65)), timer_fired(2, at(65), at(65)),
        orchestrator_completed(at(65.1)),
        orchestrator_started(at(90)), event_raised("Approval", "{}", at(90)),
        orchestrator_completed(at(90.1)),
    ]
    timeline = build_timeline(history)
    spans = {(span.lane, span.kind, span.label): span for span in timeline.spans
             if span.lane != Lane.EPISODE}
    cook = spans[(Lane.RAN, "activity", "Cook")]
    assert (cook.start, cook.end, cook.outcome) == (at(0), at(2), "completed")
    child = spans[(Lane.RAN, "sub-orchestration", "Child")]
    assert (child.start, child.end, child.outcome, child.child_id) == (at(2), at(5), "failed",
                                                                       "i:1")
    timer = next(s for key, s in spans.items() if key[1] == "timer")
    assert (timer.lane, timer.start, timer.end, timer.outcome) == (Lane.WAITED, at(5), at(65),
                                                                   "fired")
    event = spans[(Lane.WAITED, "event", "Approval")]
    assert (event.start, event.end) == (at(65.1), at(90))
    episodes = [span for span in timeline.spans if span.lane == Lane.EPISODE]
    assert len(episodes) == 5 and episodes[0].end == at(0.1)
    assert timeline.seconds == 90.1


def test_what_has_not_finished_is_open_until_the_last_event() -> None:
    """A scheduled activity without a result and a retry timer not yet fired are open,
    drawn up to the last event."""
    history = [
        orchestrator_started(at(0)), execution_started("Flow", "i", None, at(0)),
        task_scheduled(0, "Push", None, at(0)),
        timer_created(1, at(30), at(1), **{RETRY_FOR: 0}),
        orchestrator_completed(at(3)),
    ]
    spans = build_timeline(history).spans
    push = next(span for span in spans if span.kind == "activity")
    retry = next(span for span in spans if span.kind == "retry timer")
    assert push.is_open and push.end == at(3)
    assert retry.is_open and retry.lane == Lane.WAITED


def test_what_an_ended_execution_left_behind_is_unfinished() -> None:
    """A timer the orchestrator cancelled (it never fired) ends with the execution and is
    marked unfinished, not open."""
    history = [
        orchestrator_started(at(0)), execution_started("Flow", "i", None, at(0)),
        timer_created(0, at(3600), at(0)), orchestrator_completed(at(0)),
        orchestrator_started(at(5)), event_raised("Go", "1", at(5)),
        execution_completed("1", False, at(5)), orchestrator_completed(at(5)),
    ]
    timer = next(span for span in build_timeline(history).spans if span.kind == "timer")
    assert (timer.outcome, timer.end, timer.is_open) == ("unfinished", at(5), False)


def test_rows_name_the_event_and_cut_long_values() -> None:
    """A table row names the event as Durable Task does and cuts long values to a line."""
    scheduled = task_scheduled(4, "Cook", '"' + "x" * 500 + '"', at(0))
    assert event_label(scheduled) == "TaskScheduled"
    summary = event_summary(scheduled)
    assert summary.startswith("Name=Cook  Input=")
    assert len(summary) < 200 and summary.endswith("…")


def test_a_crowded_lane_merges_touching_spans_and_counts_them() -> None:
    """Up to a few hundred spans a lane draws each one; beyond that, touching spans of one
    kind are drawn as one that says how many it holds, and none is lost."""
    def chain(steps: int) -> list[HistoryEvent]:
        history = [orchestrator_started(at(0)), execution_started("Flow", "i", None, at(0))]
        for step in range(steps):
            history += [task_scheduled(step, "Step", None, at(step)),
                        orchestrator_completed(at(step)), orchestrator_started(at(step + 1)),
                        task_completed(step, None, at(step + 1))]
        return history

    few = render_timeline(build_timeline(chain(3)))
    assert few.count('data-kind="activity"') == 3
    many = render_timeline(build_timeline(chain(400)))
    counts = [int(n) for n in re.findall(r'data-kind="activity" data-label="Step" '
                                         r'data-count="(\d+)"', many)]
    assert len(counts) < 50 and sum(counts) == 400


def test_the_history_links_the_sub_orchestrations_it_started() -> None:
    """A SubOrchestrationInstanceCreated row links to the child's own page."""
    record = InstanceRecord("parent", "Flow", RuntimeStatus.RUNNING, T0, T0)
    history = [orchestrator_started(at(0)), execution_started("Flow", "parent", None, at(0)),
               sub_orchestration_created(0, "Child", "parent:0/1", None, at(0)),
               orchestrator_completed(at(0))]
    html = render_instance("Hub", record, history, "token")
    assert '<a class="child" href="/_devhost/instances/parent%3A0%2F1">' in html
    assert html.count('class="child"') == 1
