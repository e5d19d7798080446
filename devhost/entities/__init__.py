"""Durable entities: ids, the out-of-proc batch protocol, the entity scheduler and its client.

Function-based entities as the Python SDK (azure-functions-durable 1.7) writes them
(``@app.entity_trigger``, ``df.Entity.create``). An entity is an instance of the task hub
under the id ``@{name}@{key}``: its operations arrive as ``op`` events, its state and the
ids of the requests it already applied live in its instance record, so it survives a crash
exactly as an orchestration does.
"""

from devhost.entities.client import EntityClient, EntityStatus
from devhost.entities.ids import EntityId, is_entity_instance

__all__ = ["EntityClient", "EntityId", "EntityStatus", "is_entity_instance"]
