"""The export format: instance histories as JSON, shared by ``export``, ``replay`` and tests.

One instance record is ``{"instanceId", "name", "version", "runtimeStatus", "history"}``;
``history`` holds the instance's events exactly as the durable SDK receives them
(``devhost.engine.protocol.HistoryEvent``: PascalCase keys, numbered ``EventType``). A file
is ``{"format": "devhost.history/1", "instances": [record, ...]}``. Reading accepts a file
document, one record or a list of records, and refuses anything else with the place and
the reason (``HistoryFormatError``), before any of it is replayed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

from devhost.engine.protocol import EventType, HistoryEvent, parse_iso
from devhost.history.describe import EVENT_NAMES
from devhost.taskhub.base import RuntimeStatus

__all__ = ["FORMAT", "HistoryFormatError", "InstanceHistory", "document", "read_document",
           "read_file", "write_file"]

FORMAT: Final = "devhost.history/1"

# The fields the SDK reads from each kind of event, and the JSON types they may hold.
_TEXT = (str, type(None))
_REQUIRED: dict[EventType, dict[str, tuple[type, ...]]] = {
    EventType.EXECUTION_STARTED: {"Name": (str,), "Version": _TEXT, "Input": _TEXT},
    EventType.TASK_SCHEDULED: {"Name": (str,)},
    EventType.TASK_COMPLETED: {"TaskScheduledId": (int,), "Result": _TEXT},
    EventType.TASK_FAILED: {"TaskScheduledId": (int,)},
    EventType.SUB_ORCHESTRATION_CREATED: {"Name": (str,)},
    EventType.SUB_ORCHESTRATION_COMPLETED: {"TaskScheduledId": (int,), "Result": _TEXT},
    EventType.SUB_ORCHESTRATION_FAILED: {"TaskScheduledId": (int,)},
    EventType.TIMER_CREATED: {"FireAt": (str,)},
    EventType.TIMER_FIRED: {"TimerId": (int,), "FireAt": (str,)},
    EventType.EVENT_RAISED: {"Name": (str,)},
}
_BASE: dict[str, tuple[type, ...]] = {"EventId": (int,), "IsPlayed": (bool,), "Timestamp": (str,)}
_FIELDS: dict[EventType, dict[str, tuple[type, ...]]] = {
    kind: {**_BASE, **_REQUIRED.get(kind, {})} for kind in EventType}
_TIMES = ("Timestamp", "FireAt")


class HistoryFormatError(ValueError):
    """An export document, record or event the format does not allow; says where and why."""


@dataclass(frozen=True)
class InstanceHistory:
    """One instance's exported history and what its record said when it was read."""

    instance_id: str
    name: str
    version: str
    runtime_status: str
    history: list[HistoryEvent]

    def to_json(self) -> dict[str, Any]:
        """The record as the export format writes it."""
        return {"instanceId": self.instance_id, "name": self.name, "version": self.version,
                "runtimeStatus": self.runtime_status, "history": self.history}


def document(instances: list[InstanceHistory]) -> dict[str, Any]:
    """A whole export file's JSON value."""
    return {"format": FORMAT, "instances": [item.to_json() for item in instances]}


def write_file(path: Path, instances: list[InstanceHistory]) -> None:
    """Write ``instances`` to ``path`` as one export file."""
    path.write_text(json.dumps(document(instances), indent=1) + "\n", encoding="utf-8")


def read_file(path: Path) -> list[InstanceHistory]:
    """The records of an export file; ``HistoryFormatError`` if it is not one."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise HistoryFormatError(f"{path}: cannot read it: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise HistoryFormatError(f"{path}: not UTF-8 text") from err
    except ValueError as err:
        raise HistoryFormatError(f"{path}: not JSON: {err}") from err
    try:
        return read_document(value)
    except HistoryFormatError as err:
        raise HistoryFormatError(f"{path}: {err}") from None


def read_document(value: Any) -> list[InstanceHistory]:
    """The records of a file document, of one record, or of a list of records."""
    if isinstance(value, Mapping) and "format" in value:
        if value["format"] != FORMAT:
            raise HistoryFormatError(f"format is {value['format']!r}, expected {FORMAT!r}")
        extra = set(value) - {"format", "instances"}
        if extra:
            raise HistoryFormatError(f"unknown keys {sorted(extra)}")
        items = value.get("instances")
        if not isinstance(items, list):
            raise HistoryFormatError("'instances' must be a list of instance records")
        return [_record(item, f"instances[{n}]") for n, item in enumerate(items)]
    if isinstance(value, Mapping):
        return [_record(value, "record")]
    if isinstance(value, list):
        return [_record(item, f"[{n}]") for n, item in enumerate(value)]
    raise HistoryFormatError(
        f"expected an export document, an instance record or a list of them, "
        f"not {type(value).__name__}")


def _record(value: Any, where: str) -> InstanceHistory:
    if not isinstance(value, Mapping):
        raise HistoryFormatError(f"{where}: an instance record must be an object")
    keys = {"instanceId", "name", "version", "runtimeStatus", "history"}
    missing, extra = keys - set(value), set(value) - keys
    if missing:
        raise HistoryFormatError(f"{where}: missing {sorted(missing)}")
    if extra:
        raise HistoryFormatError(f"{where}: unknown keys {sorted(extra)}")
    for key in ("instanceId", "name", "version", "runtimeStatus"):
        if not isinstance(value[key], str):
            raise HistoryFormatError(f"{where}.{key}: must be a string")
    if not value["instanceId"] or not value["name"]:
        raise HistoryFormatError(f"{where}: instanceId and name must not be empty")
    statuses = [status.value for status in RuntimeStatus]
    if value["runtimeStatus"] not in statuses:
        raise HistoryFormatError(f"{where}.runtimeStatus: {value['runtimeStatus']!r} is not "
                                 f"one of {statuses}")
    history = value["history"]
    if not isinstance(history, list):
        raise HistoryFormatError(f"{where}.history: must be a list of history events")
    events = [_event(item, f"{where}.history[{n}]") for n, item in enumerate(history)]
    if not events or events[0]["EventType"] != EventType.ORCHESTRATOR_STARTED:
        raise HistoryFormatError(f"{where}.history: must open with an OrchestratorStarted "
                                 "event, as every episode does")
    starts = [e for e in events if e["EventType"] == EventType.EXECUTION_STARTED]
    if len(starts) != 1:
        raise HistoryFormatError(f"{where}.history: must hold exactly one ExecutionStarted "
                                 f"event, holds {len(starts)}")
    if starts[0]["Name"] != value["name"]:
        raise HistoryFormatError(f"{where}: name {value['name']!r} differs from the "
                                 f"history's orchestrator {starts[0]['Name']!r}")
    return InstanceHistory(value["instanceId"], value["name"], value["version"],
                           value["runtimeStatus"], events)


def _event(value: Any, where: str) -> HistoryEvent:
    if not isinstance(value, Mapping):
        raise HistoryFormatError(f"{where}: a history event must be an object")
    kind = value.get("EventType")
    if type(kind) is not int or kind not in EventType._value2member_map_:
        raise HistoryFormatError(f"{where}: EventType {kind!r} is not a Durable Task event "
                                 f"type number (0-{max(EventType)})")
    name = EVENT_NAMES[kind]
    for field, types in _FIELDS[EventType(kind)].items():
        if field not in value:
            raise HistoryFormatError(f"{where}: {name} has no {field!r}")
        # bool is an int to Python; a number field must not be true/false.
        if not isinstance(value[field], types) or (
                bool not in types and isinstance(value[field], bool)):
            raise HistoryFormatError(f"{where}: {name}.{field} has the wrong type "
                                     f"({type(value[field]).__name__})")
    for field in _TIMES:
        if isinstance(value.get(field), str):
            try:
                parse_iso(value[field])
            except ValueError:
                raise HistoryFormatError(f"{where}: {name}.{field} {value[field]!r} is not "
                                         "an ISO-8601 time") from None
    return cast(HistoryEvent, dict(value))
