"""Export full histories: from a task hub object, or from a storage account.

``export_hub`` reads any ``TaskHub`` (the memory hub of a test, or this host's Azure
Storage hub). ``export_storage`` reads a storage account by connection string: this host's
own layout (``taskhub/azure``) and Durable Task's (``{hub}History``, as a Function App in
Azure writes it), both under one hub name. Either exports the instances named, or every
instance in flight (neither completed, failed nor terminated) that has run an episode.
Every record is checked against the export format before it is handed back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from azure.core.exceptions import ResourceNotFoundError

from devhost.errors import HostError, InstanceNotFound
from devhost.history.dtfx_tables import DurableTaskHub
from devhost.history.format import InstanceHistory, read_document
from devhost.taskhub.azure.connection import resolve_connection_string
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import ENDED_STATUSES, InstanceQuery, RuntimeStatus, TaskHub

__all__ = ["NothingToExport", "export_hub", "export_storage"]

IN_FLIGHT = InstanceQuery(statuses=frozenset(set(RuntimeStatus) - ENDED_STATUSES))


class NothingToExport(HostError):
    """An instance named for export has no history yet (it has not run an episode)."""


async def export_hub(hub: TaskHub, instance_ids: Sequence[str] | None = None
                     ) -> list[InstanceHistory]:
    """The histories of ``instance_ids`` (None: every instance in flight) in ``hub``.

    Raises ``InstanceNotFound`` for a named instance the hub does not have, and
    ``NothingToExport`` for one that has not run an episode yet.
    """
    found: list[InstanceHistory] = []
    if instance_ids is None:
        for record in await hub.query_instances(IN_FLIGHT):
            item = await _from_hub(hub, record.instance_id)
            if item is not None and item.history:
                found.append(item)
        return _checked(found)
    for instance_id in instance_ids:
        item = await _from_hub(hub, instance_id)
        if item is None:
            raise InstanceNotFound(f"no instance {instance_id!r} in the task hub")
        found.append(_with_history(item))
    return _checked(found)


async def export_storage(connection_string: str, hub_name: str,
                         instance_ids: Sequence[str] | None = None) -> list[InstanceHistory]:
    """Histories from a storage account's hub ``hub_name``, in either layout.

    This host's layout is read first; an instance id found in both appears twice (they
    are different instances that share an id). Errors as for ``export_hub``.
    """
    connection = resolve_connection_string(connection_string)
    own = AzureStorageTaskHub(connection, hub_name)
    durable = DurableTaskHub(connection, hub_name)
    try:
        if instance_ids is None:
            found = await _own_layout(own, None)
            for instance_id in await durable.in_flight():
                item = await durable.read(instance_id)
                if item is not None:
                    found.append(item)
            return _checked(found)
        found = []
        for instance_id in instance_ids:
            items = await _own_layout(own, [instance_id])
            written = await durable.read(instance_id)
            items += [written] if written is not None else []
            if not items:
                raise InstanceNotFound(f"no instance {instance_id!r} in task hub "
                                       f"{hub_name!r} (in either storage layout)")
            found += [_with_history(item) for item in items]
        return _checked(found)
    finally:
        await own.close()
        await durable.close()


async def _own_layout(hub: AzureStorageTaskHub,
                      instance_ids: list[str] | None) -> list[InstanceHistory]:
    """What this host's layout holds (nothing when its table does not exist)."""
    with contextlib.suppress(ResourceNotFoundError):
        if instance_ids is None:
            return await export_hub(hub)
        items = [await _from_hub(hub, instance_id) for instance_id in instance_ids]
        return [item for item in items if item is not None]
    return []


async def _from_hub(hub: TaskHub, instance_id: str) -> InstanceHistory | None:
    record = await hub.get_instance(instance_id)
    if record is None:
        return None
    history = await hub.get_history(instance_id)
    return InstanceHistory(record.instance_id, record.name, record.version,
                           record.runtime_status.value, history)


def _with_history(item: InstanceHistory) -> InstanceHistory:
    if not item.history:
        raise NothingToExport(f"instance {item.instance_id!r} ({item.runtime_status}) has not "
                              "run an episode yet: it has no history to export")
    return item


def _checked(items: list[InstanceHistory]) -> list[InstanceHistory]:
    """``items`` once the export format accepts every one of them."""
    read_document([item.to_json() for item in items])
    return items
