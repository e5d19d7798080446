"""What the management API answers with: JSON bodies, errors, status and history views.

The shapes follow the Durable extension: ``HttpRequestMessageExtensions.cs`` (errors),
``StatusResponsePayload`` (status), and the history conversion in ``DurableClient.cs``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from devhost.engine.protocol import EventType, HistoryEvent, parse_iso
from devhost.taskhub.base import InstanceRecord

__all__ = ["JSON_TYPE", "empty", "error", "history_json", "json_response", "json_value",
           "net_time", "status_json"]

JSON_TYPE = "application/json"
# Json.NET writes a DateTime's fraction to the tick (100 ns): seven digits at most.
_TICKS_PER_SECOND = 10_000_000


def json_response(status: int, body: Any,
                  headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON answer."""
    return web.Response(status=status, text=json.dumps(body), content_type=JSON_TYPE,
                        headers=headers)


def empty(status: int) -> web.Response:
    """An answer without a body, as the extension's ``CreateResponse(status)`` sends."""
    return web.Response(status=status)


def error(status: int, message: str, exception_message: str | None = None,
          exception_type: str | None = None) -> web.Response:
    """An error shaped like the extension's ``CreateErrorResponse``: ``{"Message"}`` alone,
    or, when an exception caused it, also its message and .NET type name (the SDK's
    ``start_new`` raises ``ExceptionMessage`` from a 400). No stack trace: the host's own
    would mean nothing to a caller."""
    body: dict[str, Any] = {"Message": message}
    if exception_message is not None:
        body["ExceptionMessage"] = exception_message
        body["ExceptionType"] = exception_type or "System.Exception"
    return json_response(status, body)


def json_value(text: str | None) -> Any:
    """A stored JSON text as a JSON value (text that is not JSON stays a string)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _timestamp(moment: datetime) -> str:
    """``createdTime``/``lastUpdatedTime``: to the second with ``Z`` (``ToString("s") + "Z"``)."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def net_time(moment: datetime | str) -> str:
    """A time the way Json.NET writes a UTC ``DateTime``: seconds, then the fraction to
    seven digits (ticks) with trailing zeros dropped (none for a whole second), then ``Z``."""
    if isinstance(moment, str):
        moment = parse_iso(moment)
    moment = _utc(moment)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    ticks = moment.microsecond * 10
    if ticks:
        text += "." + f"{ticks:07d}".rstrip("0")
    return text + "Z"


# Durable Task Framework event type names, by number, as the status API spells them.
_EVENT_NAMES = (
    "ExecutionStarted", "ExecutionCompleted", "ExecutionFailed", "ExecutionTerminated",
    "TaskScheduled", "TaskCompleted", "TaskFailed", "SubOrchestrationInstanceCreated",
    "SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed", "TimerCreated",
    "TimerFired", "OrchestratorStarted", "OrchestratorCompleted", "EventSent", "EventRaised",
    "ContinueAsNew", "GenericEvent", "HistoryState", "ExecutionSuspended", "ExecutionResumed",
)
# Completions and the scheduling event each one is folded with.
_SCHEDULED_BY = {
    EventType.TASK_COMPLETED: EventType.TASK_SCHEDULED,
    EventType.TASK_FAILED: EventType.TASK_SCHEDULED,
    EventType.SUB_ORCHESTRATION_COMPLETED: EventType.SUB_ORCHESTRATION_CREATED,
    EventType.SUB_ORCHESTRATION_FAILED: EventType.SUB_ORCHESTRATION_CREATED,
}
# Completions whose Result is shown only with showHistoryOutput.
_WITH_RESULT = frozenset({EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_COMPLETED,
                          EventType.EXECUTION_COMPLETED})
_EPISODE_MARKERS = frozenset({EventType.ORCHESTRATOR_STARTED,
                              EventType.ORCHESTRATOR_COMPLETED})
# Fields each kind shows, in the order Durable Task declares them (after EventType).
_FIELDS: dict[int, tuple[str, ...]] = {
    EventType.EXECUTION_STARTED: ("Input",),
    EventType.EXECUTION_TERMINATED: ("Input",),
    EventType.TASK_SCHEDULED: ("Name", "Input"),
    EventType.TASK_COMPLETED: ("Result",),
    EventType.TASK_FAILED: ("Reason", "Details"),
    EventType.SUB_ORCHESTRATION_CREATED: ("Name", "InstanceId", "Input"),
    EventType.SUB_ORCHESTRATION_COMPLETED: ("Result",),
    EventType.SUB_ORCHESTRATION_FAILED: ("Reason", "Details"),
    EventType.TIMER_CREATED: ("FireAt",),
    EventType.TIMER_FIRED: ("FireAt",),
    EventType.EVENT_SENT: ("InstanceId", "Name", "Input"),
    EventType.EVENT_RAISED: ("Name", "Input"),
    EventType.CONTINUE_AS_NEW: ("Input",),
    EventType.EXECUTION_SUSPENDED: ("Reason",),
    EventType.EXECUTION_RESUMED: ("Reason",),
}


def _name(kind: int) -> str:
    return _EVENT_NAMES[kind] if 0 <= kind < len(_EVENT_NAMES) else str(kind)


def _completed(status: str, result: Any, at: str, show_output: bool) -> dict[str, Any]:
    """The ExecutionCompleted event every ended execution's history closes with."""
    item: dict[str, Any] = {"EventType": "ExecutionCompleted", "OrchestrationStatus": status}
    if show_output:
        item["Result"] = result
    item["Timestamp"] = at
    return item


def history_json(events: list[HistoryEvent], show_output: bool,
                 show_input: bool = True) -> list[dict[str, Any]]:
    """``historyEvents`` as the extension's history conversion shows them.

    Episode markers are left out; a TaskScheduled (SubOrchestrationInstanceCreated) is
    folded into its completion, which gains ``ScheduledTime``, ``FunctionName`` and (unless
    ``show_input`` is off) ``Input``; ``EventId``, ``IsPlayed``, ``TaskScheduledId`` and
    ``TimerId`` are dropped; ExecutionStarted names the orchestrator as ``FunctionName``;
    results appear (as JSON values) only with ``show_output``. An execution that ended
    closes with ExecutionCompleted and its ``OrchestrationStatus``, as Durable Task records
    it: a failure (this host's ExecutionFailed) is ExecutionCompleted ``Failed``, and a
    termination is followed by ExecutionCompleted ``Terminated``.
    """
    shown: list[dict[str, Any] | None] = []
    scheduled: dict[tuple[int, int], tuple[int, HistoryEvent]] = {}
    for event in events:
        kind = event["EventType"]
        if kind in _EPISODE_MARKERS or event.get("Held"):
            continue  # a held event shows where it was delivered, after the resume
        at = net_time(event["Timestamp"])
        fields: Mapping[str, Any] = event
        if kind == EventType.EXECUTION_FAILED:
            shown.append(_completed("Failed", json_value(fields.get("Result")), at,
                                    show_output))
            continue
        if kind == EventType.EXECUTION_COMPLETED:
            shown.append(_completed("Completed", json_value(fields.get("Result")), at,
                                    show_output))
            continue
        item: dict[str, Any] = {"EventType": _name(kind)}
        for key in _FIELDS.get(kind, ()):
            if key not in fields:
                continue
            value = fields[key]
            if key == "Input" and not show_input:
                continue
            if key == "Result":
                if not (show_output and kind in _WITH_RESULT):
                    continue
                value = json_value(value)
            elif key == "FireAt" and value is not None:
                value = net_time(value)
            elif key == "Input" and kind == EventType.EXECUTION_TERMINATED:
                # Durable Task keeps a termination's reason as the plain text given.
                reason = json_value(value)
                value = reason if isinstance(reason, str) or reason is None else value
            item[key] = value
        item["Timestamp"] = at
        if kind == EventType.EXECUTION_STARTED:
            item["FunctionName"] = fields.get("Name")
        if kind in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED):
            scheduled[(kind, event["EventId"])] = (len(shown), event)
        origin = _SCHEDULED_BY.get(EventType(kind)) if kind in _SCHEDULED_BY else None
        if origin is not None:
            found = scheduled.pop((origin, fields.get("TaskScheduledId", -1)), None)
            if found is not None:
                index, start = found
                shown[index] = None
                item["ScheduledTime"] = net_time(start["Timestamp"])
                item["FunctionName"] = start.get("Name")
                if show_input:
                    item["Input"] = start.get("Input")
        shown.append(item)
        if kind == EventType.EXECUTION_TERMINATED:
            reason = fields.get("Input")
            shown.append(_completed("Terminated", json_value(reason), at, show_output))
    return [item for item in shown if item is not None]


def status_json(record: InstanceRecord, show_input: bool = True,
                history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The status body (``StatusResponsePayload``).

    ``input`` is the instance's input as Azure stores it for a Python app: the SDK sends its
    input as JSON text inside a JSON string, so the status shows that text, a string; an
    input posted as a plain JSON value shows as that value. The output and custom status
    are JSON values; ``historyEvents`` only when given.
    """
    shown_input = record.input if record.input_as_text else json_value(record.input)
    body: dict[str, Any] = {
        "name": record.name,
        "instanceId": record.instance_id,
        "runtimeStatus": record.runtime_status.value,
        "input": shown_input if show_input else None,
        "customStatus": json_value(record.custom_status),
        "output": json_value(record.output),
        "createdTime": _timestamp(record.created_at),
        "lastUpdatedTime": _timestamp(record.updated_at),
    }
    if history is not None:
        body["historyEvents"] = history
    return body
