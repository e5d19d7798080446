"""What the engine needs to know about an instance's history, in one pass over it."""

from __future__ import annotations

from typing import Any

from devhost.engine.actions import RetryPolicy
from devhost.engine.protocol import SCHEDULING_EVENTS, EventType

# Keys the engine adds to the events it records (the SDK ignores unknown keys):
MESSAGE_ID = "MessageId"  # the message an event came from, to drop re-deliveries
RETRY_POLICY = "RetryPolicy"  # on the first attempt of a retried call
RETRY_OF = "RetryOf"  # on a later attempt: the task id of the first attempt
RETRY_FOR = "RetryFor"  # on a retry timer: the task id of the attempt that failed
ATTEMPT = "Attempt"  # which attempt an event belongs to, from 1
# On messages that answer an execution's work (timers, activity and child results): the
# execution that asked, so a later execution reusing the task id never takes the answer.
EXECUTION_ID = "ExecutionId"

COMPLETIONS = {
    EventType.TASK_COMPLETED: "TaskScheduledId",
    EventType.TASK_FAILED: "TaskScheduledId",
    EventType.SUB_ORCHESTRATION_COMPLETED: "TaskScheduledId",
    EventType.SUB_ORCHESTRATION_FAILED: "TaskScheduledId",
    EventType.TIMER_FIRED: "TimerId",
}
FAILURES = frozenset({EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED})
# Test-found fix: the scheduling event each completion must answer. Without the kind check
# a stray TimerFired (or sub-orchestration result) carrying an activity's id completed it.
COMPLETES = {
    EventType.TASK_COMPLETED: EventType.TASK_SCHEDULED,
    EventType.TASK_FAILED: EventType.TASK_SCHEDULED,
    EventType.SUB_ORCHESTRATION_COMPLETED: EventType.SUB_ORCHESTRATION_CREATED,
    EventType.SUB_ORCHESTRATION_FAILED: EventType.SUB_ORCHESTRATION_CREATED,
    EventType.TIMER_FIRED: EventType.TIMER_CREATED,
}


class HistoryView:
    """Task ids handed out, which tasks finished, and which messages were applied."""

    def __init__(self, history: list[dict[str, Any]]) -> None:
        """Index ``history``; keep it current with :meth:`add` as events are recorded."""
        self.next_id = 0
        self.started = False
        self.user_scheduled: list[dict[str, Any]] = []
        self.scheduled: dict[int, dict[str, Any]] = {}
        self.finished: set[int] = set()
        self.message_ids: set[str] = set()
        for item in history:
            self.add(item)

    def add(self, item: dict[str, Any]) -> None:
        """Take one more recorded event into account."""
        kind = item["EventType"]
        if kind in SCHEDULING_EVENTS:
            task_id = item["EventId"]
            self.scheduled[task_id] = item
            self.next_id = max(self.next_id, task_id + 1)
            if RETRY_OF not in item and RETRY_FOR not in item:
                self.user_scheduled.append(item)
        elif kind in COMPLETIONS:
            self.finished.add(item[COMPLETIONS[kind]])
        elif kind == EventType.EXECUTION_STARTED:
            self.started = True
        message_id = item.get(MESSAGE_ID)
        if message_id:
            self.message_ids.add(message_id)

    def is_news(self, item: dict[str, Any], message_id: str) -> bool:
        """Whether a message's event changes anything, or is a re-delivery or stray.

        A completion counts only for a task that was scheduled and has not finished: a
        second completion of the same task (an activity run twice after a crash) is
        dropped, as is one for a task this history never scheduled (a lost commit's).
        """
        if message_id in self.message_ids:
            return False
        kind = item["EventType"]
        if kind == EventType.EXECUTION_STARTED:
            return not self.started
        if kind in COMPLETIONS:
            task_id = item[COMPLETIONS[kind]]
            scheduled = self.scheduled.get(task_id)
            return (scheduled is not None and task_id not in self.finished
                    and scheduled["EventType"] == COMPLETES[kind])  # test-found fix
        return kind in (EventType.EVENT_RAISED, EventType.EXECUTION_TERMINATED)

    def is_retry_step(self, item: dict[str, Any]) -> bool:
        """Whether the SDK will hand out a task id when it replays this event.

        The SDK's retry wrapper takes a new id for its timer when an attempt fails, and
        another for the next attempt when that timer fires.
        """
        kind = item["EventType"]
        if kind in FAILURES:
            return self.retry_root(item["TaskScheduledId"]) is not None
        if kind == EventType.TIMER_FIRED:
            return RETRY_FOR in self.scheduled.get(item["TimerId"], {})
        return False

    def retry_root(self, task_id: int) -> int | None:
        """The first attempt's task id when ``task_id`` belongs to a retried call."""
        scheduled = self.scheduled.get(task_id, {})
        if RETRY_POLICY in scheduled:
            return task_id
        root = scheduled.get(RETRY_OF)
        return int(root) if root is not None else None

    def retry_policy(self, root_id: int) -> RetryPolicy:
        """The policy recorded on a retried call's first attempt."""
        return RetryPolicy.from_fields(self.scheduled[root_id][RETRY_POLICY])
