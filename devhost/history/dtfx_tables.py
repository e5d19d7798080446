"""Read-only access to a task hub that Durable Task's own Azure Storage provider wrote.

Tables ``{hub}History`` and ``{hub}Instances`` and the blob container
``{hub}-largemessages`` (``AzureStorageOrchestrationServiceSettings``,
``AzureStorageOrchestrationService``), as a Function App in Azure or ``func start`` leaves
them; rows are turned into events by ``dtfx_rows``. Nothing here writes.
"""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Mapping
from typing import Any, Final

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables.aio import TableClient
from azure.storage.blob.aio import ContainerClient

from devhost.engine.protocol import EventType, HistoryEvent
from devhost.history.dtfx_rows import (
    UnreadableRow,
    blob_references,
    current_execution,
    escape_key,
    event_from_row,
    unescape_key,
)
from devhost.history.format import InstanceHistory
from devhost.taskhub.azure.common import ClientOptions, storage_errors
from devhost.taskhub.base import ENDED_STATUSES, RuntimeStatus

__all__ = ["DurableTaskHub"]

# The instance table's row of an instance (its RowKey) and the statuses still in flight.
_INSTANCE_ROW: Final = ""
_IN_FLIGHT: Final = tuple(status.value for status in RuntimeStatus
                          if status not in ENDED_STATUSES)


class DurableTaskHub:
    """The History and Instances tables of one Durable Task task hub, for reading."""

    def __init__(self, connection_string: str, hub_name: str,
                 options: ClientOptions | None = None) -> None:
        """Read hub ``hub_name`` of the account ``connection_string`` names."""
        options = options or ClientOptions()
        self.hub_name = hub_name
        self._history = TableClient.from_connection_string(
            connection_string, f"{hub_name}History", **options.table_kwargs())
        self._instances = TableClient.from_connection_string(
            connection_string, f"{hub_name}Instances", **options.table_kwargs())
        self._blobs = ContainerClient.from_connection_string(
            connection_string, f"{hub_name.lower()}-largemessages", **options.queue_kwargs())

    async def close(self) -> None:
        """Close the storage clients."""
        for client in (self._history, self._instances, self._blobs):
            with contextlib.suppress(Exception):
                await client.close()

    async def in_flight(self) -> list[str]:
        """Ids of the instances the Instances table shows neither completed, failed nor
        terminated, oldest first."""
        statuses = " or ".join(f"RuntimeStatus eq '{status}'" for status in _IN_FLIGHT)
        with storage_errors("query the Durable Task instances table"):
            try:
                rows = [row async for row in self._instances.query_entities(
                    f"RowKey eq '{_INSTANCE_ROW}' and ({statuses})")]
            except ResourceNotFoundError:
                return []
        rows.sort(key=lambda row: str(row.get("CreatedTime") or ""))
        return [unescape_key(str(row["PartitionKey"])) for row in rows]

    async def read(self, instance_id: str) -> InstanceHistory | None:
        """The instance's current execution, or None when the hub has no history of it."""
        key = escape_key(instance_id)
        with storage_errors("read the Durable Task history table"):
            try:
                rows = [row async for row in self._history.query_entities(
                    "PartitionKey eq @key", parameters={"key": key})]
            except ResourceNotFoundError:
                return None
        try:
            history = [event_from_row(row, await self._large_values(row))
                       for row in current_execution(rows)]
        except UnreadableRow as err:
            raise UnreadableRow(f"{self.hub_name}History, instance {instance_id!r}: "
                                f"{err}") from None
        if not history:
            return None
        start = next((e for e in history if e["EventType"] == EventType.EXECUTION_STARTED),
                     None)
        name = str(start.get("Name") or "") if start else ""
        version = str(start.get("Version") or "") if start else ""
        status = await self._status(key) or _status_from(history)
        return InstanceHistory(instance_id, name, version, status, history)

    async def _large_values(self, row: Mapping[str, Any]) -> dict[str, str]:
        values = {}
        for column, blob in blob_references(row).items():
            with storage_errors(f"read large value {blob}"):
                try:
                    download = await self._blobs.download_blob(blob)
                    data = await download.readall()
                except ResourceNotFoundError:
                    raise UnreadableRow(f"row {row.get('RowKey')!r}: {column} is in blob "
                                        f"{blob!r}, which is gone") from None
            values[column] = gzip.decompress(data).decode("utf-8")
        return values

    async def _status(self, key: str) -> str | None:
        with storage_errors("read the Durable Task instances table"):
            try:
                row = await self._instances.get_entity(key, _INSTANCE_ROW)
            except ResourceNotFoundError:
                return None
        status = row.get("RuntimeStatus")
        return str(status) if status else None


def _status_from(history: list[HistoryEvent]) -> str:
    """The runtime status a history shows when no instance row says it."""
    for event in reversed(history):
        kind = event["EventType"]
        if kind == EventType.EXECUTION_TERMINATED:
            return RuntimeStatus.TERMINATED.value
        if kind in (EventType.EXECUTION_COMPLETED, EventType.EXECUTION_FAILED):
            failed = (kind == EventType.EXECUTION_FAILED
                      or event.get("OrchestrationStatus") == 3)
            return str((RuntimeStatus.FAILED if failed else RuntimeStatus.COMPLETED).value)
    return RuntimeStatus.RUNNING.value
