"""An entity's scheduler state, kept in its instance record on either task hub.

As the Durable extension keeps a ``SchedulerState`` as the input of the entity's instance,
this host keeps ``{"exists", "state", "applied", "senders", "held"}`` as the record's input:
whether the entity exists, its state as the SDK serialized it (JSON text), the ids of the
requests applied last (newest last), so a request delivered again after a crash is not
applied twice, and what keeps each orchestration's requests in order (``sorter``): the next
number expected per sending execution, and the requests held until their predecessors
arrive. The record's custom status is ``{"entityExists": ...}``, as the extension's
``EntityStatus``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from devhost.engine.protocol import iso, parse_iso
from devhost.entities.ids import EntityId
from devhost.entities.messages import request_from_json
from devhost.entities.sorter import HeldRequest, SenderMark
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
    senders: dict[str, SenderMark] = field(default_factory=dict)
    held: list[HeldRequest] = field(default_factory=list)

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
                   if isinstance(applied, list) else [],
                   senders=_senders(body.get("senders")), held=_held(body.get("held")))

    def remember(self, request_ids: list[str]) -> None:
        """Note requests as applied, forgetting the oldest beyond the bound."""
        self.applied = (self.applied + request_ids)[-APPLIED_REQUESTS_KEPT:]

    def record_for(self, entity: EntityId, previous: InstanceRecord | None,
                   now: datetime) -> InstanceRecord:
        """The entity's record holding this state, as of ``now``."""
        text = json.dumps({
            "exists": self.exists, "state": self.state, "applied": self.applied,
            "senders": {sender: [mark.next, iso(mark.seen)]
                        for sender, mark in self.senders.items()},
            "held": [{"request": h.request.as_json(), "since": iso(h.since)}
                     for h in self.held],
        }, separators=(",", ":"))
        custom = json.dumps({"entityExists": self.exists}, separators=(",", ":"))
        if previous is None:
            return InstanceRecord(instance_id=entity.instance_id, name=entity.name,
                                  runtime_status=RuntimeStatus.RUNNING, created_at=now,
                                  updated_at=now, input=text, custom_status=custom)
        return replace(previous, runtime_status=RuntimeStatus.RUNNING, updated_at=now,
                       input=text, custom_status=custom)


def _senders(value: Any) -> dict[str, SenderMark]:
    """The sender marks kept as ``{execution: [next, seen]}`` (unreadable ones dropped)."""
    marks: dict[str, SenderMark] = {}
    if not isinstance(value, dict):
        return marks
    for sender, mark in value.items():
        try:
            marks[sender] = SenderMark(int(mark[0]), parse_iso(mark[1]))
        except (TypeError, ValueError, IndexError):
            continue
    return marks


def _held(value: Any) -> list[HeldRequest]:
    """The held requests kept as ``[{"request", "since"}]`` (unreadable ones dropped)."""
    held: list[HeldRequest] = []
    for item in value if isinstance(value, list) else []:
        try:
            request = request_from_json(item["request"])
            since = parse_iso(item["since"])
        except (TypeError, ValueError, KeyError):
            continue
        if request is not None and request.sequence is not None:
            held.append(HeldRequest(request, since))
    return held
