"""An entity's scheduler state, kept in its instance record on either task hub.

As the Durable extension keeps a ``SchedulerState`` as the input of the entity's instance,
this host keeps ``{"exists", "state", "applied"}`` as the record's input: whether the entity
exists, its state as the SDK serialized it (JSON text), and the ids of the requests applied
last (newest last), so a request delivered again after a crash is not applied twice. The
record's custom status is ``{"entityExists": ...}``, as the extension's ``EntityStatus``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime

from devhost.entities.ids import EntityId
from devhost.taskhub.base import InstanceRecord, RuntimeStatus

__all__ = ["APPLIED_REQUESTS_KEPT", "SchedulerState"]

# How many applied request ids an entity remembers. A request is delivered again only when
# the host stopped between committing a batch and deleting its messages; the copy comes
# back after the visibility timeout, so only an entity that applied more requests than this
# meanwhile could apply one twice.
APPLIED_REQUESTS_KEPT = 500


@dataclass
class SchedulerState:
    """What an entity's record holds: existence, state text, recently applied requests."""

    exists: bool = False
    state: str | None = None
    applied: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, record: InstanceRecord | None) -> SchedulerState:
        """The state kept in ``record`` (a fresh entity for None or an unreadable input)."""
        if record is None or not record.input:
            return cls()
        try:
            body = json.loads(record.input)
        except ValueError:
            return cls()
        if not isinstance(body, dict):
            return cls()
        state = body.get("state")
        applied = body.get("applied")
        return cls(exists=bool(body.get("exists")),
                   state=state if isinstance(state, str) else None,
                   applied=[a for a in applied if isinstance(a, str)]
                   if isinstance(applied, list) else [])

    def remember(self, request_ids: list[str]) -> None:
        """Note requests as applied, forgetting the oldest beyond the bound."""
        self.applied = (self.applied + request_ids)[-APPLIED_REQUESTS_KEPT:]

    def record_for(self, entity: EntityId, previous: InstanceRecord | None,
                   now: datetime) -> InstanceRecord:
        """The entity's record holding this state, as of ``now``."""
        text = json.dumps({"exists": self.exists, "state": self.state,
                           "applied": self.applied}, separators=(",", ":"))
        custom = json.dumps({"entityExists": self.exists}, separators=(",", ":"))
        if previous is None:
            return InstanceRecord(instance_id=entity.instance_id, name=entity.name,
                                  runtime_status=RuntimeStatus.RUNNING, created_at=now,
                                  updated_at=now, input=text, custom_status=custom)
        return replace(previous, runtime_status=RuntimeStatus.RUNNING, updated_at=now,
                       input=text, custom_status=custom)
