"""Rows of the instances table <-> records and history, with the blobs they name.

A record's text that does not fit a table property (64 KiB of UTF-16), and an episode's
events that do not fit one row, are written to a fresh blob and the row keeps its name.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from devhost.engine.protocol import HistoryEvent
from devhost.taskhub.azure.blobs import BlobStore
from devhost.taskhub.azure.common import ASCII_PIECE_CHARS, PIECES_PER_ROW, partition_key
from devhost.taskhub.base import InstanceRecord, ParentRef, RuntimeStatus
from devhost.taskhub.limits import fits_table_property

RECORD_ROW = "~"
HISTORY_PREFIX = "h-"
_ROW_CHARS = ASCII_PIECE_CHARS * PIECES_PER_ROW
# The record's texts: attribute of InstanceRecord, table property.
_TEXTS = (("input", "Input"), ("output", "Output"), ("custom_status", "CustomStatus"))


class BlobGone(Exception):
    """A row named a blob that is gone: the row changed after it was read."""


@dataclass
class StoredInstance:
    """A record as read from the table, with what a conditional write needs.

    ``blobs`` maps each record property kept in a blob to that blob's name.
    """

    record: InstanceRecord
    etag: str
    generation: int
    history_rows: int
    blobs: dict[str, str] = field(default_factory=dict)


def history_key(generation: int, seq: int) -> str:
    """The RowKey of history row ``seq`` of ``generation``."""
    return f"{HISTORY_PREFIX}{generation:08d}-{seq:08d}"


def _plain_utc(value: datetime) -> datetime:
    # The SDK hands back its own datetime subclass; callers compare with plain ones.
    return datetime(value.year, value.month, value.day, value.hour, value.minute,
                    value.second, value.microsecond, tzinfo=timezone.utc)


async def record_entity(store: BlobStore, record: InstanceRecord, generation: int,
                         history_rows: int, old: StoredInstance | None = None
                         ) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The record row, the blobs it names, and those written for it now.

    A text too big for a property that ``old`` already kept in a blob, unchanged,
    keeps that blob.
    """
    entity: dict[str, Any] = {
        "PartitionKey": partition_key(record.instance_id),
        "RowKey": RECORD_ROW,
        "InstanceId": record.instance_id,
        "Name": record.name,
        "RuntimeStatus": record.runtime_status.value,
        "CreatedAt": record.created_at,
        "UpdatedAt": record.updated_at,
        "ExecutionId": record.execution_id,
        "Version": record.version,
        "InputAsText": record.input_as_text,
        "HistoryGeneration": generation,
        "HistoryRows": history_rows,
    }
    if record.parent is not None:
        entity["ParentInstanceId"] = record.parent.instance_id
        entity["ParentTaskId"] = record.parent.task_id
        if record.parent.execution_id:
            entity["ParentExecutionId"] = record.parent.execution_id
    blobs: dict[str, str] = {}
    uploads: list[tuple[str, str]] = []
    for attribute, prop in _TEXTS:
        text = getattr(record, attribute)
        if text is None:
            continue
        if fits_table_property(text):
            entity[prop] = text
            continue
        kept = None if old is None else old.blobs.get(prop)
        if kept is None or old is None or getattr(old.record, attribute) != text:
            kept = store.new_name(record.instance_id, prop.lower())
            uploads.append((kept, text))
        entity[f"{prop}Blob"] = blobs[prop] = kept
    await asyncio.gather(*(store.put(name, text) for name, text in uploads))
    return entity, blobs, [name for name, _ in uploads]

async def stored_instance(store: BlobStore, entity: Any) -> StoredInstance:
    """Read a record row (and the blobs it names); ``_BlobGone`` if one is gone."""
    parent = None
    if entity.get("ParentInstanceId") is not None:
        parent = ParentRef(entity["ParentInstanceId"], int(entity["ParentTaskId"]),
                           entity.get("ParentExecutionId"))
    blobs = {prop: str(entity[f"{prop}Blob"]) for _, prop in _TEXTS
             if entity.get(f"{prop}Blob") is not None}
    texts: dict[str, str | None] = {prop: entity.get(prop) for _, prop in _TEXTS}
    if blobs:
        loaded = await asyncio.gather(*(store.get(name) for name in blobs.values()))
        if any(text is None for text in loaded):
            raise BlobGone(entity["InstanceId"])
        texts.update(zip(blobs, loaded, strict=True))
    record = InstanceRecord(
        instance_id=entity["InstanceId"],
        name=entity["Name"],
        runtime_status=RuntimeStatus(entity["RuntimeStatus"]),
        created_at=_plain_utc(entity["CreatedAt"]),
        updated_at=_plain_utc(entity["UpdatedAt"]),
        input=texts["Input"],
        output=texts["Output"],
        custom_status=texts["CustomStatus"],
        parent=parent,
        execution_id=entity["ExecutionId"],
        version=entity.get("Version") or "",
        input_as_text=bool(entity.get("InputAsText", True)),
    )
    return StoredInstance(record, entity.metadata["etag"],
                          int(entity["HistoryGeneration"]), int(entity["HistoryRows"]),
                          blobs)

async def history_entity(store: BlobStore, instance_id: str, key: str, generation: int, seq: int,
                          events: list[HistoryEvent]) -> tuple[dict[str, Any], str | None]:
    """The row holding one episode's new events, and the blob written for it if any."""
    # ensure_ascii keeps every character one UTF-16 code unit, so pieces can be 32 K long.
    text = json.dumps(events, separators=(",", ":"), ensure_ascii=True)
    row: dict[str, Any] = {"PartitionKey": key, "RowKey": history_key(generation, seq)}
    if len(text) > _ROW_CHARS:
        name = store.new_name(instance_id, "h")
        await store.put(name, text)
        row["Blob"] = name
        return row, name
    row.update({f"E{number}": text[start:start + ASCII_PIECE_CHARS]
                for number, start in enumerate(range(0, len(text), ASCII_PIECE_CHARS))})
    return row, None

async def history_from_rows(store: BlobStore, stored: StoredInstance, rows: list[Any]
                   ) -> list[HistoryEvent] | None:
    """The history in the record's generation, or None when rows or their blobs are
    missing (a concurrent continue-as-new deleted them between our reads)."""
    wanted = [history_key(stored.generation, seq) for seq in range(stored.history_rows)]
    by_key = {row["RowKey"]: row for row in rows}
    if any(key not in by_key for key in wanted):
        return None
    found = [by_key[key] for key in wanted]
    texts: list[str | None] = []
    for row in found:
        number, pieces = 0, []
        while (piece := row.get(f"E{number}")) is not None:
            pieces.append(piece)
            number += 1
        texts.append("".join(pieces) if row.get("Blob") is None else None)
    blob_rows = [index for index, row in enumerate(found) if row.get("Blob") is not None]
    loaded = await asyncio.gather(*(store.get(str(found[index]["Blob"]))
                                    for index in blob_rows))
    for index, text in zip(blob_rows, loaded, strict=True):
        if text is None:
            return None
        texts[index] = text
    history: list[HistoryEvent] = []
    for text in texts:
        assert text is not None
        history.extend(json.loads(text))
    return history
