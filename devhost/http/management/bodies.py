"""What the management API answers with: JSON bodies, errors, status and history views."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from devhost.engine.protocol import HistoryEvent
from devhost.taskhub.base import InstanceRecord

__all__ = ["JSON_TYPE", "error", "history_json", "json_response", "json_value", "status_json"]

JSON_TYPE = "application/json"

# Durable Task Framework event type names, as the status API spells them.
_EVENT_NAMES = (
    "ExecutionStarted", "ExecutionCompleted", "ExecutionFailed", "ExecutionTerminated",
    "TaskScheduled", "TaskCompleted", "TaskFailed", "SubOrchestrationInstanceCreated",
    "SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed", "TimerCreated",
    "TimerFired", "OrchestratorStarted", "OrchestratorCompleted", "EventSent", "EventRaised",
    "ContinueAsNew", "GenericEvent", "HistoryState", "ExecutionSuspended", "ExecutionResumed",
)
# Episode markers: bookkeeping the Functions host leaves out of historyEvents.
_HIDDEN_EVENTS = frozenset({"OrchestratorStarted", "OrchestratorCompleted"})
_OUTPUT_FIELDS = ("Input", "Result")
_SHOWN_FIELDS = ("Timestamp", "FireAt", "TimerId", "TaskScheduledId", "Reason", "Details",
                 "InstanceId")


def json_response(status: int, body: Any,
                  headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON answer."""
    return web.Response(status=status, text=json.dumps(body), content_type=JSON_TYPE,
                        headers=headers)


def error(status: int, message: str) -> web.Response:
    """An error the way ASP.NET's ``CreateErrorResponse`` shapes it (the SDK reads
    ``ExceptionMessage`` from a failed start)."""
    return json_response(status, {"Message": message, "ExceptionMessage": message})


def json_value(text: str | None) -> Any:
    """A stored JSON text as a JSON value (text that is not JSON stays a string)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _timestamp(moment: datetime) -> str:
    """ISO-8601 UTC to the second with ``Z``, as the status API writes times."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def history_json(events: list[HistoryEvent], show_output: bool) -> list[dict[str, Any]]:
    """``historyEvents`` as the status API shows them: named event types, episode markers
    left out, inputs and results only with ``showHistoryOutput``."""
    shown = []
    for event in events:
        kind = event["EventType"]
        name = _EVENT_NAMES[kind] if 0 <= kind < len(_EVENT_NAMES) else str(kind)
        if name in _HIDDEN_EVENTS:
            continue
        item: dict[str, Any] = {"EventType": name}
        if "Name" in event:
            item["Name" if name == "EventRaised" else "FunctionName"] = event["Name"]
        fields: Mapping[str, Any] = event
        for key in _SHOWN_FIELDS:
            if key in fields:
                item[key] = fields[key]
        if show_output:
            for key in _OUTPUT_FIELDS:
                if key in fields:
                    item[key] = json_value(fields[key])
        shown.append(item)
    return shown


def status_json(record: InstanceRecord, show_input: bool = True,
                history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The status body: JSON values (not text) for input, output and custom status."""
    body: dict[str, Any] = {
        "name": record.name,
        "instanceId": record.instance_id,
        "runtimeStatus": record.runtime_status.value,
        "input": json_value(record.input) if show_input else None,
        "customStatus": json_value(record.custom_status),
        "output": json_value(record.output),
        "createdTime": _timestamp(record.created_at),
        "lastUpdatedTime": _timestamp(record.updated_at),
    }
    if history is not None:
        body["historyEvents"] = history
    return body
