"""The messages between callers and entities, in the Durable extension's JSON shapes.

A request is an EventRaised named ``op`` whose input is a ``RequestMessage``
(``{"op", "signal"?, "input"?, "id", "parent"?, "parentExecution"?}``, Json.NET leaving out
defaults); the answer to a call is an EventRaised named after the request's id whose input
is a ``ResponseMessage`` (``{"result", "exceptionType"?}``). The calling orchestration's
history records the request as EventSent under the call's task id (the SDK maps that task
id to the request id from it). See ``EntityMessageEventNames.cs``, ``RequestMessage.cs``,
``ResponseMessage.cs`` and ``DurableOrchestrationContext.CallDurableTaskFunctionAsync``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devhost.engine.protocol import EventType, HistoryEvent, event, event_raised, iso, parse_iso
from devhost.taskhub.base import Message

__all__ = ["OPERATION_EVENT", "EntityRequest", "client_request", "event_sent",
           "orchestration_request", "request_from_event", "request_from_json",
           "response_message"]

# EntityMessageEventNames.RequestMessageEventName.
OPERATION_EVENT = "op"
# ResponseMessage.ExceptionType for an out-of-proc operation that raised
# (TaskEntityShim.ExecuteOutOfProcBatch).
OUT_OF_PROC_ERROR_TYPE = "Error"
# The keys of a request's place in its sender's sequence and of its predecessor's time.
SEQUENCE_KEY = "seq"
PREDECESSOR_KEY = "predecessorSent"
# Request and message ids are derived from this namespace, so the same call, replayed after
# a crash, carries the same ids and is recognised as a duplicate.
_IDS = uuid.UUID("6f0e1c52-9a4b-4a57-8f7e-3d2c1b0a9e8d")


@dataclass(frozen=True)
class EntityRequest:
    """One operation for an entity, as its ``RequestMessage`` carries it.

    ``input`` is the operation's input as the request holds it: JSON text of the caller's
    JSON text (the extension serializes the SDK's input string once more), or None.
    ``parent`` is the calling orchestration (None for a client's signal).
    """

    request_id: str
    operation: str
    input: str | None
    is_signal: bool
    parent: str | None = None
    parent_execution: str | None = None
    # The request's place among those its execution sent to this entity (1, 2, ...); the
    # entity applies them in that order. This host's stand-in for the ``Timestamp`` and
    # ``Predecessor`` the extension's MessageSorter sorts by.
    sequence: int | None = None
    # When the sender sent its previous request to this entity (None for the first): one
    # sent before the reorder window need not be waited for.
    predecessor_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        """The ``RequestMessage`` JSON, defaults left out as Json.NET's ``Ignore`` does."""
        body: dict[str, Any] = {"op": self.operation}
        if self.is_signal:
            body["signal"] = True
        if self.input is not None:
            body["input"] = self.input
        body["id"] = self.request_id
        if self.parent is not None:
            body["parent"] = self.parent
        if self.parent_execution is not None:
            body["parentExecution"] = self.parent_execution
        if self.sequence is not None:
            body[SEQUENCE_KEY] = self.sequence
        if self.predecessor_at is not None:
            body[PREDECESSOR_KEY] = iso(self.predecessor_at)
        return body

    def message_to(self, entity_instance: str, now: datetime) -> Message:
        """The ``op`` event that delivers this request, under an id derived from it."""
        return Message(entity_instance,
                       event_raised(OPERATION_EVENT, json.dumps(self.as_json()), now),
                       message_id=_derived(self.request_id, "request"))


def orchestration_request(instance_id: str, execution_id: str, task_id: int, operation: str,
                          input_text: str | None, is_signal: bool,
                          sequence: int | None = None,
                          predecessor_at: datetime | None = None) -> EntityRequest:
    """The request an orchestration's call or signal (task ``task_id``) sends, the
    ``sequence``-th of its execution to that entity.

    The id stays the same when the episode runs again, as the extension's ``NewGuid`` is
    replay-safe; the SDK's input text is serialized once more, as ``SetInput`` does.
    """
    request_id = str(uuid.uuid5(_IDS, f"{instance_id}\n{execution_id}\n{task_id}"))
    return EntityRequest(request_id, operation,
                         None if input_text is None else json.dumps(input_text),
                         is_signal, instance_id, execution_id, sequence, predecessor_at)


def client_request(operation: str, input_text: str | None) -> EntityRequest:
    """A client's signal: a fresh request id, no parent."""
    return EntityRequest(str(uuid.uuid4()), operation, input_text, True)


def event_sent(task_id: int, target: str, request: EntityRequest, at: datetime) -> HistoryEvent:
    """The caller's EventSent for ``request`` under its task id."""
    return event(EventType.EVENT_SENT, at, task_id, InstanceId=target, Name=OPERATION_EVENT,
                 Input=json.dumps(request.as_json()))


def request_from_event(item: HistoryEvent) -> EntityRequest | None:
    """The request an ``op`` event carries, or None for anything else (other events, a
    request without an id or operation)."""
    if item.get("EventType") != EventType.EVENT_RAISED or item.get("Name") != OPERATION_EVENT:
        return None
    try:
        body = json.loads(item.get("Input") or "")
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    return request_from_json(body)


def request_from_json(body: dict[str, Any]) -> EntityRequest | None:
    """The request a ``RequestMessage`` JSON object describes, or None without an id."""
    if not isinstance(body.get("id"), str):
        return None
    operation = body.get("op")
    input_text = body.get("input")
    sequence = body.get(SEQUENCE_KEY)
    predecessor = body.get(PREDECESSOR_KEY)
    try:
        predecessor_at = parse_iso(predecessor) if isinstance(predecessor, str) else None
    except ValueError:
        predecessor_at = None
    return EntityRequest(
        request_id=body["id"],
        operation=operation if isinstance(operation, str) else "",
        input=input_text if isinstance(input_text, str) else None,
        is_signal=bool(body.get("signal")),
        parent=body.get("parent") if isinstance(body.get("parent"), str) else None,
        parent_execution=(body.get("parentExecution")
                          if isinstance(body.get("parentExecution"), str) else None),
        sequence=sequence if isinstance(sequence, int) and sequence > 0 else None,
        predecessor_at=predecessor_at,
    )


def response_message(request: EntityRequest, result_text: str | None, is_error: bool,
                     now: datetime) -> Message:
    """The answer to a call: an EventRaised named after the request id, for the caller's
    execution only, under a message id derived from the request (a batch run again after a
    crash sends the same message, which the caller drops)."""
    assert request.parent is not None
    body: dict[str, Any] = {"result": result_text}
    if is_error:
        body["exceptionType"] = OUT_OF_PROC_ERROR_TYPE
    answer = event_raised(request.request_id, json.dumps(body), now)
    if request.parent_execution is not None:
        answer["ExecutionId"] = request.parent_execution
    return Message(request.parent, answer, message_id=_derived(request.request_id, "response"))


def _derived(request_id: str, role: str) -> str:
    """A message id fixed by the request and the message's role."""
    return uuid.uuid5(_IDS, f"{role}\n{request_id}").hex
