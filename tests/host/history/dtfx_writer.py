"""Write a history into storage the way DurableTask.AzureStorage does, for the reader's tests.

Rows as ``AzureTableTrackingStore.UpdateStateAsync`` writes them through
``TableEntityConverter.Serialize``: PartitionKey = the escaped instance id, RowKey = the
sequence number as 16 upper-case hex digits, ``ExecutionId`` on every row, ``EventType`` by
enum name, ``Timestamp`` as ``_Timestamp``, ``DateTime`` members as dates, object members
(``OrchestrationInstance``, ``ParentInstance``, ``Tags``, ``FailureDetails``,
``ParentTraceContext``) as Newtonsoft JSON text (``"null"`` when null), the sentinel row
last; string properties over 60 KB of UTF-16 go gzip-compressed to
``{hub}-largemessages/{PartitionKey}/history-{RowKey}-{EventType}-{random}-{Property}.json.gz``
with the row holding ``""`` and ``{Property}BlobName``. The instance row goes to
``{hub}Instances``.
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import datetime, timezone
from typing import Any

from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import ContainerClient

from devhost.engine.protocol import EventType, HistoryEvent, parse_iso
from devhost.history.describe import EVENT_NAMES

MAX_PROPERTY_BYTES = 60 * 1024  # AzureTableTrackingStore.MaxTablePropertySizeInBytes
LARGE = ("Name", "Input", "Result", "Output", "Reason", "Details", "Correlation",
         "FailureDetails", "Tags")
NULL_JSON = "null"

# The [DataMember] fields of each event class beyond HistoryEvent's own, as stored.
_MEMBERS: dict[EventType, tuple[str, ...]] = {
    EventType.EXECUTION_STARTED: ("OrchestrationInstance", "ParentInstance", "Name", "Version",
                                  "Input", "Tags", "Correlation", "ParentTraceContext",
                                  "ScheduledStartTime", "Generation", "GenerateNewTrace"),
    EventType.TASK_SCHEDULED: ("Name", "Version", "Input", "ParentTraceContext", "Tags"),
    EventType.TASK_COMPLETED: ("TaskScheduledId", "Result"),
    EventType.TASK_FAILED: ("TaskScheduledId", "Reason", "Details", "FailureDetails"),
    EventType.TIMER_CREATED: ("FireAt",),
    EventType.TIMER_FIRED: ("TimerId", "FireAt"),
    EventType.EVENT_RAISED: ("Name", "Input", "ParentTraceContext"),
    EventType.EXECUTION_COMPLETED: ("OrchestrationStatus", "Result", "FailureDetails"),
}
_OBJECTS = ("OrchestrationInstance", "ParentInstance", "Tags", "FailureDetails",
            "ParentTraceContext")
_DATES = ("FireAt", "ScheduledStartTime")


def event_row(event: HistoryEvent, partition: str, sequence: int,
              execution_id: str) -> dict[str, Any]:
    """One event as its History table row (large values still inline)."""
    kind = EventType(event["EventType"])
    row: dict[str, Any] = {
        "PartitionKey": partition, "RowKey": f"{sequence:016X}", "ExecutionId": execution_id,
        "EventId": event["EventId"], "IsPlayed": event["IsPlayed"],
        "_Timestamp": parse_iso(event["Timestamp"]), "EventType": EVENT_NAMES[kind],
    }
    for member in _MEMBERS.get(kind, ()):
        value: Any = event.get(member)
        if member == "OrchestrationInstance" and value is not None:
            value = {**value, "ExecutionId": execution_id}
        if member == "OrchestrationStatus":
            value = "Completed"
        if member in _OBJECTS:
            row[member] = NULL_JSON if value is None else json.dumps(value)
        elif member in _DATES:
            if value is not None:
                row[member] = parse_iso(value)
        elif member == "GenerateNewTrace":
            row[member] = False
        elif value is not None:  # a null string or number is not stored
            row[member] = value
    return row


def write_instance(connection: str, hub: str, instance_id: str, partition: str,
                   history: list[HistoryEvent], status: str, execution_id: str,
                   stale_rows: int = 0) -> None:
    """Write ``history`` as the current execution of ``instance_id``, ``stale_rows`` rows
    of an older execution after it, the sentinel, and the instance row."""
    rows = [event_row(event, partition, n, execution_id) for n, event in enumerate(history)]
    for n in range(stale_rows):
        rows.append(event_row(history[-1], partition, len(history) + n, "an-older-execution"))
    with ContainerClient.from_connection_string(
            connection, f"{hub.lower()}-largemessages") as container:
        if not container.exists():
            container.create_container()
        for row in rows:
            _move_large_values(container, row)
    rows.append({"PartitionKey": partition, "RowKey": "sentinel", "ExecutionId": execution_id,
                 "IsCheckpointComplete": True,
                 "CheckpointCompletedTimestamp": datetime.now(timezone.utc)})
    start = history[next(n for n, e in enumerate(history)
                         if e["EventType"] == EventType.EXECUTION_STARTED)]
    instance = {"PartitionKey": partition, "RowKey": "", "Name": start["Name"],
                "Version": start.get("Version") or "", "RuntimeStatus": status,
                "CreatedTime": parse_iso(start["Timestamp"]), "ExecutionId": execution_id,
                "Input": start.get("Input"), "CustomStatus": NULL_JSON,
                "LastUpdatedTime": parse_iso(history[-1]["Timestamp"]), "TaskHubName": hub}
    for table, entities in ((f"{hub}History", rows), (f"{hub}Instances", [instance])):
        with TableClient.from_connection_string(connection, table) as client:
            if table not in [t.name for t in _tables(connection)]:
                client.create_table()
            for entity in entities:
                client.upsert_entity({k: v for k, v in entity.items() if v is not None})


def _tables(connection: str) -> list[Any]:
    with TableServiceClient.from_connection_string(connection) as service:
        return list(service.list_tables())


def _move_large_values(container: ContainerClient, row: dict[str, Any]) -> None:
    for name in LARGE:
        value = row.get(name)
        if isinstance(value, str) and len(value.encode("utf-16-le")) > MAX_PROPERTY_BYTES:
            blob = (f"{row['PartitionKey']}/history-{row['RowKey']}-{row['EventType']}-"
                    f"{random.getrandbits(32):08X}-{name}.json.gz")
            container.upload_blob(blob, gzip.compress(value.encode("utf-8")))
            row[name] = ""
            row[name + "BlobName"] = blob
