"""The durable client: start, signal, inspect, end and forget orchestration instances.

What the management API, the CLI and tests call, and the one place that decides whether an
instance is live (``InstanceNotFound``, ``InstanceEnded``): callers map those errors to
answers instead of reading the record themselves first.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Collection
from datetime import datetime

from devhost.clock import wait_at_most
from devhost.engine.protocol import (
    HistoryEvent,
    event_raised,
    execution_resumed,
    execution_started,
    execution_suspended,
    execution_terminated,
)
from devhost.engine.refusals import missing_function
from devhost.engine.rewind import rewind_requested
from devhost.errors import (
    InstanceEnded,
    InstanceNotFound,
    InvalidInstanceId,
    NotRewindable,
    StorageUnavailable,
    UnknownOrchestrator,
)
from devhost.taskhub.base import (
    InstanceQuery,
    InstanceRecord,
    Message,
    RuntimeStatus,
    TaskHub,
)

__all__ = ["ChangeSignal", "DurableClient", "has_ended"]

log = logging.getLogger(__name__)

# How often a waiter looks at the record again without being woken (changes made by
# another process on the same task hub wake nobody here).
WAIT_POLL_SECONDS = 0.5
# How long a rewind waits for the engine to take it before answering anyway.
REWIND_WAIT_SECONDS = 10.0


def has_ended(record: InstanceRecord) -> bool:
    """The default condition of :meth:`DurableClient.wait_for`."""
    return record.runtime_status.has_ended


class ChangeSignal:
    """Wakes everyone waiting on an instance whenever this process changed one."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()

    async def notify(self) -> None:
        """Some instance changed: waiters look again."""
        async with self._changed:
            self._changed.notify_all()

    async def wait(self, timeout: float) -> None:
        """Return at the next change, or after ``timeout`` seconds."""
        async with self._changed:
            await wait_at_most(timeout, self._changed.wait())


# The statuses whose rewind HttpApiHandler answers 410 Gone (Canceled too, which no
# instance of this host reaches).
_ENDED_UNREWINDABLE = frozenset({RuntimeStatus.COMPLETED, RuntimeStatus.TERMINATED})

# DurableClient.cs: MaxInstanceIdLength and the characters IsInvalidCharacter refuses.
MAX_INSTANCE_ID_LENGTH = 256
_REFUSED_ID_CHARACTERS = frozenset("/\\#?")


def check_instance_id(instance_id: str) -> None:
    """Refuse an id as Azure's ``StartNewAsync`` does, with its messages: not ``@...`` (an
    entity's), none of ``/ \\ # ?`` or control characters, at most 256 characters.

    The first two are ``ArgumentException(nameof(instanceId), text)``, whose .NET message
    reads "instanceId (Parameter '...')".
    """
    if instance_id.startswith("@"):
        raise InvalidInstanceId("instanceId (Parameter 'Orchestration instance ids must not "
                                "start with @.')")
    if any(c in _REFUSED_ID_CHARACTERS or ord(c) < 32 or 127 <= ord(c) < 160
           for c in instance_id):
        raise InvalidInstanceId("instanceId (Parameter 'Orchestration instance ids must not "
                                "contain /, \\, #, ?, or control characters.')")
    if len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        raise InvalidInstanceId(f"Instance ID lengths must not exceed {MAX_INSTANCE_ID_LENGTH} "
                                "characters.")


def start_message(record: InstanceRecord) -> Message:
    """The ExecutionStarted message of a new instance.

    Its message id is the execution id, so a start sent again (``requeue_unstarted``) is
    the same message to the engine, which drops whichever copy comes second.
    """
    event = execution_started(record.name, record.instance_id, record.input, record.created_at,
                              version=record.version)
    return Message(record.instance_id, event, message_id=record.execution_id)


class DurableClient:
    """Start, raise events to, terminate, query, purge and wait for instances of one app."""

    def __init__(self, hub: TaskHub, orchestrator_names: Collection[str],
                 changes: ChangeSignal | None = None, default_version: str = "") -> None:
        """Act on ``hub`` for an app whose orchestrators are ``orchestrator_names``; new
        instances get ``default_version`` (host.json's ``defaultVersion``) unless told one."""
        self.hub = hub
        self.default_version = default_version
        self._names = tuple(orchestrator_names)  # in the app's order, as Azure lists them
        self.changes = changes or ChangeSignal()

    async def start_new(self, name: str, instance_id: str | None, input_text: str | None,
                        version: str | None = None, *, input_as_text: bool = True) -> str:
        """Create an instance of orchestrator ``name`` and queue its first episode.

        Returns the instance id (a new one when ``instance_id`` is None). Raises
        ``UnknownOrchestrator``, ``InvalidInstanceId``, or ``InstanceExists`` when a live
        instance has the id.
        """
        if name not in self._names:
            raise UnknownOrchestrator(missing_function(name, "orchestrator", self._names))
        if instance_id:
            check_instance_id(instance_id)
        instance_id = instance_id or uuid.uuid4().hex
        now = self.hub.clock.now()
        record = InstanceRecord(instance_id=instance_id, name=name,
                                runtime_status=RuntimeStatus.PENDING, created_at=now,
                                updated_at=now, input=input_text,
                                version=self.default_version if version is None else version,
                                input_as_text=input_as_text)
        await self.hub.create_instance(record, start_message(record))
        await self.changes.notify()
        return instance_id

    async def live_instance(self, instance_id: str) -> InstanceRecord:
        """The record of an instance that takes events; ``InstanceNotFound`` or
        ``InstanceEnded`` otherwise. A Pending instance is live: what it is sent waits."""
        record = await self.hub.get_instance(instance_id)
        if record is None:
            raise InstanceNotFound(instance_id)
        if record.runtime_status.has_ended:
            raise InstanceEnded(instance_id)
        return record

    async def raise_event(self, instance_id: str, name: str, data_text: str | None,
                          check_data: Callable[[], None] | None = None) -> None:
        """Queue external event ``name`` with JSON text ``data_text`` for a live instance.

        ``check_data`` runs once the instance is known to be live and may raise to refuse
        the data: the management API checks the body only then, as Azure's does (a missing
        instance answers 404 before a bad body answers 400).
        """
        await self._send_to_live(instance_id, event_raised(name, data_text, self.hub.clock.now()),
                                 check_data)

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        """Queue the end of a live instance."""
        await self._send_to_live(instance_id, execution_terminated(reason, self.hub.clock.now()))

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        """Queue the suspension of a live instance: it runs no episode until resumed."""
        await self._send_to_live(instance_id, execution_suspended(reason, self.hub.clock.now()))

    async def resume(self, instance_id: str, reason: str | None) -> None:
        """Queue the resumption of a suspended instance (a running one ignores it)."""
        await self._send_to_live(instance_id, execution_resumed(reason, self.hub.clock.now()))

    async def rewind(self, instance_id: str, reason: str | None) -> None:
        """Queue the rewind of a failed instance (devhost.engine.rewind).

        As the extension decides (HttpApiHandler.HandleRewindInstanceRequestAsync, then
        DurableClient.RewindAsync): ``InstanceNotFound``; ``InstanceEnded`` for a
        completed, terminated or canceled one; ``NotRewindable`` for a live one. Returns
        once the engine has taken the rewind, so the instance no longer reads Failed, as
        Azure's rewind has set it Pending when it returns.
        """
        record = await self.hub.get_instance(instance_id)
        if record is None:
            raise InstanceNotFound(instance_id)
        if record.runtime_status in _ENDED_UNREWINDABLE:
            raise InstanceEnded(instance_id)
        if record.runtime_status != RuntimeStatus.FAILED:
            raise NotRewindable("The rewind operation is only supported on failed "
                                "orchestration instances.")
        request = Message(instance_id, rewind_requested(reason, self.hub.clock.now()))
        await self.hub.send([request])
        await self.changes.notify()
        await self._until_recorded(instance_id, request.message_id, REWIND_WAIT_SECONDS)

    async def _until_recorded(self, instance_id: str, message_id: str, timeout: float) -> None:
        """Return once the instance's history holds message ``message_id``, or after
        ``timeout`` seconds (the message stays queued either way)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not any(e.get("MessageId") == message_id
                      for e in await self.hub.get_history(instance_id)):
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.warning("rewind of %s not taken within %.0fs; it stays queued",
                            instance_id, timeout)
                return
            await self.changes.wait(min(remaining, WAIT_POLL_SECONDS))

    async def _send_to_live(self, instance_id: str, event: HistoryEvent,
                            check: Callable[[], None] | None = None) -> None:
        """Queue ``event`` for a live instance, once ``check`` (if any) passed."""
        await self.live_instance(instance_id)
        if check is not None:
            check()
        await self.hub.send([Message(instance_id, event)])

    async def restart(self, instance_id: str, new_instance_id: bool = True) -> str:
        """Start the instance's orchestrator again with its original input, under a new id
        or its own (``DurableClient.RestartAsync``); return the id it runs under.

        Raises ``InstanceNotFound``, or ``InstanceExists`` to restart a live instance under
        its own id.
        """
        record = await self.hub.get_instance(instance_id)
        if record is None:
            raise InstanceNotFound(instance_id)
        return await self.start_new(record.name, None if new_instance_id else instance_id,
                                    record.input, input_as_text=record.input_as_text)

    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """The instance's record, or None."""
        return await self.hub.get_instance(instance_id)

    async def get_history(self, instance_id: str) -> list[HistoryEvent]:
        """The instance's history events, oldest first."""
        return await self.hub.get_history(instance_id)

    async def query(self, query: InstanceQuery | None = None) -> list[InstanceRecord]:
        """Instances matching ``query`` (all when None), oldest first."""
        return await self.hub.query_instances(query or InstanceQuery())

    async def purge(self, instance_id: str) -> None:
        """Delete an instance's record and history whatever its status, as Azure's purge
        does: a live instance is gone too, and work still under way for it finds no
        instance and is dropped. Raises ``InstanceNotFound``.
        """
        if not await self.hub.purge_instance(instance_id):
            raise InstanceNotFound(instance_id)
        await self.changes.notify()

    async def requeue_unstarted(self, created_before: datetime | None = None) -> None:
        """Send again the start message of every instance still Pending.

        On Azure Storage a start writes the record before it sends the message, so a host
        killed between the two leaves a Pending instance that nothing would ever run.
        """
        try:
            pending = await self.hub.query_instances(InstanceQuery(
                statuses=frozenset({RuntimeStatus.PENDING}), created_to=created_before))
            if pending:
                log.info("queueing the start of %d pending instances again", len(pending))
                await self.hub.send([start_message(record) for record in pending])
        except StorageUnavailable as error:
            log.warning("pending instances not checked (%s); a start lost in a crash waits "
                        "for the next sweep", error)

    async def wait_for(
        self,
        instance_id: str,
        condition: Callable[[InstanceRecord], bool] = has_ended,
        timeout: float = 30.0,
    ) -> InstanceRecord:
        """Wait until the instance's record meets ``condition``; TimeoutError otherwise.

        Woken by every change this process makes; it also looks again twice a second.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            record = await self.hub.get_instance(instance_id)
            if record is not None and condition(record):
                return record
            remaining = deadline - loop.time()
            if remaining <= 0:
                status = record.runtime_status.value if record else "missing"
                raise TimeoutError(f"instance {instance_id} still {status} after {timeout}s")
            await self.changes.wait(min(remaining, WAIT_POLL_SECONDS))
