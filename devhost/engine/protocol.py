"""Durable Task protocol objects: history events, action types, the orchestration context.

The one place that knows the wire shapes the durable SDK reads (PascalCase history events,
numbered event and action types). The engine records history with it, and the replay tests
build their histories with it, so both speak exactly the same dialect.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any, Final, TypedDict, cast


class EventType(IntEnum):
    """Durable Task Framework history event types, numbered as the SDK expects."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_CREATED = 7
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


class ActionType(IntEnum):
    """Action types in the SDK's answer (``actionType``)."""

    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    WHEN_ANY = 11
    WHEN_ALL = 12


class OrchestrationInstanceRef(TypedDict):
    """``OrchestrationInstance`` of an ExecutionStarted event."""

    InstanceId: str
    ExecutionId: str


class ParentInstanceRef(TypedDict, total=False):
    """``ParentInstance`` of a sub-orchestration's ExecutionStarted: where to report back."""

    InstanceId: str
    TaskScheduledId: int
    ExecutionId: str | None


class RetryFields(TypedDict):
    """The SDK's ``RetryOptions`` as the engine records them on a first attempt."""

    firstRetryIntervalInMilliseconds: int
    maxNumberOfAttempts: int


class _EventBase(TypedDict):
    """The four fields every history event carries."""

    EventType: int
    EventId: int
    IsPlayed: bool
    Timestamp: str


class HistoryEvent(_EventBase, total=False):
    """One history event as the SDK reads it; which optional fields appear depends on
    ``EventType``. The last six keys are the engine's own bookkeeping (the SDK ignores
    unknown keys)."""

    Name: str
    Version: str
    Input: str | None
    Result: str | None
    Reason: str | None
    Details: str | None
    TaskScheduledId: int
    TimerId: int
    FireAt: str
    InstanceId: str
    OrchestrationInstance: OrchestrationInstanceRef
    ParentInstance: ParentInstanceRef | None
    MessageId: str
    RetryPolicy: RetryFields
    RetryOf: int
    RetryFor: int
    Attempt: int
    ExecutionId: str | None
    Held: bool


# The engine's keys on the events it records:
MESSAGE_ID: Final = "MessageId"  # the message an event came from, to drop re-deliveries
RETRY_POLICY: Final = "RetryPolicy"  # on the first attempt of a retried call
RETRY_OF: Final = "RetryOf"  # on a later attempt: the task id of the first attempt
RETRY_FOR: Final = "RetryFor"  # on a retry timer: the task id of the attempt that failed
ATTEMPT: Final = "Attempt"  # which attempt an event belongs to, from 1
HELD: Final = "Held"  # recorded while the instance was suspended; delivered on resume
# On messages that answer an execution's work (timers, activity and child results): the
# execution that asked, so a later execution reusing the task id never takes the answer.
EXECUTION_ID: Final = "ExecutionId"


# Events that take a task id (EventId) from the orchestration's sequence (EventSent: an
# entity call or signal).
SCHEDULING_EVENTS = frozenset({
    EventType.TASK_SCHEDULED, EventType.TIMER_CREATED, EventType.SUB_ORCHESTRATION_CREATED,
    EventType.EVENT_SENT,
})

# The schema numbers today's Functions host sends; the SDK then answers in replay schema V3.
UPPER_SCHEMA_VERSION = 1
UPPER_SCHEMA_VERSION_NEW = 2
# The Azure Storage provider's timer limits, as .NET TimeSpan text: a timer longer than the
# first is split by the SDK into chained timers of the second (AzureStorageDurabilityProvider
# MaximumDelayTime and LongRunningTimerIntervalLength; sent by the extension's
# OrchestrationTriggerAttributeBindingProvider.OrchestrationContextToString).
MAXIMUM_SHORT_TIMER_DURATION = "6.00:00:00"
LONG_RUNNING_TIMER_INTERVAL = "3.00:00:00"
# HttpOptions.DefaultAsyncRequestSleepTimeMilliseconds (the key's spelling is Azure's).
DEFAULT_HTTP_ASYNC_SLEEP_MS = 30000


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with a ``Z``, the way the host writes timestamps."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    """Read a timestamp written by :func:`iso` (or any ISO-8601 form with an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def to_json_text(value: Any) -> str | None:
    """A value as the JSON text history fields hold; None stays None."""
    return None if value is None else json.dumps(value)


def event(kind: EventType, at: datetime, event_id: int = -1, **fields: Any) -> HistoryEvent:
    """A history event with the four fields every event carries and ``fields``."""
    return cast(HistoryEvent, {"EventType": int(kind), "EventId": event_id, "IsPlayed": False,
                               "Timestamp": iso(at), **fields})


def orchestrator_started(at: datetime) -> HistoryEvent:
    """Opens an episode; its timestamp is the orchestration's clock for that episode."""
    return event(EventType.ORCHESTRATOR_STARTED, at)


def orchestrator_completed(at: datetime) -> HistoryEvent:
    """Closes an episode."""
    return event(EventType.ORCHESTRATOR_COMPLETED, at)


def execution_started(name: str, instance_id: str, input_text: str | None, at: datetime,
                      parent: ParentInstanceRef | None = None,
                      version: str = "") -> HistoryEvent:
    """The first event of an execution; ``Version`` must be present for the SDK, which
    reads ``context.version`` from it."""
    return event(EventType.EXECUTION_STARTED, at, Name=name, Version=version, Input=input_text,
                 OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": ""},
                 ParentInstance=parent)


def execution_suspended(reason: str | None, at: datetime) -> HistoryEvent:
    """An operator suspended the instance."""
    return event(EventType.EXECUTION_SUSPENDED, at, Reason=reason)


def execution_resumed(reason: str | None, at: datetime) -> HistoryEvent:
    """An operator resumed the suspended instance."""
    return event(EventType.EXECUTION_RESUMED, at, Reason=reason)


def execution_terminated(reason: str | None, at: datetime) -> HistoryEvent:
    """The instance was terminated by an operator."""
    return event(EventType.EXECUTION_TERMINATED, at, Input=to_json_text(reason))


def task_scheduled(task_id: int, name: str, input_text: str | None, at: datetime,
                   **extra: Any) -> HistoryEvent:
    """An activity was scheduled under ``task_id``."""
    return event(EventType.TASK_SCHEDULED, at, task_id, Name=name, Input=input_text, **extra)


def task_completed(task_id: int, result_text: str | None, at: datetime) -> HistoryEvent:
    """The activity scheduled as ``task_id`` returned ``result_text`` (JSON text)."""
    return event(EventType.TASK_COMPLETED, at, TaskScheduledId=task_id, Result=result_text)


def task_failed(task_id: int, reason: str, details: str | None, at: datetime) -> HistoryEvent:
    """The activity scheduled as ``task_id`` raised."""
    return event(EventType.TASK_FAILED, at, TaskScheduledId=task_id, Reason=reason,
                 Details=details)


def timer_created(timer_id: int, fire_at: datetime, at: datetime, **extra: Any) -> HistoryEvent:
    """A durable timer was created under ``timer_id``."""
    return event(EventType.TIMER_CREATED, at, timer_id, FireAt=iso(fire_at), **extra)


def timer_fired(timer_id: int, fire_at: datetime, at: datetime) -> HistoryEvent:
    """The timer ``timer_id`` fired."""
    return event(EventType.TIMER_FIRED, at, TimerId=timer_id, FireAt=iso(fire_at))


def event_raised(name: str, input_text: str | None, at: datetime) -> HistoryEvent:
    """An external event arrived."""
    return event(EventType.EVENT_RAISED, at, Name=name, Input=input_text)


def sub_orchestration_created(task_id: int, name: str, instance_id: str,
                              input_text: str | None, at: datetime, **extra: Any) -> HistoryEvent:
    """A sub-orchestration was started under ``task_id``."""
    return event(EventType.SUB_ORCHESTRATION_CREATED, at, task_id, Name=name,
                 InstanceId=instance_id, Input=input_text, **extra)


def sub_orchestration_completed(task_id: int, result_text: str | None,
                                at: datetime) -> HistoryEvent:
    """The sub-orchestration started as ``task_id`` completed."""
    return event(EventType.SUB_ORCHESTRATION_COMPLETED, at, TaskScheduledId=task_id,
                 Result=result_text)


def sub_orchestration_failed(task_id: int, reason: str, details: str | None,
                             at: datetime) -> HistoryEvent:
    """The sub-orchestration started as ``task_id`` failed."""
    return event(EventType.SUB_ORCHESTRATION_FAILED, at, TaskScheduledId=task_id,
                 Reason=reason, Details=details)


def continue_as_new(input_text: str | None, at: datetime) -> HistoryEvent:
    """The execution ended by continuing as new with ``input_text``."""
    return event(EventType.CONTINUE_AS_NEW, at, Input=input_text)


def execution_completed(result_text: str | None, failed: bool, at: datetime) -> HistoryEvent:
    """The execution ended, successfully or not."""
    kind = EventType.EXECUTION_FAILED if failed else EventType.EXECUTION_COMPLETED
    return event(kind, at, Result=result_text)


def as_played(events: list[HistoryEvent]) -> list[HistoryEvent]:
    """Copies of ``events`` marked as replayed (older episodes)."""
    return [{**item, "IsPlayed": True} for item in events]


def orchestration_context(instance_id: str, history: list[HistoryEvent], input_text: str | None,
                          parent_instance_id: str | None = None) -> str:
    """The JSON text an orchestrator's ``handle`` receives for one episode.

    ``history`` holds the older events (already played) and the current episode, which
    starts at its last OrchestratorStarted event.
    """
    return json.dumps({
        "history": history,
        "input": input_text,
        "instanceId": instance_id,
        "isReplaying": any(item["IsPlayed"] for item in history),
        "parentInstanceId": parent_instance_id,
        "upperSchemaVersion": UPPER_SCHEMA_VERSION,
        "upperSchemaVersionNew": UPPER_SCHEMA_VERSION_NEW,
        "longRunningTimerIntervalDuration": LONG_RUNNING_TIMER_INTERVAL,
        "maximumShortTimerDuration": MAXIMUM_SHORT_TIMER_DURATION,
        "defaultHttpAsyncRequestSleepTimeMillseconds": DEFAULT_HTTP_ASYNC_SLEEP_MS,
    })
