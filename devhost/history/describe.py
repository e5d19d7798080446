"""Short human text for what a history holds and what an orchestrator's code does now."""

from __future__ import annotations

from typing import Final

from devhost.engine.actions import Schedulable
from devhost.engine.protocol import ActionType, EventType, HistoryEvent, iso

__all__ = ["action_text", "event_label", "event_text"]

# How much of an input the report quotes.
MAX_QUOTED: Final = 200

# Durable Task's own names for the event types, as its history tables spell them.
EVENT_NAMES: Final = (
    "ExecutionStarted", "ExecutionCompleted", "ExecutionFailed", "ExecutionTerminated",
    "TaskScheduled", "TaskCompleted", "TaskFailed", "SubOrchestrationInstanceCreated",
    "SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed", "TimerCreated",
    "TimerFired", "OrchestratorStarted", "OrchestratorCompleted", "EventSent", "EventRaised",
    "ContinueAsNew", "GenericEvent", "HistoryState", "ExecutionSuspended", "ExecutionResumed",
)


def quoted(text: str | None) -> str:
    """An input as the report shows it: its JSON text, cut at ``MAX_QUOTED`` characters."""
    if text is None:
        return "no input"
    shown = text if len(text) <= MAX_QUOTED else text[:MAX_QUOTED] + "..."
    return f"input {shown}"


def event_label(event: HistoryEvent) -> str:
    """``TaskScheduled #3``: the event's type name, with its task id when it takes one."""
    name = EVENT_NAMES[event["EventType"]]
    kind = event["EventType"]
    if kind in (EventType.TASK_SCHEDULED, EventType.TIMER_CREATED,
                EventType.SUB_ORCHESTRATION_CREATED):
        return f"{name} #{event['EventId']}"
    return name


def event_text(event: HistoryEvent) -> str:
    """What one scheduling event of the history recorded."""
    kind = event["EventType"]
    if kind == EventType.TIMER_CREATED:
        return f"a timer firing at {event.get('FireAt')}"
    if kind == EventType.TASK_SCHEDULED:
        return f"activity '{event.get('Name')}' called with {quoted(event.get('Input'))}"
    if kind == EventType.SUB_ORCHESTRATION_CREATED:
        return (f"sub-orchestration '{event.get('Name')}' started as "
                f"'{event.get('InstanceId')}' with {quoted(event.get('Input'))}")
    return event_label(event)


def action_text(action: Schedulable) -> str:
    """What the code now does at that point."""
    if action.kind == ActionType.CREATE_TIMER:
        fire_at = iso(action.fire_at) if action.fire_at else "?"
        return f"creates a timer firing at {fire_at}"
    if action.is_activity:
        return f"calls activity '{action.name}' with {quoted(action.input)}"
    return f"starts sub-orchestration '{action.name}' with {quoted(action.input)}"
