"""Compare what a recorded history holds with what an orchestrator's code now does, purely.

The SDK answers a replay of the whole history with every action the code yields, in the
order it numbers them. Walking the history's scheduling events in order, each one must be
the code's next action: the same kind, the same activity or sub-orchestration name (ignoring
case), the same input (as JSON), a timer for the same moment. Azure's own check
(DurableTask.Core ``TaskOrchestrationContext.HandleTaskScheduledEvent`` and its siblings)
fails an instance on a task the code no longer schedules, another kind or another name;
this comparison is stricter on purpose: an instance whose code now passes another input, or
waits for another moment, goes on with results recorded for a different call, silently.
Steps the SDK's retry wrapper takes on its own (the timer after a failed attempt, the next
attempt after it) are no action of the code; the engine marks them in its histories, and in
a history Durable Task wrote they are recognised the way the SDK takes them: a timer after a
failed attempt, then the same call again. Last, the ending must agree: completed, failed,
continued as new, or still waiting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from devhost.engine.actions import NO_CONTINUE, Schedulable, UnsupportedAction, flatten
from devhost.engine.history_view import FAILURES
from devhost.engine.protocol import (
    HELD,
    RETRY_FOR,
    RETRY_OF,
    SCHEDULING_EVENTS,
    ActionType,
    EventType,
    HistoryEvent,
    parse_iso,
)
from devhost.engine.sdk_call import OrchestratorAnswer
from devhost.history.describe import action_text, event_label, event_text

__all__ = ["Difference", "first_difference"]

# Durable Task's OrchestrationStatus.Failed on an ExecutionCompleted event (as a number
# when the SDK receives it, as text in a history table).
_FAILED_STATUSES: Final = (3, "Failed")
_ENDINGS: Final = frozenset({EventType.EXECUTION_COMPLETED, EventType.EXECUTION_FAILED,
                             EventType.EXECUTION_TERMINATED, EventType.CONTINUE_AS_NEW})


@dataclass(frozen=True)
class Difference:
    """Where the code first parts from the history: the event's index, both sides in words.

    ``at_end`` marks a difference seen only once the whole history was read (the code yields
    more, or ends otherwise): the episode where it starts may lie earlier.
    """

    index: int
    holds: str
    does: str
    at_end: bool = False


@dataclass
class _Slot:
    """A task id of the history: which call it belongs to and which attempt it is."""

    task_id: int
    root: int
    attempt: int
    action: Schedulable | None
    is_retry_timer: bool = False


class _Walk:
    """One pass over the history against the code's actions."""

    def __init__(self, schedulables: list[Schedulable]) -> None:
        self.schedulables = schedulables
        self.next_action = 0
        self.slots: dict[int, _Slot] = {}
        self.timers_due: list[_Slot] = []  # failed attempts whose retry timer comes next
        self.attempts_due: list[_Slot] = []  # retry timers fired: the next attempt comes

    def upcoming(self) -> Schedulable | None:
        if self.next_action < len(self.schedulables):
            return self.schedulables[self.next_action]
        return None

    def retry_step(self, event: HistoryEvent) -> _Slot | None:
        """The retry wrapper's step this scheduling event is, if it is one."""
        kind = event["EventType"]
        marked = event.get(RETRY_FOR) if kind == EventType.TIMER_CREATED else event.get(RETRY_OF)
        if marked is None and not self.timers_due and not self.attempts_due:
            return None  # no retry under way: every task is the code's own
        upcoming = self.upcoming()
        if marked is None and upcoming is not None and _same(event, upcoming):
            return None  # the code's own next call (it may repeat the retried one)
        if kind == EventType.TIMER_CREATED:
            for position, failed in enumerate(self.timers_due):
                if marked is None or int(marked) == failed.task_id:
                    del self.timers_due[position]
                    return _Slot(event["EventId"], failed.root, failed.attempt, failed.action,
                                 is_retry_timer=True)
            return None
        for position, timer in enumerate(self.attempts_due):
            call = timer.action
            if (call is not None and (marked is None or int(marked) == timer.root)
                    and _same_name(call.name, event.get("Name"))
                    and call.is_activity == (kind == EventType.TASK_SCHEDULED)):
                del self.attempts_due[position]
                return _Slot(event["EventId"], timer.root, timer.attempt + 1, call)
        return None

    def note(self, event: HistoryEvent) -> None:
        """Follow a completion: a failed retried attempt, or a fired retry timer."""
        kind = event["EventType"]
        if kind in FAILURES:
            slot = self.slots.get(event["TaskScheduledId"])
            if slot is not None and slot.action is not None and slot.action.retry is not None:
                self.timers_due.append(slot)
        elif kind == EventType.TIMER_FIRED:
            slot = self.slots.get(event["TimerId"])
            if slot is not None and slot.is_retry_timer and slot.action is not None:
                policy = slot.action.retry
                if policy is not None and slot.attempt < policy.max_attempts:
                    self.attempts_due.append(slot)


def first_difference(history: list[HistoryEvent],
                     answer: OrchestratorAnswer) -> Difference | None:
    """Where the code's answer to a replay of ``history`` parts from it; None if nowhere.

    Events held while the instance was suspended (not yet delivered) are skipped, as the
    SDK never saw them.
    """
    raw_actions = answer.state.get("actions") or []
    try:
        schedulables, continue_input = flatten(raw_actions)
    except UnsupportedAction as unsupported:
        return Difference(len(history) - 1, "what the history recorded", str(unsupported))
    walk = _Walk(schedulables)
    last = -1
    for index, event in enumerate(history):
        if event.get(HELD):
            continue
        last = index
        if event["EventType"] not in SCHEDULING_EVENTS:
            walk.note(event)
            continue
        step = walk.retry_step(event)
        if step is None:
            upcoming = walk.upcoming()
            if upcoming is None:
                return Difference(index, _holds(event), _ending_text(answer, continue_input,
                                                                     raw_actions))
            if not _same(event, upcoming):
                return Difference(index, _holds(event), action_text(upcoming))
            walk.next_action += 1
            step = _Slot(event["EventId"], event["EventId"], 1, upcoming)
        walk.slots[event["EventId"]] = step
    extra = walk.upcoming()
    if extra is not None:
        return Difference(last, "nothing more scheduled", action_text(extra), at_end=True)
    return _ending_difference(history, answer, continue_input, raw_actions, last)


def _holds(event: HistoryEvent) -> str:
    return f"{event_label(event)}: {event_text(event)}"


def _same(event: HistoryEvent, action: Schedulable) -> bool:
    kind = event["EventType"]
    if kind == EventType.TIMER_CREATED:
        return (action.kind == ActionType.CREATE_TIMER and action.fire_at is not None
                and "FireAt" in event and parse_iso(event["FireAt"]) == action.fire_at)
    if kind == EventType.TASK_SCHEDULED:
        wanted = action.is_activity
    else:
        wanted = action.is_sub_orchestration and (
            action.instance_id is None or action.instance_id == event.get("InstanceId"))
    return (wanted and _same_name(action.name, event.get("Name"))
            and _same_json(action.input, event.get("Input")))


def _same_name(left: str | None, right: str | None) -> bool:
    """Function names as Azure matches them (StringComparison.OrdinalIgnoreCase)."""
    return (left or "").casefold() == (right or "").casefold()


def _same_json(left: str | None, right: str | None) -> bool:
    if left is None or right is None:
        return left is right
    try:
        return bool(json.loads(left) == json.loads(right))
    except ValueError:
        return left == right


def _code_ending(answer: OrchestratorAnswer, continue_input: Any) -> str:
    if answer.error is not None:
        return "failed"
    if continue_input is not NO_CONTINUE:
        return "continued"
    return "completed" if answer.state.get("isDone") else "waiting"


def _ending_text(answer: OrchestratorAnswer, continue_input: Any,
                 raw_actions: list[Any]) -> str:
    ending = _code_ending(answer, continue_input)
    if ending == "failed":
        return f"fails: {answer.error}"
    if ending == "continued":
        return "continues as new"
    if ending == "completed":
        return "completes, scheduling nothing more"
    waits = sorted(_event_waits(raw_actions))
    waiting = f" (it waits for event {', '.join(repr(n) for n in waits)})" if waits else ""
    return "schedules nothing more" + waiting


def _event_waits(actions: list[Any]) -> set[str]:
    names: set[str] = set()
    for action in actions:
        if isinstance(action, list):
            names |= _event_waits(action)
        elif isinstance(action, Mapping):
            if action.get("actionType") == ActionType.WAIT_FOR_EXTERNAL_EVENT:
                names.add(str(action.get("externalEventName")))
            names |= _event_waits(action.get("compoundActions") or [])
    return names


def _history_ending(history: list[HistoryEvent]) -> tuple[str, int] | None:
    for index in range(len(history) - 1, -1, -1):
        event = history[index]
        kind = event["EventType"]
        if kind not in _ENDINGS:
            continue
        if kind == EventType.EXECUTION_TERMINATED:
            return "terminated", index
        if kind == EventType.CONTINUE_AS_NEW:
            return "continued", index
        failed = (kind == EventType.EXECUTION_FAILED
                  or event.get("OrchestrationStatus") in _FAILED_STATUSES)
        return ("failed" if failed else "completed"), index
    return None


_HISTORY_ENDINGS: Final = {
    "completed": "the orchestration completed",
    "failed": "the orchestration failed",
    "continued": "the orchestration continued as new",
}


def _ending_difference(history: list[HistoryEvent], answer: OrchestratorAnswer,
                       continue_input: Any, raw_actions: list[Any],
                       last: int) -> Difference | None:
    ended = _history_ending(history)
    code = _code_ending(answer, continue_input)
    if ended is not None and ended[0] == "terminated":
        return None  # an operator ended it: the code had no say
    if ended is None:
        if code == "waiting":
            return None
        return Difference(last, "the orchestration still running, waiting",
                          _ending_text(answer, continue_input, raw_actions), at_end=True)
    kind, index = ended
    if kind == code:
        return None
    return Difference(index, f"{event_label(history[index])}: {_HISTORY_ENDINGS[kind]}",
                      _ending_text(answer, continue_input, raw_actions))
