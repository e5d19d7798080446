"""The entity client: signal an entity, read its state, list entities.

What the management API's entity routes and tests call; the Durable extension's
``IDurableEntityClient`` (``DurableClient.SignalEntityAsyncInternal``, ``ReadEntityStateAsync``,
``ListEntitiesAsync``) is the model, its checks and messages included.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from devhost.entities.ids import EntityId, InvalidEntityId, find_entity, missing_entity, refuse_key
from devhost.entities.messages import client_request
from devhost.entities.state import SchedulerState
from devhost.taskhub.base import InstanceQuery, InstanceRecord, TaskHub

__all__ = ["EntityClient", "EntityStatus", "UnknownEntity"]


class UnknownEntity(InvalidEntityId):
    """The app has no entity function of that name; ``str()`` is Azure's message."""


@dataclass(frozen=True)
class EntityStatus:
    """One entity as a listing shows it: its id, last operation time and state text."""

    entity: EntityId
    last_operation: datetime
    state: str | None


class EntityClient:
    """Signals and reads the entities of one app on one task hub."""

    def __init__(self, hub: TaskHub, entity_names: Collection[str],
                 has_orchestrators: bool = True) -> None:
        """Work on ``hub`` for an app with the entity functions ``entity_names``
        (``has_orchestrators`` only shapes Azure's message for an unknown entity)."""
        self.hub = hub
        self._names = tuple(entity_names)
        self._has_orchestrators = has_orchestrators

    async def signal(self, entity: EntityId, operation: str, input_text: str | None) -> str:
        """Queue ``operation`` for ``entity`` with ``input_text`` (the request's input: JSON
        text, or None for none); return the request id.

        Refuses, in Azure's order, a key with ``/ \\ # ?`` or control characters and an
        entity the app does not have (``UnknownEntity``). The request is one queued message:
        once this returns it is applied once, whatever happens to the host.
        """
        refuse_key(entity.key)
        if find_entity(entity.name, self._names) is None:
            raise UnknownEntity(missing_entity(entity.name, self._names,
                                               self._has_orchestrators))
        request = client_request(operation, input_text)
        await self.hub.send([request.message_to(entity.instance_id, self.hub.clock.now())])
        return request.request_id

    async def read(self, entity: EntityId) -> str | None:
        """The entity's state as JSON text, or None when it does not exist."""
        state = SchedulerState.of(await self.hub.get_instance(entity.instance_id))
        return state.state if state.exists else None

    async def query(self, name: str | None = None, operated_from: datetime | None = None,
                    operated_to: datetime | None = None) -> list[EntityStatus]:
        """The entities that exist (of entity ``name`` when given), oldest first, whose last
        operation falls in the window."""
        prefix = f"@{name.lower()}@" if name else "@"
        found: list[EntityStatus] = []
        for record in await self.hub.query_instances(InstanceQuery()):
            if not record.instance_id.startswith(prefix):
                continue
            status = _status(record)
            if status is None:
                continue
            if operated_from is not None and status.last_operation < operated_from:
                continue
            if operated_to is not None and status.last_operation > operated_to:
                continue
            found.append(status)
        return found


def _status(record: InstanceRecord) -> EntityStatus | None:
    """The listing entry for an entity's record, or None when it does not exist now."""
    state = SchedulerState.of(record)
    if not state.exists:
        return None
    try:
        entity = EntityId.parse(record.instance_id)
    except InvalidEntityId:
        return None
    return EntityStatus(entity, record.updated_at, state.state)
