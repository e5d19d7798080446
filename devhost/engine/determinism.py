"""Non-determinism: where a replay yields something other than what history recorded.

The SDK answers every episode with all the actions the orchestrator ever yielded; the
n-th schedulable one must match the n-th task the history scheduled (an activity or a
sub-orchestration of the same name, or a timer), or the instance fails.
"""

from __future__ import annotations

from devhost.engine.actions import Schedulable
from devhost.engine.protocol import ActionType, EventType, HistoryEvent

__all__ = ["non_determinism"]


def non_determinism(recorded_tasks: list[HistoryEvent],
                schedulables: list[Schedulable]) -> str | None:
    """Say where a replay yielded something other than what history recorded."""
    for index, recorded in enumerate(recorded_tasks):
        if index >= len(schedulables):
            return None  # the orchestrator stopped earlier (it raised or returned)
        now_yields = schedulables[index]
        if not _same_action(recorded, now_yields):
            return (f"Non-deterministic workflow detected: task {recorded['EventId']} was "
                    f"{_describe_recorded(recorded)} in history, but the orchestrator now "
                    f"yields {now_yields.describe()} at that point")
    return None


def _same_action(recorded: HistoryEvent, action: Schedulable) -> bool:
    kind = recorded["EventType"]
    if kind == EventType.TIMER_CREATED:
        return action.kind == ActionType.CREATE_TIMER
    if kind == EventType.TASK_SCHEDULED:
        return action.is_activity and action.name == recorded.get("Name")
    if kind == EventType.SUB_ORCHESTRATION_CREATED:
        return action.is_sub_orchestration and action.name == recorded.get("Name")
    if kind == EventType.EVENT_SENT:
        return action.is_entity and action.instance_id == recorded.get("InstanceId")
    return False


def _describe_recorded(recorded: HistoryEvent) -> str:
    kind = recorded["EventType"]
    if kind == EventType.TIMER_CREATED:
        return "a timer"
    if kind == EventType.EVENT_SENT:
        return f"an operation on entity '{recorded.get('InstanceId')}'"
    what = "activity" if kind == EventType.TASK_SCHEDULED else "sub-orchestration"
    return f"{what} '{recorded.get('Name')}'"
