"""What the engine needs to know about an instance's history, in one pass over it."""

from __future__ import annotations

from devhost.engine.actions import RetryPolicy
from devhost.engine.protocol import (
    RETRY_FOR,
    RETRY_OF,
    RETRY_POLICY,
    SCHEDULING_EVENTS,
    EventType,
    HistoryEvent,
)

FAILURES = frozenset({EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED})
# The scheduling event each completion answers: a completion counts only for a task of
# that kind (a TimerFired carrying an activity's id completes nothing).
COMPLETES = {
    EventType.TASK_COMPLETED: EventType.TASK_SCHEDULED,
    EventType.TASK_FAILED: EventType.TASK_SCHEDULED,
    EventType.SUB_ORCHESTRATION_COMPLETED: EventType.SUB_ORCHESTRATION_CREATED,
    EventType.SUB_ORCHESTRATION_FAILED: EventType.SUB_ORCHESTRATION_CREATED,
    EventType.TIMER_FIRED: EventType.TIMER_CREATED,
}


class HistoryView:
    """Task ids handed out, which tasks finished, and which messages were applied."""

    def __init__(self, history: list[HistoryEvent]) -> None:
        """Index ``history``; keep it current with :meth:`add` as events are recorded."""
        self.next_id = 0
        self.started = False
        self.user_scheduled: list[HistoryEvent] = []
        self.scheduled: dict[int, HistoryEvent] = {}
        self.finished: set[int] = set()
        self.message_ids: set[str] = set()
        # Events held while suspended and not delivered yet, by message id, in order.
        self.held: dict[str, HistoryEvent] = {}
        for item in history:
            self.add(item)

    def add(self, item: HistoryEvent) -> None:
        """Take one more recorded event into account."""
        message_id = item.get("MessageId")
        if item.get("Held"):
            # Recorded while suspended: applied only when delivered again on resume.
            if message_id:
                self.message_ids.add(message_id)
                self.held[message_id] = item
            return
        if message_id:
            self.held.pop(message_id, None)
        kind = item["EventType"]
        if kind in SCHEDULING_EVENTS:
            task_id = item["EventId"]
            self.scheduled[task_id] = item
            self.next_id = max(self.next_id, task_id + 1)
            if RETRY_OF not in item and RETRY_FOR not in item:
                self.user_scheduled.append(item)
        elif kind in COMPLETES:
            self.finished.add(completed_task(item))
        elif kind == EventType.EXECUTION_STARTED:
            self.started = True
        if message_id:
            self.message_ids.add(message_id)

    def is_news(self, item: HistoryEvent, message_id: str) -> bool:
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
        if kind in COMPLETES:
            task_id = completed_task(item)
            scheduled = self.scheduled.get(task_id)
            return (scheduled is not None and task_id not in self.finished
                    and scheduled["EventType"] == COMPLETES[EventType(kind)])
        return kind in (EventType.EVENT_RAISED, EventType.EXECUTION_TERMINATED,
                        EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED)

    def is_retry_step(self, item: HistoryEvent) -> bool:
        """Whether the SDK will hand out a task id when it replays this event.

        The SDK's retry wrapper takes a new id for its timer when an attempt fails, and
        another for the next attempt when that timer fires.
        """
        kind = item["EventType"]
        if kind in FAILURES:
            return self.retry_root(item["TaskScheduledId"]) is not None
        if kind == EventType.TIMER_FIRED:
            timer = self.scheduled.get(item["TimerId"])
            return timer is not None and RETRY_FOR in timer
        return False

    def retry_root(self, task_id: int) -> int | None:
        """The first attempt's task id when ``task_id`` belongs to a retried call."""
        scheduled = self.scheduled.get(task_id)
        if scheduled is None:
            return None
        if RETRY_POLICY in scheduled:
            return task_id
        root = scheduled.get(RETRY_OF)
        return int(root) if root is not None else None

    def retry_policy(self, root_id: int) -> RetryPolicy:
        """The policy recorded on a retried call's first attempt."""
        return RetryPolicy.from_fields(self.scheduled[root_id]["RetryPolicy"])


def completed_task(item: HistoryEvent) -> int:
    """The task id a completion event answers (``TimerId`` for a timer)."""
    if item["EventType"] == EventType.TIMER_FIRED:
        return item["TimerId"]
    return item["TaskScheduledId"]


def completion_key(event: HistoryEvent) -> tuple[int, int] | None:
    """What makes two completions the same: the task they answer (a timer by its id)."""
    kind = event["EventType"]
    if kind == EventType.TIMER_FIRED:
        return (kind, event["TimerId"])
    if "TaskScheduledId" in event:
        return (int(EventType.TASK_COMPLETED), event["TaskScheduledId"])
    return None
