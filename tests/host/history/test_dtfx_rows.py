"""Durable Task's history rows to the SDK's events, row by row (no storage needed).

The rows are shaped as ``TableEntityConverter.Serialize`` makes them: enums by name
(``ToString("G")``), ``Timestamp`` stored as ``_Timestamp``, object members as Newtonsoft JSON
text, and ``AzureTableTrackingStore`` adds ``ExecutionId`` and the sentinel row.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from devhost.engine.protocol import EventType
from devhost.history.dtfx_rows import (
    UnreadableRow,
    blob_references,
    current_execution,
    event_from_row,
)

AT = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)


def row(sequence: int, kind: str, execution: str = "exec-2", **columns: Any) -> dict[str, Any]:
    """One history row as the tracking store writes it."""
    return {"PartitionKey": "id", "RowKey": f"{sequence:016X}", "ExecutionId": execution,
            "EventType": kind, "EventId": -1, "IsPlayed": False, "_Timestamp": AT, **columns}


def test_the_current_execution_is_the_sentinels_in_sequence_order() -> None:
    """Rows sort by RowKey (hex, so 0x10 after 0x0F); the sentinel is left out; rows of an
    older execution after the current ones end the history (GetHistoryEventsAsync)."""
    rows = [row(16, "TaskCompleted"), row(2, "TaskScheduled"), row(0, "OrchestratorStarted"),
            {"PartitionKey": "id", "RowKey": "sentinel", "ExecutionId": "exec-2"},
            row(17, "TaskScheduled", "exec-1"), row(1, "ExecutionStarted"),
            row(18, "TaskCompleted", "exec-2")]
    taken = current_execution(rows)
    assert [r["RowKey"] for r in taken] == [f"{n:016X}" for n in (0, 1, 2, 16)]
    without_sentinel = [r for r in rows if r["RowKey"] != "sentinel"]
    assert len(current_execution(without_sentinel)) == 4  # the first row names it then
    assert current_execution([rows[3]]) == []


def test_an_execution_started_row_reads_as_the_sdk_receives_it() -> None:
    """Name and version as text, OrchestrationInstance from JSON, a null ParentInstance and
    tags as None, the timestamp in ISO form; table and store columns left out."""
    event = event_from_row(row(
        1, "ExecutionStarted", EventId=-1, Name="Flow", Version="1.0", Input='{"a": 1}',
        OrchestrationInstance='{"InstanceId":"id","ExecutionId":"exec-2"}',
        ParentInstance="null", Tags="null", Correlation=None, Generation=0,
        GenerateNewTrace=False), {})
    assert event["EventType"] == EventType.EXECUTION_STARTED
    assert event["Timestamp"] == "2024-05-06T07:08:09.123456Z"
    assert event["OrchestrationInstance"] == {"InstanceId": "id", "ExecutionId": "exec-2"}
    assert event["ParentInstance"] is None
    assert event.get("Tags") is None
    assert (event["Name"], event["Version"], event["Input"]) == ("Flow", "1.0", '{"a": 1}')
    assert not {"PartitionKey", "RowKey", "ExecutionId", "_Timestamp"} & set(event)


def test_nulls_a_table_drops_come_back_as_the_sdk_expects() -> None:
    """A TaskCompleted without a Result column (a null result) has ``Result: None``; an
    ExecutionStarted without a Version has ``Version: None``."""
    completed = event_from_row(row(3, "TaskCompleted", TaskScheduledId=2), {})
    assert completed["Result"] is None and completed["TaskScheduledId"] == 2
    started = event_from_row(row(1, "ExecutionStarted", Name="Flow"), {})
    assert "Version" in started and started["Version"] is None


def test_a_sub_orchestrations_parent_is_in_the_engines_shape() -> None:
    """ParentInstance's OrchestrationInstance and TaskScheduleId become the engine's
    InstanceId, TaskScheduledId and ExecutionId."""
    parent = ('{"Name":"Parent","Version":"","TaskScheduleId":4,'
              '"OrchestrationInstance":{"InstanceId":"p","ExecutionId":"pe"}}')
    event = event_from_row(row(1, "ExecutionStarted", Name="Child", ParentInstance=parent), {})
    assert event["ParentInstance"] == {"InstanceId": "p", "TaskScheduledId": 4,
                                       "ExecutionId": "pe"}


def test_dates_statuses_and_large_values() -> None:
    """FireAt as ISO text, OrchestrationStatus by its number, and a value kept in a blob
    replaces its empty column and its ``BlobName`` column."""
    timer = event_from_row(row(5, "TimerFired", TimerId=3, FireAt=AT), {})
    assert timer["FireAt"] == "2024-05-06T07:08:09.123456Z" and timer["TimerId"] == 3
    ended = event_from_row(row(9, "ExecutionCompleted", OrchestrationStatus="Failed",
                               FailureDetails='{"ErrorType":"ValueError"}'), {})
    assert ended["OrchestrationStatus"] == 3
    assert ended["FailureDetails"] == {"ErrorType": "ValueError"}
    large = row(4, "TaskCompleted", TaskScheduledId=0, Result="",
                ResultBlobName="id/history-0000000000000004-TaskCompleted-0A0B0C0D-Result.json.gz")
    assert blob_references(large) == {"Result": large["ResultBlobName"]}
    event = event_from_row(large, {"Result": '"big"'})
    assert event["Result"] == '"big"' and "ResultBlobName" not in event
    assert blob_references(row(4, "TaskCompleted", ResultBlobName="")) == {}


@pytest.mark.parametrize(("bad", "message"), [
    (row(1, "ExecutionRewound"), "EventType 'ExecutionRewound' is not one this host knows"),
    (row(1, "Nonsense"), "'Nonsense'"),
    ({**row(1, "TaskScheduled"), "_Timestamp": "today"}, "no _Timestamp date"),
    (row(1, "ExecutionStarted", OrchestrationInstance="{oops"),
     "ExecutionStarted.OrchestrationInstance is not JSON"),
])
def test_rows_durable_task_would_not_write_are_refused(bad: dict[str, Any],
                                                       message: str) -> None:
    """A row this reader cannot map is an error naming the row and the reason."""
    with pytest.raises(UnreadableRow, match=message):
        event_from_row(bad, {})
