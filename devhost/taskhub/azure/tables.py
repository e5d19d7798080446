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
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from devhost.engine.protocol import HistoryEvent
from devhost.errors import LockLost, StorageUnavailable
from devhost.taskhub.azure.blobs import BlobStore
from devhost.taskhub.azure.common import (
    MAX_TRANSACTION_OPS,
    StorageTable,
    partition_key,
    storage_errors,
)
from devhost.taskhub.azure.rows import (
    HISTORY_PREFIX,
    RECORD_ROW,
    BlobGone,
    StoredInstance,
    history_entity,
    history_from_rows,
    history_key,
    record_entity,
    stored_instance,
)
from devhost.taskhub.base import InstanceQuery, InstanceRecord

_REPLACE = {"mode": UpdateMode.REPLACE}
_CONFLICTS = (404, 409, 412)  # record gone, already created, changed since read
_READ_ATTEMPTS = 3
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
                return await stored_instance(self.blobs, entity)
            except BlobGone:
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
                stored = await stored_instance(self.blobs, record_rows[0])
            except BlobGone:
                continue
            history = await history_from_rows(self.blobs, stored, rows)
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
        entity, blobs, written = await record_entity(self.blobs, record, 0, 0)
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
        entity, blobs, written = await record_entity(self.blobs, record, generation, 0)
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
            record_entity(self.blobs, record, generation, seq + bool(new_history),
                                None if replace_history else old),
            history_entity(self.blobs, record.instance_id, key, generation, seq, new_history)
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
                parameters={"key": key, "low": HISTORY_PREFIX, "high": history_key(generation, 0)},
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
            return (await stored_instance(self.blobs, row)).record
        except BlobGone:  # changed since the query read it: read it again
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
