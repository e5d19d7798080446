"""Suspend and resume: a suspended instance runs no episode; what arrives meanwhile waits.

Events that reach a suspended instance are recorded at once, marked ``Held``, and kept out
of what the SDK replays; on resume they are recorded again, unmarked, in the order they
arrived, and the orchestrator meets them then (DurableTask.Core holds them the same way:
``TaskOrchestrationExecutor`` buffers events while ``IsSuspended``). The SDK ignores the
ExecutionSuspended and ExecutionResumed events themselves.
"""

from __future__ import annotations

from devhost.engine.protocol import HELD, EventType, HistoryEvent

__all__ = ["CONTROL_EVENTS", "delivered_copy", "held_copy", "segments", "visible_to_sdk"]

CONTROL_EVENTS = frozenset({EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED})


def segments(events: list[HistoryEvent]) -> list[list[HistoryEvent]]:
    """``events`` in order, as runs of ordinary events and single suspend/resume events."""
    found: list[list[HistoryEvent]] = []
    for event in events:
        if event["EventType"] in CONTROL_EVENTS or not found or (
                found[-1][0]["EventType"] in CONTROL_EVENTS):
            found.append([event])
        else:
            found[-1].append(event)
    return found


def held_copy(event: HistoryEvent) -> HistoryEvent:
    """``event`` as recorded while its instance is suspended."""
    return {**event, HELD: True}


def delivered_copy(event: HistoryEvent) -> HistoryEvent:
    """A held ``event`` as recorded again when its instance resumes."""
    delivered = event.copy()
    delivered.pop(HELD, None)
    return delivered


def visible_to_sdk(history: list[HistoryEvent]) -> list[HistoryEvent]:
    """The history the SDK replays: held events left out until they are delivered."""
    return [event for event in history if not event.get(HELD)]
