"""The orchestration side of entities: what a call or signal records and sends.

The SDK answers ``call_entity`` and ``signal_entity`` with actions 7 and 9
(``{"instanceId": "@name@key", "operation", "input"}``), each under the next task id. The
Durable extension's shim refuses an entity the app does not have (``ThrowIfFunctionDoesNotExist``,
failing the orchestration outside user code), then records an EventSent under the task id
and sends the request; a call's answer comes back as an EventRaised named after the request
id (``DurableOrchestrationContext.CallDurableTaskFunctionAsync``).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from devhost.engine.actions import Schedulable
from devhost.engine.protocol import ActionType, EventType, HistoryEvent, parse_iso
from devhost.entities.ids import EntityId, InvalidEntityId, find_entity, missing_entity
from devhost.entities.messages import event_sent, orchestration_request
from devhost.taskhub.base import InstanceRecord, Message

__all__ = ["refuse_entity_action", "send_to_entity"]


def refuse_entity_action(action: Schedulable, entities: Collection[str],
                         has_orchestrators: bool = True) -> str | None:
    """Why Azure's host refuses an entity call or signal, or None (also for other actions)."""
    if not action.is_entity:
        return None
    try:
        entity = EntityId.parse(action.instance_id or "")
    except InvalidEntityId as bad:
        return str(bad)
    if find_entity(entity.name, entities) is None:
        return missing_entity(entity.name, list(entities), has_orchestrators)
    return None


def send_to_entity(record: InstanceRecord, task_id: int, action: Schedulable,
                   now: datetime, history: list[HistoryEvent]) -> tuple[HistoryEvent, Message]:
    """The EventSent to record under ``task_id`` and the request message to send.

    ``history`` is the execution's history so far: the request's sequence number counts
    the requests it sent that entity before.
    """
    target = EntityId.parse(action.instance_id or "")
    earlier = [item for item in history if item["EventType"] == EventType.EVENT_SENT
               and item.get("InstanceId") == target.instance_id]
    request = orchestration_request(
        record.instance_id, record.execution_id, task_id, action.name or "", action.input,
        is_signal=action.kind == ActionType.SIGNAL_ENTITY, sequence=len(earlier) + 1,
        predecessor_at=parse_iso(earlier[-1]["Timestamp"]) if earlier else None)
    return (event_sent(task_id, target.instance_id, request, now),
            request.message_to(target.instance_id, now))
