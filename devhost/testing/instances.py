"""Orchestration instances as a test drives them: start, signal, read, wait, export.

Starts, events and status reads go through the durable SDK's own client (over the host's
socket), so a test sees exactly what the app's client code sees; existence checks and
exports read the engine's client directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from devhost.app.loader import FunctionIndex
from devhost.engine.client import DurableClient
from devhost.engine.protocol import as_played
from devhost.errors import InstanceNotFound
from devhost.testing.errors import unknown
from devhost.testing.failures import AppTracebacks, activity_traceback
from devhost.testing.virtual_time import VirtualTime

__all__ = ["Instances", "Predicate", "Timeout"]

# A condition on the SDK's DurableOrchestrationStatus.
Predicate = Callable[[Any], bool]
# Virtual time to wait: a timedelta, or seconds.
Timeout = timedelta | float



def _span(timeout: Timeout) -> timedelta:
    """``timeout`` as a timedelta; ``ValueError`` when negative."""
    span = timeout if isinstance(timeout, timedelta) else timedelta(seconds=timeout)
    if span < timedelta(0):
        raise ValueError(f"a timeout cannot be negative: {timeout!r}")
    return span


class Instances:
    """The instances of one started host."""

    def __init__(self, sdk_client: df.DurableOrchestrationClient, engine: DurableClient,
                 time: VirtualTime, tracebacks: AppTracebacks, index: FunctionIndex) -> None:
        """Drive instances through ``sdk_client``, read them through ``engine``."""
        self._sdk = sdk_client
        self._engine = engine
        self._time = time
        self._tracebacks = tracebacks
        self._index = index

    async def start_new(self, name: str, input_value: Any, instance_id: str | None,
                        version: str | None) -> str:
        """Start orchestrator ``name``; its instance id, once the host is idle.

        ``UnknownFunction`` for a name the app has no orchestrator under; the SDK's own
        exception (with the host's message) for an id Azure refuses or one that is live.
        """
        if name not in self._index.orchestrators:
            raise unknown("orchestrator", name, self._index.orchestrators)
        started: str = await self._sdk.start_new(name, instance_id, input_value,
                                                 version=version)
        await self._time.settle()
        return started

    async def raise_event(self, instance_id: str, name: str, data: Any) -> None:
        """Raise ``name`` for a live instance (``InstanceNotFound``, ``InstanceEnded``)."""
        await self._engine.live_instance(instance_id)
        await self._sdk.raise_event(instance_id, name, data)
        await self._time.settle()

    async def status(self, instance_id: str) -> Any:
        """The SDK's status of the instance (None if unknown); a failed one also carries
        ``app_traceback``."""
        status = await self._sdk.get_status(instance_id, show_input=True)
        if not status:
            return None
        status.app_traceback = None
        if status.runtime_status == df.OrchestrationRuntimeStatus.Failed:
            status.app_traceback = await self.app_traceback(instance_id)
        return status

    async def app_traceback(self, instance_id: str) -> str | None:
        """The app's traceback behind a failure: the orchestrator's, then the failed
        activity's when one failed it."""
        parts = []
        orchestrator = self._tracebacks.get(instance_id)
        if orchestrator:
            parts.append(orchestrator.rstrip())
        activity = activity_traceback(await self._engine.get_history(instance_id))
        if activity:
            parts.append("The failed activity's traceback:\n" + activity.rstrip())
        return "\n\n".join(parts) or None

    async def wait_for(self, instance_id: str, predicate: Predicate, timeout: Timeout) -> Any:
        """The status once ``predicate`` holds, skipping virtual time while idle;
        ``TimeoutError`` once ``timeout`` of virtual time passed without it."""
        span = _span(timeout)
        seen: list[Any] = [None]

        async def unmet() -> bool:
            seen[0] = await self.status(instance_id)
            return seen[0] is None or not predicate(seen[0])

        deadline = self._time.clock.now() + span
        if await self._time.run_while(unmet, deadline):
            return seen[0]
        raise TimeoutError(self._timeout_text(instance_id, seen[0], span))

    async def wait_for_completion(self, instance_id: str, timeout: Timeout) -> Any:
        """The status once the instance ended (completed, failed or terminated).

        While it runs, the engine's record says so without a status call through the SDK;
        the status returned (or reported on timeout) is the SDK's.
        """
        span = _span(timeout)

        async def running() -> bool:
            record = await self._engine.get_instance(instance_id)
            return record is None or not record.runtime_status.has_ended

        deadline = self._time.clock.now() + span
        ended = await self._time.run_while(running, deadline)
        status = await self.status(instance_id)
        if ended:
            return status
        raise TimeoutError(self._timeout_text(instance_id, status, span))

    def _timeout_text(self, instance_id: str, status: Any, span: timedelta) -> str:
        """Why a wait ended: where the instance stands, and its failure if it failed."""
        head = f"instance {instance_id!r}: the condition did not hold within {span} of " \
               "virtual time"
        if status is None:
            return f"{head}; no such instance"
        text = (f"{head}; it is {status.runtime_status.value}, custom status "
                f"{status.custom_status!r}")
        if status.runtime_status == df.OrchestrationRuntimeStatus.Failed:
            text += f"\nits output: {status.output}"
            if status.app_traceback:
                text += f"\n{status.app_traceback}"
        elif self._time.next_due() is None:
            text += " (nothing is scheduled: does it wait for an event?)"
        return text

    async def export(self, instance_id: str) -> dict[str, Any]:
        """The instance record replay tooling reads: id, name, version, status, history.

        The history holds the engine's events as the SDK receives a past episode's
        (``devhost.engine.protocol``: every event marked played).
        """
        record = await self._engine.get_instance(instance_id)
        if record is None:
            raise InstanceNotFound(instance_id)
        history = await self._engine.get_history(instance_id)
        return {
            "instanceId": record.instance_id,
            "name": record.name,
            "version": record.version,
            "runtimeStatus": record.runtime_status.value,
            "history": as_played(history),
        }
