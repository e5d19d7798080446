"""The task hub's table: instance records with their history; big texts in blobs.

``{hub}Devhost`` has one partition per instance (PartitionKey = the escaped instance id):

* RowKey ``~``: the record (what the status API reports) plus two bookkeeping numbers,
  ``HistoryGeneration`` and ``HistoryRows``.
* RowKey ``h-{generation:08d}-{seq:08d}``: one row per committed episode, holding its new
  events as JSON text cut into properties ``E0``, ``E1``, ... under the 64 KiB limit.

A text that does not fit a table property (an input, output or custom status over 64 KiB
of UTF-16, an episode's events over one row) is kept in the hub's blob container instead,
and the row holds the blob's name (``InputBlob``, ``OutputBlob``, ``CustomStatusBlob``,
``Blob``), as Durable Task's Azure Storage provider does. Every blob gets a fresh name, so
a writer that loses the ETag race never overwrites a blob a committed row names; blobs a
commit no longer needs are deleted after it (and a purge deletes every blob of the
instance). A reader that finds a named blob gone read a row that changed meanwhile, and
reads again.

Only rows of the record's generation with ``seq < HistoryRows`` are history. A commit
writes its row and the record in one transaction, so a reader (or a losing writer) never
sees half an episode; a row left past ``HistoryRows`` by a failed attempt is overwritten by
the next commit. Replacing the history (continue-as-new, or re-creating an ended instance)
starts a new generation in that same transaction, so the old rows are invisible at once and
are deleted afterwards at leisure: no limit on how many there are.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from devhost.engine.protocol import HistoryEvent
from devhost.errors import LockLost, StorageUnavailable
from devhost.taskhub.azure.blobs import BlobStore
from devhost.taskhub.azure.common import (
    ASCII_PIECE_CHARS,
    MAX_TRANSACTION_OPS,
    PIECES_PER_ROW,
    StorageTable,
    partition_key,
    storage_errors,
)
from devhost.taskhub.base import InstanceQuery, InstanceRecord, ParentRef, RuntimeStatus
from devhost.taskhub.limits import fits_table_property

RECORD_ROW = "~"
_HISTORY = "h-"
_REPLACE = {"mode": UpdateMode.REPLACE}
_CONFLICTS = (404, 409, 412)  # record gone, already created, changed since read
_ROW_CHARS = ASCII_PIECE_CHARS * PIECES_PER_ROW
_READ_ATTEMPTS = 3
# The record's texts: attribute of InstanceRecord, table property.
_TEXTS = (("input", "Input"), ("output", "Output"), ("custom_status", "CustomStatus"))


class _BlobGone(Exception):
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


@dataclass
class CommitPlan:
    """One episode's table transaction, its blobs written, ready to submit."""

    instance_id: str
    operations: list[tuple[Any, ...]]
    record: InstanceRecord
    generation: int
    history_rows: int
    blobs: dict[str, str]
    # Blobs written for this commit, and blobs of the old record it no longer names.
    written: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)


def _history_key(generation: int, seq: int) -> str:
    return f"{_HISTORY}{generation:08d}-{seq:08d}"


def _plain_utc(value: datetime) -> datetime:
    # The SDK hands back its own datetime subclass; callers compare with plain ones.
    return datetime(value.year, value.month, value.day, value.hour, value.minute,
                    value.second, value.microsecond, tzinfo=timezone.utc)


def _readable_key(instance_id: str) -> str | None:
    """The table key to look ``instance_id`` up by, or None when it cannot be a key.

    An id too long (or empty) for a table key names no instance, so reads answer "not
    found"; writes refuse such ids with ValueError.
    """
    try:
        return partition_key(instance_id)
    except ValueError:
        return None


async def _nothing() -> None:
    return None


class InstanceTable(StorageTable):
    """Records and history of every instance of one hub, with their blobs."""

    label = "instances table"

    def __init__(self, client: TableClient, blobs: BlobStore) -> None:
        super().__init__(client)
        self.blobs = blobs

    # Rows <-> records and history --------------------------------------------------------

    async def _record_entity(self, record: InstanceRecord, generation: int,
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
                kept = self.blobs.new_name(record.instance_id, prop.lower())
                uploads.append((kept, text))
            entity[f"{prop}Blob"] = blobs[prop] = kept
        await asyncio.gather(*(self.blobs.put(name, text) for name, text in uploads))
        return entity, blobs, [name for name, _ in uploads]

    async def _stored_instance(self, entity: Any) -> StoredInstance:
        """Read a record row (and the blobs it names); ``_BlobGone`` if one is gone."""
        parent = None
        if entity.get("ParentInstanceId") is not None:
            parent = ParentRef(entity["ParentInstanceId"], int(entity["ParentTaskId"]),
                               entity.get("ParentExecutionId"))
        blobs = {prop: str(entity[f"{prop}Blob"]) for _, prop in _TEXTS
                 if entity.get(f"{prop}Blob") is not None}
        texts: dict[str, str | None] = {prop: entity.get(prop) for _, prop in _TEXTS}
        if blobs:
            loaded = await asyncio.gather(*(self.blobs.get(name) for name in blobs.values()))
            if any(text is None for text in loaded):
                raise _BlobGone(entity["InstanceId"])
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
        )
        return StoredInstance(record, entity.metadata["etag"],
                              int(entity["HistoryGeneration"]), int(entity["HistoryRows"]),
                              blobs)

    async def _history_entity(self, instance_id: str, key: str, generation: int, seq: int,
                              events: list[HistoryEvent]) -> tuple[dict[str, Any], str | None]:
        """The row holding one episode's new events, and the blob written for it if any."""
        # ensure_ascii keeps every character one UTF-16 code unit, so pieces can be 32 K long.
        text = json.dumps(events, separators=(",", ":"), ensure_ascii=True)
        row: dict[str, Any] = {"PartitionKey": key, "RowKey": _history_key(generation, seq)}
        if len(text) > _ROW_CHARS:
            name = self.blobs.new_name(instance_id, "h")
            await self.blobs.put(name, text)
            row["Blob"] = name
            return row, name
        row.update({f"E{number}": text[start:start + ASCII_PIECE_CHARS]
                    for number, start in enumerate(range(0, len(text), ASCII_PIECE_CHARS))})
        return row, None

    async def _history(self, stored: StoredInstance, rows: list[Any]
                       ) -> list[HistoryEvent] | None:
        """The history in the record's generation, or None when rows or their blobs are
        missing (a concurrent continue-as-new deleted them between our reads)."""
        wanted = [_history_key(stored.generation, seq) for seq in range(stored.history_rows)]
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
        loaded = await asyncio.gather(*(self.blobs.get(str(found[index]["Blob"]))
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

    # Reads ---------------------------------------------------------------------------------

    async def read_record(self, instance_id: str) -> StoredInstance | None:
        """The instance's record row, or None."""
        key = _readable_key(instance_id)
        if key is None:
            return None
        for _attempt in range(_READ_ATTEMPTS):
            with storage_errors("read instance"):
                try:
                    entity = await self._client.get_entity(key, RECORD_ROW)
                except ResourceNotFoundError:
                    return None
            try:
                return await self._stored_instance(entity)
            except _BlobGone:
                continue
        raise StorageUnavailable(f"record of {instance_id!r} kept changing while read")

    async def read(self, instance_id: str
                   ) -> tuple[StoredInstance | None, list[HistoryEvent]]:
        """The record and its history, read in one partition query."""
        key = _readable_key(instance_id)
        if key is None:
            return None, []
        for _attempt in range(_READ_ATTEMPTS):
            with storage_errors("read instance history"):
                rows = [row async for row in self._client.query_entities(
                    "PartitionKey eq @key", parameters={"key": key})]
            record_rows = [row for row in rows if row["RowKey"] == RECORD_ROW]
            if not record_rows:
                return None, []
            try:
                stored = await self._stored_instance(record_rows[0])
            except _BlobGone:
                continue
            history = await self._history(stored, rows)
            if history is not None:
                return stored, history
        # Continue-as-new kept deleting rows under us: let the caller retry later.
        raise StorageUnavailable(f"history of {instance_id!r} kept changing while read")

    # Writes --------------------------------------------------------------------------------

    async def _forget_blobs(self, names: list[str]) -> None:
        """Delete blobs nothing names any more (best effort: left over, they only take space)."""
        if names:
            with contextlib.suppress(StorageUnavailable, HttpResponseError):
                await self.blobs.delete(names)

    async def insert_record(self, record: InstanceRecord) -> StoredInstance | None:
        """Write a new record (no history yet); None when one exists already."""
        entity, blobs, written = await self._record_entity(record, 0, 0)
        with storage_errors("create instance"):
            try:
                answer = await self._client.create_entity(entity, retry_total=0)
            except ResourceExistsError:
                await self._forget_blobs(written)
                return None
        return StoredInstance(record, str(answer["etag"]), 0, 0, blobs)

    async def replace_record(self, old: StoredInstance, record: InstanceRecord
                             ) -> StoredInstance | None:
        """Replace ``old`` (if unchanged since read) with ``record`` and an empty history
        in a new generation; None when ``old`` changed meanwhile."""
        generation = old.generation + 1
        entity, blobs, written = await self._record_entity(record, generation, 0)
        with storage_errors("replace instance"):
            try:
                answer = await self._client.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=old.etag,
                    match_condition=MatchConditions.IfNotModified, retry_total=0)
            except HttpResponseError as err:
                if err.status_code in _CONFLICTS:
                    await self._forget_blobs(written)
                    return None
                raise
        await self._forget_blobs(list(old.blobs.values()))
        return StoredInstance(record, str(answer["etag"]), generation, 0, blobs)

    async def delete_record(self, stored: StoredInstance) -> None:
        """Delete the record if it is still ``stored`` (undoing a create that failed later)."""
        with storage_errors("undo create"):
            try:
                await self._client.delete_entity(
                    partition_key(stored.record.instance_id), RECORD_ROW, etag=stored.etag,
                    match_condition=MatchConditions.IfNotModified)
            except HttpResponseError as err:
                if err.status_code not in _CONFLICTS:
                    raise
                return
        await self._forget_blobs(list(stored.blobs.values()))

    async def prepare_commit(self, old: StoredInstance | None, record: InstanceRecord,
                             new_history: list[HistoryEvent], replace_history: bool
                             ) -> CommitPlan:
        """The transaction that appends (or replaces) history and saves ``record``, with
        the blobs it names already written. It always fits one transaction: one history
        row (under 1 MiB) and the record, whose big texts are in blobs."""
        key = partition_key(record.instance_id)
        generation = old.generation if old is not None else 0
        seq = old.history_rows if old is not None else 0
        if replace_history and old is not None:
            generation, seq = generation + 1, 0
        (entity, blobs, written), history_row = await asyncio.gather(
            self._record_entity(record, generation, seq + bool(new_history),
                                None if replace_history else old),
            self._history_entity(record.instance_id, key, generation, seq, new_history)
            if new_history else _nothing())
        operations: list[tuple[Any, ...]] = []
        if history_row is not None:
            row, blob = history_row
            operations.append(("upsert", row, _REPLACE))
            if blob is not None:
                written.append(blob)
        if old is None:
            operations.append(("create", entity))
        else:
            operations.append(("update", entity, {
                **_REPLACE, "etag": old.etag, "match_condition": MatchConditions.IfNotModified}))
        kept = set(blobs.values())
        replaced = [] if old is None else [n for n in old.blobs.values() if n not in kept]
        return CommitPlan(record.instance_id, operations, record, generation,
                          seq + bool(new_history), blobs, written, replaced)

    async def submit(self, plan: CommitPlan) -> StoredInstance:
        """Run a planned commit and return the record as now stored (with its new ETag).

        Raises ``LockLost`` when the record changed (or appeared, or went) since it was read.
        """
        with storage_errors("commit episode"):
            try:
                # No automatic retry: a retry after a lost response would fail its own
                # ETag check and look like a lost lock.
                results = await self._client.submit_transaction(plan.operations, retry_total=0)
            except HttpResponseError as err:
                if err.status_code in _CONFLICTS:
                    await self._forget_blobs(plan.written)
                    raise LockLost(plan.instance_id) from err
                raise
        await self._forget_blobs(plan.replaced)
        # The record is the transaction's last operation.
        return StoredInstance(plan.record, str(results[-1]["etag"]), plan.generation,
                              plan.history_rows, plan.blobs)

    async def delete_old_generations(self, instance_id: str, generation: int) -> None:
        """Delete history rows (and their blobs) of generations before ``generation``
        (best effort)."""
        key = partition_key(instance_id)
        with storage_errors("delete old history"):
            rows = [row async for row in self._client.query_entities(
                "PartitionKey eq @key and RowKey ge @low and RowKey lt @high",
                parameters={"key": key, "low": _HISTORY, "high": _history_key(generation, 0)},
                select=["PartitionKey", "RowKey", "Blob"])]
        await self._delete_rows(rows)
        await self._forget_blobs([str(row["Blob"]) for row in rows if row.get("Blob")])

    async def _delete_rows(self, rows: list[Any]) -> None:
        for start in range(0, len(rows), MAX_TRANSACTION_OPS):
            batch = [("delete", {"PartitionKey": r["PartitionKey"], "RowKey": r["RowKey"]})
                     for r in rows[start:start + MAX_TRANSACTION_OPS]]
            with storage_errors("delete rows"):
                try:
                    await self._client.submit_transaction(batch)
                except HttpResponseError as err:
                    if err.status_code != 404:
                        raise
                    # Someone deleted one of them first, which fails the whole transaction:
                    # delete the rest one by one (delete_entity takes 404 as done).
                    for _op, row in batch:
                        await self._client.delete_entity(row["PartitionKey"], row["RowKey"])

    async def purge(self, instance_id: str) -> bool:
        """Delete the record, then every other row of the partition; False if no record."""
        key = _readable_key(instance_id)
        if key is None:
            return False
        with storage_errors("purge instance"):
            try:
                await self._client.get_entity(key, RECORD_ROW, select=["RowKey"])
                existed = True
            except ResourceNotFoundError:
                existed = False
            # The record goes first: without it the remaining rows are invisible, so a purge
            # interrupted half-way never shows a truncated history.
            await self._client.delete_entity(key, RECORD_ROW)
            rows = [row async for row in self._client.query_entities(
                "PartitionKey eq @key", parameters={"key": key},
                select=["PartitionKey", "RowKey"])]
        await self._delete_rows(rows)
        await self.blobs.delete_instance(instance_id)
        return existed

    async def _query_row(self, row: Any) -> InstanceRecord | None:
        try:
            return (await self._stored_instance(row)).record
        except _BlobGone:  # changed since the query read it: read it again
            stored = await self.read_record(row["InstanceId"])
            return None if stored is None else stored.record

    async def query(self, query: InstanceQuery) -> list[InstanceRecord]:
        """Records matching ``query``, oldest first."""
        statuses, created_from, created_to = query.statuses, query.created_from, query.created_to
        # The filter text is built only from fixed fragments and parameter names; every
        # value travels as a parameter, which the SDK quotes and escapes.
        clauses = ["RowKey eq @row"]
        parameters: dict[str, Any] = {"row": RECORD_ROW}
        if statuses is not None:
            if not statuses:
                return []
            names = []
            for index, status in enumerate(sorted(statuses, key=lambda s: s.value)):
                parameters[f"s{index}"] = status.value
                names.append(f"RuntimeStatus eq @s{index}")
            # Spaces around the parentheses: the SDK finds parameters by splitting on " ".
            clauses.append("( " + " or ".join(names) + " )")
        if created_from is not None:
            parameters["created_from"] = created_from.astimezone(timezone.utc)
            clauses.append("CreatedAt ge @created_from")
        if created_to is not None:
            parameters["created_to"] = created_to.astimezone(timezone.utc)
            clauses.append("CreatedAt le @created_to")
        with storage_errors("query instances"):
            rows = [row async for row in self._client.query_entities(
                " and ".join(clauses), parameters=parameters)]
        found = [record for record in await asyncio.gather(*(self._query_row(row)
                                                            for row in rows))
                 if record is not None]
        # Azurite compares Edm.DateTime filters to the millisecond only, so the server's
        # answer may hold rows up to 1 ms outside the range: check again exactly.
        exact = [record for record in found if query.matches(record)]
        return sorted(exact, key=lambda record: record.created_at)
