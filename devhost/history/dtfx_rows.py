"""Rows of a Durable Task Azure Storage task hub, read as the SDK's history events.

DurableTask.AzureStorage (``AzureTableTrackingStore``, ``TableEntityConverter``) keeps an
instance's history in table ``{hub}History``: PartitionKey = the instance id escaped by
``KeySanitation``, RowKey = the event's sequence number as 16 hex digits, plus one row
``sentinel`` (the current ``ExecutionId`` and the checkpoint state). Each event row holds
the event's ``[DataMember]`` fields: ``EventType`` by name, ``Timestamp`` renamed
``_Timestamp``, times as dates, strings and numbers as themselves, other objects
(``OrchestrationInstance``, ``ParentInstance``, ``Tags``, ``FailureDetails``) as JSON text,
and the ``ExecutionId`` of the execution that wrote it. A string property over 60 KB was
moved to a gzip blob in ``{hub}-largemessages``: the row keeps an empty value and the
blob's name in ``{Property}BlobName``. Rows of an older execution that a continue-as-new
did not overwrite follow the current execution's and are not part of its history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, cast

from devhost.engine.protocol import EventType, HistoryEvent, iso
from devhost.history.describe import EVENT_NAMES

__all__ = ["BLOB_SUFFIX", "LARGE_PROPERTIES", "SENTINEL_ROW", "UnreadableRow",
           "blob_references", "current_execution", "escape_key", "event_from_row",
           "unescape_key"]

SENTINEL_ROW: Final = "sentinel"
BLOB_SUFFIX: Final = "BlobName"
# AzureTableTrackingStore.VariableSizeEntityProperties: the ones that may live in a blob.
LARGE_PROPERTIES: Final = ("Name", "Input", "Result", "Output", "Reason", "Details",
                           "Correlation", "FailureDetails", "Tags")
# Columns that are the table's or the tracking store's, not the event's.
_STORAGE_COLUMNS: Final = frozenset({"PartitionKey", "RowKey", "Timestamp", "ExecutionId",
                                     "odata.etag", "etag"})
_JSON_COLUMNS: Final = frozenset({"OrchestrationInstance", "ParentInstance", "Tags",
                                  "FailureDetails", "ParentTraceContext"})
# DurableTask.Core's OrchestrationStatus, numbered as the SDK would receive it.
_ORCHESTRATION_STATUS: Final = ("Running", "Completed", "ContinuedAsNew", "Failed", "Canceled",
                                "Terminated", "Pending", "Suspended")
# Text fields the SDK reads that a table leaves out when they were null.
_NULLABLE: Final = {
    EventType.EXECUTION_STARTED: ("Version", "Input"),
    EventType.TASK_SCHEDULED: ("Input",),
    EventType.TASK_COMPLETED: ("Result",),
    EventType.TASK_FAILED: ("Reason", "Details"),
    EventType.SUB_ORCHESTRATION_CREATED: ("Input", "InstanceId"),
    EventType.SUB_ORCHESTRATION_COMPLETED: ("Result",),
    EventType.SUB_ORCHESTRATION_FAILED: ("Reason", "Details"),
    EventType.EVENT_RAISED: ("Input",),
}
_ESCAPE: Final = "^"
_ESCAPED: Final = {"/": "0", "\\": "1", "#": "2", "?": "3"}
_CONTROL_OFFSET: Final = 0xC0  # KeySanitation shifts control characters by 'À'


class UnreadableRow(ValueError):
    """A history row Durable Task would not have written (or this reader cannot map)."""


def escape_key(instance_id: str) -> str:
    """``instance_id`` as KeySanitation.EscapePartitionKey writes it."""
    out = []
    for char in instance_id:
        code = ord(char)
        if char == _ESCAPE:
            out.append(_ESCAPE * 2)
        elif char in _ESCAPED:
            out.append(_ESCAPE + _ESCAPED[char])
        elif code <= 0x1F or 0x7F <= code <= 0x9F:
            out.append(_ESCAPE + chr(_CONTROL_OFFSET + code))
        else:
            out.append(char)
    return "".join(out)


def unescape_key(key: str) -> str:
    """A PartitionKey back to the instance id (KeySanitation.UnescapePartitionKey)."""
    plain = {code: char for char, code in _ESCAPED.items()}
    out = []
    chars = iter(key)
    for char in chars:
        if char != _ESCAPE:
            out.append(char)
            continue
        following = next(chars, "")
        if following == _ESCAPE:
            out.append(_ESCAPE)
        elif following in plain:
            out.append(plain[following])
        elif following:
            code = ord(following)
            out.append(chr(code - _CONTROL_OFFSET) if code >= _CONTROL_OFFSET else following)
    return "".join(out)


def current_execution(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The event rows of the instance's current execution, in sequence order.

    As GetHistoryEventsAsync reads them: the sentinel names the execution (else the first
    row does); rows are taken in RowKey order up to the first of another execution.
    """
    ordered = sorted(rows, key=lambda row: str(row["RowKey"]))
    sentinel = next((row for row in ordered if row["RowKey"] == SENTINEL_ROW), None)
    events = [row for row in ordered if row["RowKey"] != SENTINEL_ROW]
    if not events:
        return []
    execution = (sentinel or events[0]).get("ExecutionId")
    taken = []
    for row in events:
        if row.get("ExecutionId") != execution:
            break
        taken.append(row)
    return taken


def blob_references(row: Mapping[str, Any]) -> dict[str, str]:
    """The row's properties kept in blobs: property name -> blob name."""
    return {name: str(row[name + BLOB_SUFFIX]) for name in LARGE_PROPERTIES
            if isinstance(row.get(name + BLOB_SUFFIX), str) and row[name + BLOB_SUFFIX]}


def event_from_row(row: Mapping[str, Any], large: Mapping[str, str]) -> HistoryEvent:
    """One history row as the SDK receives the event; ``large`` holds the texts of the
    properties the row keeps in blobs."""
    name = row.get("EventType")
    if name not in EVENT_NAMES:
        raise UnreadableRow(f"row {row.get('RowKey')!r}: EventType {name!r} is not one this "
                            f"host knows")
    kind = EventType(EVENT_NAMES.index(str(name)))
    moment = row.get("_Timestamp")
    if not isinstance(moment, datetime):
        raise UnreadableRow(f"row {row.get('RowKey')!r}: no _Timestamp date")
    event: dict[str, Any] = {"EventType": int(kind), "EventId": int(row.get("EventId", -1)),
                             "IsPlayed": bool(row.get("IsPlayed", False)),
                             "Timestamp": iso(moment)}
    for column, value in row.items():
        if column in _STORAGE_COLUMNS or column in event or column == "_Timestamp" or (
                column.endswith(BLOB_SUFFIX) and column[:-len(BLOB_SUFFIX)] in large):
            continue
        event[column] = _value(column, value, kind)
    for column, text in large.items():
        event[column] = _value(column, text, kind)
    for column in _NULLABLE.get(kind, ()):
        event.setdefault(column, None)
    if kind == EventType.EXECUTION_STARTED:
        event["ParentInstance"] = _parent(event.get("ParentInstance"))
    return cast(HistoryEvent, event)


def _value(column: str, value: Any, kind: EventType) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if column in _JSON_COLUMNS and isinstance(value, str):
        try:
            return json.loads(value) if value else None
        except ValueError as err:
            raise UnreadableRow(f"{EVENT_NAMES[kind]}.{column} is not JSON: {err}") from err
    if column == "OrchestrationStatus" and value in _ORCHESTRATION_STATUS:
        return _ORCHESTRATION_STATUS.index(value)
    return value


def _parent(value: Any) -> dict[str, Any] | None:
    """DurableTask.Core's ParentInstance in the engine's shape (where to report back)."""
    if not isinstance(value, Mapping):
        return None
    instance = value.get("OrchestrationInstance") or {}
    return {"InstanceId": instance.get("InstanceId"),
            "TaskScheduledId": value.get("TaskScheduleId"),
            "ExecutionId": instance.get("ExecutionId")}
