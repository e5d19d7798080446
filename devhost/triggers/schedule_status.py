"""Each timer's schedule status, kept with the task hub as Azure's schedule monitor keeps it.

Azure's ``StorageScheduleMonitorV2`` writes one blob per timer function,
``azure-webjobs-hosts/timers/{hostId}/{function}/status``, holding ``Last``, ``Next`` and
``LastUpdated``. This host writes the same JSON to ``{function}/status`` in the container
``{hub}-devhost-timers`` of the task hub's account; the memory hub keeps it beside the hub
object, so a host restarted on the same memory hub finds it (and so sees a missed occurrence
as past due). ``Never`` is .NET's ``DateTime.MinValue``, as Azure writes it.
"""

from __future__ import annotations

import contextlib
import json
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob.aio import ContainerClient

from devhost.taskhub.azure.common import ClientOptions, storage_errors
from devhost.taskhub.azure.connection import loopback_only

__all__ = [
    "NEVER",
    "BlobStatusStore",
    "MemoryStatusStore",
    "ScheduleStatus",
    "StatusStore",
    "status_container",
]

# .NET's DateTime.MinValue: "no occurrence yet".
NEVER = datetime(1, 1, 1, tzinfo=timezone.utc)
_NEVER_TEXT = "0001-01-01T00:00:00"


def _text(moment: datetime) -> str:
    return _NEVER_TEXT if moment == NEVER else moment.astimezone(timezone.utc).isoformat()


def _moment(text: object) -> datetime:
    if not isinstance(text, str) or text.startswith("0001-01-01"):
        return NEVER
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class ScheduleStatus:
    """A timer's last occurrence, its next one, and when that was worked out."""

    last: datetime = NEVER
    next: datetime = NEVER
    last_updated: datetime = NEVER

    def as_json(self) -> dict[str, str]:
        """The status as Azure serialises it (and hands it to the function)."""
        return {"Last": _text(self.last), "Next": _text(self.next),
                "LastUpdated": _text(self.last_updated)}

    @classmethod
    def from_json(cls, document: object) -> ScheduleStatus | None:
        """A status read back; None for anything that is not one."""
        if not isinstance(document, dict):
            return None
        try:
            return cls(_moment(document.get("Last")), _moment(document.get("Next")),
                       _moment(document.get("LastUpdated")))
        except ValueError:
            return None


class StatusStore:
    """Where schedule statuses live."""

    async def start(self) -> None:
        """Create what the store needs."""

    async def close(self) -> None:
        """Release what the store holds."""

    async def get(self, function: str) -> ScheduleStatus | None:
        """The recorded status, or None if none was recorded yet."""
        raise NotImplementedError

    async def put(self, function: str, status: ScheduleStatus) -> None:
        """Record the status."""
        raise NotImplementedError


# Statuses of timers on memory hubs, kept as long as the hub object lives.
_MEMORY: weakref.WeakKeyDictionary[object, dict[str, ScheduleStatus]] = (
    weakref.WeakKeyDictionary())


class MemoryStatusStore(StatusStore):
    """Statuses beside a memory task hub (the same hub object, the same statuses)."""

    def __init__(self, hub: object) -> None:
        self._statuses = _MEMORY.setdefault(hub, {})

    async def get(self, function: str) -> ScheduleStatus | None:
        """The recorded status, or None."""
        return self._statuses.get(function)

    async def put(self, function: str, status: ScheduleStatus) -> None:
        """Record the status."""
        self._statuses[function] = status


def status_container(hub_name: str) -> str:
    """The blob container of a hub's timer statuses (never one Azure's own host uses)."""
    return f"{hub_name.lower()}-devhost-timers"


class BlobStatusStore(StatusStore):
    """Statuses as JSON blobs ``{function}/status`` in the hub's timer container."""

    def __init__(self, connection_string: str, hub_name: str) -> None:
        options = ClientOptions(use_env_settings=not loopback_only(connection_string))
        self._client = ContainerClient.from_connection_string(
            connection_string, status_container(hub_name), **options.queue_kwargs())

    async def start(self) -> None:
        """Create the container if it is missing."""
        with storage_errors("create timer status container"), \
                contextlib.suppress(ResourceExistsError):
            await self._client.create_container()

    async def close(self) -> None:
        """Close the storage client."""
        await self._client.close()

    async def get(self, function: str) -> ScheduleStatus | None:
        """The status blob's content, or None when there is none (or it is unreadable)."""
        with storage_errors("read timer status"):
            try:
                stream = await self._client.download_blob(f"{function}/status")
                data = await stream.readall()
            except ResourceNotFoundError:
                return None
        try:
            return ScheduleStatus.from_json(json.loads(data))
        except ValueError:
            return None

    async def put(self, function: str, status: ScheduleStatus) -> None:
        """Overwrite the status blob."""
        with storage_errors("write timer status"):
            await self._client.upload_blob(f"{function}/status",
                                           json.dumps(status.as_json()), overwrite=True)
