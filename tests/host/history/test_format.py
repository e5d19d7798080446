"""The export format: what it accepts, and the clear refusal of everything else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devhost.history import (
    FORMAT,
    HistoryFormatError,
    InstanceHistory,
    document,
    read_document,
    read_file,
    write_file,
)

AT = "2024-01-01T00:00:00.000000Z"


def event(kind: int, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    """A history event with the four fields every event carries."""
    return {"EventType": kind, "EventId": event_id, "IsPlayed": False, "Timestamp": AT, **fields}


def record(**changes: Any) -> dict[str, Any]:
    """A valid record of an instance that called one activity and is waiting for it."""
    value = {
        "instanceId": "one", "name": "Flow", "version": "", "runtimeStatus": "Running",
        "history": [event(12),
                    event(0, Name="Flow", Version="", Input=None,
                          OrchestrationInstance={"InstanceId": "one", "ExecutionId": "e"}),
                    event(4, 0, Name="Step", Input='"a"'), event(13)],
    }
    value.update(changes)
    return value


def with_event(index: int, **fields: Any) -> dict[str, Any]:
    """The valid record with one event's fields changed (None removes a field)."""
    history = [dict(item) for item in record()["history"]]
    for key, value in fields.items():
        if value is None:
            history[index].pop(key, None)
        else:
            history[index][key] = value
    return record(history=history)


def test_a_document_a_record_and_a_list_read_alike() -> None:
    """The three shapes give the same instance records."""
    one = record()
    for value in ({"format": FORMAT, "instances": [one]}, one, [one]):
        (item,) = read_document(value)
        assert (item.instance_id, item.name, item.runtime_status) == ("one", "Flow", "Running")
        assert item.history == one["history"]


def test_a_written_file_reads_back(tmp_path: Path) -> None:
    """write_file and read_file agree; the file is the format's document."""
    (item,) = read_document(record())
    path = tmp_path / "export.json"
    write_file(path, [item, item])
    assert read_file(path) == [item, item]
    assert json.loads(path.read_text()) == document([item, item])


@pytest.mark.parametrize(("value", "message"), [
    ({"format": "devhost.history/2", "instances": []}, "format is 'devhost.history/2'"),
    ({"format": FORMAT, "instances": {}}, "'instances' must be a list"),
    ({"format": FORMAT, "instances": [], "extra": 1}, "unknown keys \\['extra'\\]"),
    ("text", "not str"),
    ([record(), 3], "\\[1\\]: an instance record must be an object"),
    (record(runtimeStatus="Sleeping"), "runtimeStatus: 'Sleeping' is not one of"),
    (record(instanceId=""), "must not be empty"),
    (record(version=None), "record.version: must be a string"),
    ({k: v for k, v in record().items() if k != "history"}, "missing \\['history'\\]"),
    (record(color="red"), "unknown keys \\['color'\\]"),
    (record(history={}), "history: must be a list"),
    (record(name="Other"), "name 'Other' differs from the history's orchestrator 'Flow'"),
    (record(history=[event(12), event(13)]), "exactly one ExecutionStarted event, holds 0"),
    (record(history=record()["history"][1:]), "must open with an OrchestratorStarted event"),
    (with_event(2, EventType=99), "EventType 99 is not a Durable Task event type"),
    (with_event(2, EventType=True), "EventType True is not"),
    (with_event(2, Name=None), "history\\[2\\]: TaskScheduled has no 'Name'"),
    (with_event(2, EventId="0"), "TaskScheduled.EventId has the wrong type \\(str\\)"),
    (with_event(2, EventId=False), "EventId has the wrong type \\(bool\\)"),
    (with_event(3, IsPlayed="yes"), "IsPlayed has the wrong type"),
    (with_event(3, Timestamp="yesterday"), "Timestamp 'yesterday' is not an ISO-8601 time"),
    (with_event(1, Version=None), "ExecutionStarted has no 'Version'"),
    (record(history=[*record()["history"], "event"]), "history\\[4\\]: a history event must be"),
])
def test_bad_input_is_refused_with_where_and_why(value: Any, message: str) -> None:
    """Each refusal names the place and the reason."""
    with pytest.raises(HistoryFormatError, match=message):
        read_document(value)


def test_unreadable_files_are_refused_with_their_name(tmp_path: Path) -> None:
    """A missing file, one that is not JSON, not UTF-8, or not the format: each said so."""
    cases = {"missing.json": None, "text.json": b"{not json", "latin.json": b"\xff\xfe{",
             "wrong.json": json.dumps({"format": "other"}).encode()}
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(HistoryFormatError, match=name):
            read_file(path)


def test_records_keep_the_events_as_given() -> None:
    """The engine's own keys (message ids, retry marks) pass through untouched."""
    marked = with_event(2, MessageId="m-1", RetryPolicy={"firstRetryIntervalInMilliseconds": 1,
                                                          "maxNumberOfAttempts": 2})
    (item,) = read_document(marked)
    assert item.history[2]["MessageId"] == "m-1"
    assert InstanceHistory(**{  # the dataclass and its JSON agree
        "instance_id": "one", "name": "Flow", "version": "", "runtime_status": "Running",
        "history": item.history}).to_json() == marked
