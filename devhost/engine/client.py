"""The durable operations the host offers its front ends (the management API, the CLI).

The engine implements this; the HTTP layer only translates requests into these calls and
their errors (devhost.errors) into status codes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from devhost.taskhub.base import InstanceRecord, RuntimeStatus


class DurableService(Protocol):
    """Start, signal, inspect and end orchestration instances."""

    async def start_new(self, name: str, instance_id: str | None, input_text: str | None) -> str:
        """Start orchestrator ``name``; return the instance id (a new one when None).

        Raises ``UnknownOrchestrator`` or ``InstanceExists`` (a running instance has the id).
        """
        ...

    async def raise_event(self, instance_id: str, name: str, data_text: str | None) -> None:
        """Deliver external event ``name`` with JSON text ``data_text``.

        Raises ``InstanceNotFound`` or ``InstanceEnded``. An event for a Pending instance
        is kept and delivered once it runs.
        """
        ...

    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """The instance's record, or None."""
        ...

    async def get_history(self, instance_id: str) -> list[dict[str, Any]]:
        """The instance's history events, oldest first."""
        ...

    async def query(
        self,
        statuses: set[RuntimeStatus] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> list[InstanceRecord]:
        """Instances matching every given filter."""
        ...

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        """Terminate a running instance. Raises ``InstanceNotFound`` or ``InstanceEnded``."""
        ...

    async def purge(self, instance_id: str) -> bool:
        """Delete an instance's record and history; False when there was none."""
        ...
