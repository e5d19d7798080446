"""An in-memory ``DurableService`` for the front-end tests (the real engine comes later)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from devhost.engine import protocol
from devhost.errors import (
    InstanceEnded,
    InstanceExists,
    InstanceNotEnded,
    InstanceNotFound,
    UnknownOrchestrator,
)
from devhost.taskhub.base import InstanceQuery, InstanceRecord, RuntimeStatus

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


@dataclass
class RaisedEvent:
    """An event the service was asked to deliver."""

    instance_id: str
    name: str
    data_text: str | None


class FakeDurableService:
    """Keeps instances in a dict; tests move them between states by hand."""

    def __init__(self, orchestrators: set[str] | None = None) -> None:
        self.orchestrators = orchestrators if orchestrators is not None else {"Hello"}
        self.records: dict[str, InstanceRecord] = {}
        self.histories: dict[str, list[dict[str, Any]]] = {}
        self.events: list[RaisedEvent] = []
        self.terminations: list[tuple[str, str | None]] = []
        self._tick = 0

    def _now(self) -> datetime:
        """A strictly increasing time, one minute per call, so order is visible."""
        self._tick += 1
        return T0 + timedelta(minutes=self._tick)

    async def start_new(self, name: str, instance_id: str | None, input_text: str | None) -> str:
        """Create a Pending instance."""
        if name not in self.orchestrators:
            raise UnknownOrchestrator(name)
        instance_id = instance_id or uuid.uuid4().hex
        existing = self.records.get(instance_id)
        if existing is not None and not existing.runtime_status.has_ended:
            raise InstanceExists(instance_id)
        now = self._now()
        self.records[instance_id] = InstanceRecord(
            instance_id, name, RuntimeStatus.PENDING, now, now, input=input_text)
        self.histories[instance_id] = [protocol.execution_started(name, instance_id,
                                                                  input_text, now)]
        return instance_id

    async def raise_event(self, instance_id: str, name: str, data_text: str | None,
                          check_data: Any = None) -> None:
        """Record the event."""
        record = self._existing(instance_id)
        if record.runtime_status.has_ended:
            raise InstanceEnded(instance_id)
        if check_data is not None:
            check_data()
        self.events.append(RaisedEvent(instance_id, name, data_text))

    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """The record or None."""
        return self.records.get(instance_id)

    async def get_history(self, instance_id: str) -> list[dict[str, Any]]:
        """The history list."""
        return list(self.histories.get(instance_id, []))

    async def query(self, query: InstanceQuery | None = None) -> list[InstanceRecord]:
        """Filter the records, oldest first."""
        query = query or InstanceQuery()
        found = [r for r in self.records.values() if query.matches(r)]
        return sorted(found, key=lambda r: r.created_at)

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        """Mark Terminated."""
        record = self._existing(instance_id)
        if record.runtime_status.has_ended:
            raise InstanceEnded(instance_id)
        self.terminations.append((instance_id, reason))
        record.runtime_status = RuntimeStatus.TERMINATED
        record.output = protocol.to_json_text(reason)

    async def purge(self, instance_id: str) -> None:
        """Forget an ended instance."""
        record = self._existing(instance_id)
        if not record.runtime_status.has_ended:
            raise InstanceNotEnded(instance_id, record.runtime_status.value)
        self.histories.pop(instance_id, None)
        self.records.pop(instance_id, None)

    def _existing(self, instance_id: str) -> InstanceRecord:
        """The record or InstanceNotFound."""
        record = self.records.get(instance_id)
        if record is None:
            raise InstanceNotFound(instance_id)
        return record

    def run(self, instance_id: str, custom_status: Any = None) -> None:
        """Pretend the first episode ran: Running, with history and a custom status."""
        record = self.records[instance_id]
        record.runtime_status = RuntimeStatus.RUNNING
        record.custom_status = protocol.to_json_text(custom_status)
        now = self._now()
        record.updated_at = now
        self.histories[instance_id] += [
            protocol.orchestrator_started(now),
            protocol.task_scheduled(0, "SayHello", '"Tokyo"', now),
            protocol.orchestrator_completed(now),
            protocol.orchestrator_started(now),
            protocol.task_completed(0, '"Hello Tokyo"', now),
            protocol.orchestrator_completed(now),
        ]

    def finish(self, instance_id: str, output: Any, status: RuntimeStatus = RuntimeStatus.COMPLETED
               ) -> None:
        """End the instance with ``output``."""
        record = self.records[instance_id]
        record.runtime_status = status
        record.output = protocol.to_json_text(output)
        record.updated_at = self._now()
