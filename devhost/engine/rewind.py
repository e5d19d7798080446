"""Rewind: a failed instance runs again from where its tasks failed, its history kept.

As the Azure Storage provider's ``RewindHistoryAsync`` does it: in the current execution
the failed ending and every failed task become ``GenericEvent`` rows whose ``Reason``
reads "Rewound: <what they were>", which the SDK's replay skips; a failed
sub-orchestration's child is rewound in turn; the instance is Pending again, and the
deepest failed instances are revived by a GenericEvent carrying the reason.

One thing differs in form, not in outcome: the provider also blanks each failed task's
TaskScheduled row, and the replay schedules the task again under the same id; this
engine keeps the TaskScheduled row and queues the task again under that id, which is the
same work with the same id, without relying on the SDK to hand out ids in a gap. A call
made with retries runs its last attempt again (the retry bookkeeping of the attempts
before it stays, so the policy's count of attempts still holds).

A task that was still running when the instance failed (a fan-out that failed fast) had
its result dropped, as every message to an ended instance is; rewind leaves it scheduled
and waiting for that result, on Azure and here, so such an instance never completes.
The plan names those tasks (``stranded``) so the host can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from devhost.engine.history_view import HistoryView
from devhost.engine.protocol import RETRY_FOR, EventType, HistoryEvent, event
from devhost.taskhub.base import Message

__all__ = ["REWIND", "RewindPlan", "plan_rewind", "rewind_request", "rewind_requested"]

# Marks the GenericEvent message that asks a failed instance to rewind.
REWIND = "Rewind"
_REWOUND_PREFIX = "Rewound: "
_FAILED_TASKS = frozenset({EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED})


def rewind_requested(reason: str | None, at: datetime) -> HistoryEvent:
    """The message event that rewinds a failed instance (``GenericEvent(-1, reason)``)."""
    return event(EventType.GENERIC, at, Data=reason or "", **{REWIND: True})


def rewind_request(messages: list[Message], seen: set[str]) -> Message | None:
    """The first rewind message among ``messages`` whose id history has not seen."""
    return next((m for m in messages
                 if m.event["EventType"] == EventType.GENERIC and m.event.get(REWIND)
                 and m.message_id not in seen), None)


@dataclass(frozen=True)
class TaskAgain:
    """A failed activity to queue again under its own task id."""

    task_id: int
    name: str
    input: str | None


@dataclass
class RewindPlan:
    """The rewritten history, the activities to run again and the children to rewind."""

    history: list[HistoryEvent]
    activities: list[TaskAgain] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    # Tasks scheduled and never answered: their answers came after the failure and were
    # dropped, so nothing will complete them.
    stranded: list[int] = field(default_factory=list)


def plan_rewind(history: list[HistoryEvent]) -> RewindPlan:
    """Rewrite a failed execution's ``history`` for its rewind (see the module's rule)."""
    view = HistoryView(history)
    rewound: set[int] = set()  # positions in history turned into GenericEvents
    plan = RewindPlan(history=[])
    last_attempts = _last_attempts(view)
    for position, item in enumerate(history):
        kind = item["EventType"]
        if kind == EventType.EXECUTION_FAILED:
            rewound.add(position)
        elif kind in _FAILED_TASKS and item["TaskScheduledId"] in last_attempts:
            task_id = int(item["TaskScheduledId"])
            rewound.add(position)
            scheduled = view.scheduled[task_id]
            if kind == EventType.TASK_FAILED:
                plan.activities.append(TaskAgain(task_id, scheduled["Name"],
                                                 scheduled.get("Input")))
            else:
                plan.children.append(scheduled["InstanceId"])
    rewound |= _retry_timers_after(history, {a.task_id for a in plan.activities}
                                   | _child_task_ids(view, plan.children))
    plan.history = [_generic(item) if position in rewound else item
                    for position, item in enumerate(history)]
    again = {a.task_id for a in plan.activities} | _child_task_ids(view, plan.children)
    plan.stranded = sorted(task_id for task_id, scheduled in view.scheduled.items()
                           if task_id not in view.finished and task_id not in again
                           and scheduled["EventType"] != EventType.TIMER_CREATED)
    return plan


def _last_attempts(view: HistoryView) -> set[int]:
    """Task ids whose failure rewind clears: each plain task's, and each retried call's
    last attempt's (earlier attempts stay failed: the policy counts them)."""
    last: dict[int, int] = {}
    for task_id in sorted(view.scheduled):
        scheduled = view.scheduled[task_id]
        if scheduled["EventType"] == EventType.TIMER_CREATED:
            continue
        root = view.retry_root(task_id)
        key = task_id if root is None else root
        last[key] = max(last.get(key, task_id), task_id)
    return set(last.values())


def _child_task_ids(view: HistoryView, children: list[str]) -> set[int]:
    wanted = set(children)
    return {task_id for task_id, scheduled in view.scheduled.items()
            if scheduled["EventType"] == EventType.SUB_ORCHESTRATION_CREATED
            and scheduled.get("InstanceId") in wanted}


def _retry_timers_after(history: list[HistoryEvent], task_ids: set[int]) -> set[int]:
    """Positions of the retry timers set after the failures of ``task_ids``: the timer that
    hands a last failure to the orchestrator goes with the failure."""
    timers = {int(item["EventId"]) for item in history
              if item["EventType"] == EventType.TIMER_CREATED
              and item.get(RETRY_FOR) is not None and int(item[RETRY_FOR]) in task_ids}
    return {position for position, item in enumerate(history)
            if (item["EventType"] == EventType.TIMER_CREATED and item["EventId"] in timers)
            or (item["EventType"] == EventType.TIMER_FIRED and item["TimerId"] in timers)}


def _generic(item: HistoryEvent) -> HistoryEvent:
    """``item`` cleared as the provider clears a row: a GenericEvent saying what it was."""
    was = EventType(item["EventType"]).name.title().replace("_", "")
    cleared = item.copy()
    cleared["EventType"] = int(EventType.GENERIC)
    cleared["Reason"] = _REWOUND_PREFIX + _DTF_NAMES.get(was, was)
    return cleared


# Durable Task's names for the events whose rows rewind clears.
_DTF_NAMES = {
    "ExecutionFailed": "ExecutionCompleted",
    "SubOrchestrationFailed": "SubOrchestrationInstanceFailed",
}
