"""The task hub's tables: instance records with their history, and oversized payloads.

``{hub}Instances`` has one partition per instance (PartitionKey = the escaped instance id):

* RowKey ``~``: the record (what the status API reports) plus two bookkeeping numbers,
  ``HistoryGeneration`` and ``HistoryRows``.
* RowKey ``h-{generation:08d}-{seq:08d}``: history rows. Each committed episode adds one row
  or more, holding the new events as JSON text cut into properties under the 64 KiB limit;
  ``Continues`` marks a row whose text goes on in the next one.

Only rows of the record's generation with ``seq < HistoryRows`` are history. A commit
writes its rows and the record in one transaction, so a reader (or a losing writer) never
sees half an episode; rows left past ``HistoryRows`` by a failed attempt are overwritten by
the next commit. Replacing the history (continue-as-new, or re-creating an ended instance)
starts a new generation in that same transaction, so the old rows are invisible at once and
are deleted afterwards at leisure: no limit on how many there are.

``{hub}Payloads`` keeps message bodies too big for a queue message (PartitionKey = escaped
instance id, RowKey = message id and part).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from devhost.engine.protocol import HistoryEvent
from devhost.errors import LockLost, StorageUnavailable
from devhost.taskhub.azure.common import (
    ASCII_PIECE_CHARS,
    MAX_TRANSACTION_CHARS,
    MAX_TRANSACTION_OPS,
    PIECES_PER_ROW,
    PayloadTooLarge,
    StorageTable,
    join_text,
    partition_key,
    split_text,
    storage_errors,
)
from devhost.taskhub.base import InstanceQuery, InstanceRecord, ParentRef, RuntimeStatus

RECORD_ROW = "~"
_HISTORY = "h-"
_REPLACE = {"mode": UpdateMode.REPLACE}
_CONFLICTS = (404, 409, 412)  # record gone, already created, changed since read


@dataclass
class StoredInstance:
    """A record as read from the table, with what a conditional write needs."""

    record: InstanceRecord
    etag: str
    generation: int
    history_rows: int


@dataclass
class CommitPlan:
    """One episode's table transaction, checked to fit, ready to submit."""

    instance_id: str
    operations: list[tuple[Any, ...]]
    record: InstanceRecord
    generation: int
    history_rows: int


def _history_key(generation: int, seq: int) -> str:
    return f"{_HISTORY}{generation:08d}-{seq:08d}"


def _plain_utc(value: datetime) -> datetime:
    # The SDK hands back its own datetime subclass; callers compare with plain ones.
    return datetime(value.year, value.month, value.day, value.hour, value.minute,
                    value.second, value.microsecond, tzinfo=timezone.utc)


def record_entity(record: InstanceRecord, generation: int, history_rows: int
                  ) -> dict[str, Any]:
    """The record row for ``record``."""
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
        "HistoryGeneration": generation,
        "HistoryRows": history_rows,
    }
    if record.parent is not None:
        entity["ParentInstanceId"] = record.parent.instance_id
        entity["ParentTaskId"] = record.parent.task_id
        if record.parent.execution_id:
            entity["ParentExecutionId"] = record.parent.execution_id
    entity.update(split_text("Input", record.input))
    entity.update(split_text("Output", record.output))
    entity.update(split_text("CustomStatus", record.custom_status))
    return entity


def stored_instance(entity: Any) -> StoredInstance:
    """Read a record row."""
    parent = None
    if entity.get("ParentInstanceId") is not None:
        parent = ParentRef(entity["ParentInstanceId"], int(entity["ParentTaskId"]),
                           entity.get("ParentExecutionId"))
    record = InstanceRecord(
        instance_id=entity["InstanceId"],
        name=entity["Name"],
        runtime_status=RuntimeStatus(entity["RuntimeStatus"]),
        created_at=_plain_utc(entity["CreatedAt"]),
        updated_at=_plain_utc(entity["UpdatedAt"]),
        input=join_text(entity, "Input"),
        output=join_text(entity, "Output"),
        custom_status=join_text(entity, "CustomStatus"),
        parent=parent,
        execution_id=entity["ExecutionId"],
        version=entity.get("Version") or "",
    )
    return StoredInstance(record, entity.metadata["etag"], int(entity["HistoryGeneration"]),
                          int(entity["HistoryRows"]))


def history_entities(key: str, generation: int, first_seq: int,
                     events: list[HistoryEvent]) -> list[dict[str, Any]]:
    """The rows holding one episode's new events, starting at ``first_seq``."""
    # ensure_ascii keeps every character one UTF-16 code unit, so pieces can be 32 K long.
    text = json.dumps(events, separators=(",", ":"), ensure_ascii=True)
    pieces = [text[i:i + ASCII_PIECE_CHARS] for i in range(0, len(text), ASCII_PIECE_CHARS)]
    groups = [pieces[i:i + PIECES_PER_ROW] for i in range(0, len(pieces), PIECES_PER_ROW)]
    rows = []
    for index, group in enumerate(groups):
        row: dict[str, Any] = {"PartitionKey": key,
                               "RowKey": _history_key(generation, first_seq + index),
                               "Continues": index < len(groups) - 1}
        row.update({f"E{number}": piece for number, piece in enumerate(group)})
        rows.append(row)
    return rows


def history_from_rows(stored: StoredInstance, rows: list[Any]) -> list[HistoryEvent] | None:
    """The history in the record's generation, or None when rows are missing (a concurrent
    continue-as-new deleted them between our reads)."""
    prefix = _history_key(stored.generation, 0)[:-8]
    wanted = {_history_key(stored.generation, seq) for seq in range(stored.history_rows)}
    found = sorted((r for r in rows if r["RowKey"] in wanted), key=lambda r: r["RowKey"])
    if len(found) != len(wanted) or not all(r["RowKey"].startswith(prefix) for r in found):
        return None
    history: list[HistoryEvent] = []
    text: list[str] = []
    for row in found:
        number = 0
        while (piece := row.get(f"E{number}")) is not None:
            text.append(piece)
            number += 1
        if not row.get("Continues"):
            history.extend(json.loads("".join(text)))
            text = []
    return history


def _readable_key(instance_id: str) -> str | None:
    """The table key to look ``instance_id`` up by, or None when it cannot be a key.

    An id too long (or empty) for a table key names no instance, so reads answer "not
    found"; writes refuse such ids with ValueError.
    """
    try:
        return partition_key(instance_id)
    except ValueError:
        return None


def _entity_chars(entity: dict[str, Any]) -> int:
    return sum(len(v) for v in entity.values() if isinstance(v, str)) + 200


class InstanceTable(StorageTable):
    """Records and history of every instance of one hub."""

    label = "instances table"

    async def read_record(self, instance_id: str) -> StoredInstance | None:
        """The instance's record row, or None."""
        key = _readable_key(instance_id)
        if key is None:
            return None
        with storage_errors("read instance"):
            try:
                entity = await self._client.get_entity(key, RECORD_ROW)
            except ResourceNotFoundError:
                return None
        return stored_instance(entity)

    async def read(self, instance_id: str
                   ) -> tuple[StoredInstance | None, list[HistoryEvent]]:
        """The record and its history, read in one partition query."""
        key = _readable_key(instance_id)
        if key is None:
            return None, []
        for _attempt in range(3):
            with storage_errors("read instance history"):
                rows = [row async for row in self._client.query_entities(
                    "PartitionKey eq @key", parameters={"key": key})]
            record_rows = [row for row in rows if row["RowKey"] == RECORD_ROW]
            if not record_rows:
                return None, []
            stored = stored_instance(record_rows[0])
            history = history_from_rows(stored, rows)
            if history is not None:
                return stored, history
        # Continue-as-new kept deleting rows under us: let the caller retry later.
        raise StorageUnavailable(f"history of {instance_id!r} kept changing while read")

    async def insert_record(self, record: InstanceRecord) -> str | None:
        """Write a new record (no history yet); its ETag, or None when one exists already."""
        with storage_errors("create instance"):
            try:
                written = await self._client.create_entity(record_entity(record, 0, 0),
                                                           retry_total=0)
            except ResourceExistsError:
                return None
        return str(written["etag"])

    async def replace_record(self, old: StoredInstance, record: InstanceRecord) -> str | None:
        """Replace ``old`` (if unchanged since read) with ``record`` and an empty history
        in a new generation; the new ETag, or None when ``old`` changed meanwhile."""
        entity = record_entity(record, old.generation + 1, 0)
        with storage_errors("replace instance"):
            try:
                written = await self._client.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=old.etag,
                    match_condition=MatchConditions.IfNotModified, retry_total=0)
            except HttpResponseError as err:
                if err.status_code in _CONFLICTS:
                    return None
                raise
        return str(written["etag"])

    async def delete_record(self, instance_id: str, etag: str) -> None:
        """Delete the record if it still has ``etag`` (undoing a create that failed later)."""
        with storage_errors("undo create"):
            try:
                await self._client.delete_entity(
                    partition_key(instance_id), RECORD_ROW, etag=etag,
                    match_condition=MatchConditions.IfNotModified)
            except HttpResponseError as err:
                if err.status_code not in _CONFLICTS:
                    raise

    def plan_commit(self, old: StoredInstance | None, record: InstanceRecord,
                    new_history: list[HistoryEvent], replace_history: bool) -> CommitPlan:
        """The transaction that appends (or replaces) history and saves ``record``.

        Raises ``PayloadTooLarge`` when the episode does not fit one transaction; planning
        first lets the caller find out before it sends anything.
        """
        key = partition_key(record.instance_id)
        generation = old.generation if old is not None else 0
        first_seq = old.history_rows if old is not None else 0
        if replace_history and old is not None:
            generation, first_seq = generation + 1, 0
        rows = history_entities(key, generation, first_seq, new_history) if new_history else []
        entity = record_entity(record, generation, first_seq + len(rows))
        operations: list[tuple[Any, ...]] = [("upsert", row, _REPLACE) for row in rows]
        if old is None:
            operations.append(("create", entity))
        else:
            operations.append(("update", entity, {
                **_REPLACE, "etag": old.etag, "match_condition": MatchConditions.IfNotModified}))
        size = sum(_entity_chars(row) for row in rows) + _entity_chars(entity)
        if len(operations) > MAX_TRANSACTION_OPS or size > MAX_TRANSACTION_CHARS:
            raise PayloadTooLarge(
                f"episode of {size} characters for {record.instance_id!r} exceeds one "
                "table transaction")
        return CommitPlan(record.instance_id, operations, record, generation,
                          first_seq + len(rows))

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
                    raise LockLost(plan.instance_id) from err
                raise
        # The record is the transaction's last operation.
        return StoredInstance(plan.record, str(results[-1]["etag"]), plan.generation,
                              plan.history_rows)

    async def delete_old_generations(self, instance_id: str, generation: int) -> None:
        """Delete history rows of generations before ``generation`` (best effort)."""
        key = partition_key(instance_id)
        with storage_errors("delete old history"):
            rows = [row async for row in self._client.query_entities(
                "PartitionKey eq @key and RowKey ge @low and RowKey lt @high",
                parameters={"key": key, "low": _HISTORY, "high": _history_key(generation, 0)},
                select=["PartitionKey", "RowKey"])]
        await self._delete_rows(rows)

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
        existed = await self.read_record(instance_id) is not None
        with storage_errors("purge instance"):
            # The record goes first: without it the remaining rows are invisible, so a purge
            # interrupted half-way never shows a truncated history.
            await self._client.delete_entity(key, RECORD_ROW)
            rows = [row async for row in self._client.query_entities(
                "PartitionKey eq @key", parameters={"key": key},
                select=["PartitionKey", "RowKey"])]
        await self._delete_rows(rows)
        return existed

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
            found = [stored_instance(row).record async for row in self._client.query_entities(
                " and ".join(clauses), parameters=parameters)]
        # Azurite compares Edm.DateTime filters to the millisecond only, so the server's
        # answer may hold rows up to 1 ms outside the range: check again exactly.
        exact = [record for record in found if query.matches(record)]
        return sorted(exact, key=lambda record: record.created_at)
