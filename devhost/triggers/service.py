"""The triggers of one hosted app: its timers and queue listeners, started and stopped together.

Storage follows the task hub, as in Azure where the timer's schedule monitor and the queues
live in the host's storage account: on the Azure Storage task hub, statuses are blobs and
queues are that account's (a binding whose ``connection`` names another setting uses that
account; ``UseDevelopmentStorage=true`` there means the Azurite this host runs on); on the
memory task hub both live beside the hub object, on its clock. ``%Setting%`` references in
schedules and queue names are resolved from the app settings, and a schedule, queue name or
connection that cannot be used stops the start, naming the function.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

from devhost.errors import AppLoadError
from devhost.local.storage_setting import is_development_storage
from devhost.taskhub.azure.connection import loopback_only, resolve_connection_string
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import TaskHub
from devhost.triggers.functions import (
    DEFAULT_CONNECTION,
    QueueFunction,
    QueueOutput,
    TimerFunction,
    TriggerFunction,
)
from devhost.triggers.invocation import Invocation, OutputWriter
from devhost.triggers.options import QueuesOptions
from devhost.triggers.queue_listener import STOP_GRACE_SECONDS, QueueListener, encode_content
from devhost.triggers.queues import AzureQueues, QueueService, memory_queues
from devhost.triggers.schedule_status import BlobStatusStore, MemoryStatusStore, StatusStore
from devhost.triggers.schedules import ScheduleError, parse_schedule
from devhost.triggers.timer import TimerRunner, monitor_default

__all__ = ["TriggerService", "queue_name_problem"]

log = logging.getLogger(__name__)

_REFERENCE = re.compile(r"%([^%]+)%")
_QUEUE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]")
# How long a message received on the memory hub stays hidden while processed (Azure's
# listener hides messages for 10 minutes and renews that).
MEMORY_HIDE_SECONDS = 600.0

Setting = Callable[[str], str | None]


def queue_name_problem(name: str) -> str | None:
    """Why Azure Storage would refuse a queue name, or None (names are lower-cased first)."""
    if not 3 <= len(name) <= 63 or not _QUEUE_NAME.fullmatch(name):
        return ("a queue name has 3-63 lower-case letters, digits and single hyphens, "
                "starting and ending with a letter or digit")
    return None


class TriggerService:
    """Runs an app's timer and queue functions against its task hub's storage."""

    def __init__(self, functions: Sequence[TriggerFunction], hub: TaskHub, setting: Setting,
                 options: QueuesOptions, client_json: str,
                 sync_pool: Executor | None = None) -> None:
        """Check every binding now; nothing runs until :meth:`start`. Sync functions run on
        ``sync_pool`` (the runtime's, shared with sync activities and HTTP functions).

        Raises ``AppLoadError`` for a schedule, queue name or connection Azure would refuse.
        """
        self._hub = hub
        self._setting = setting
        self._options = options
        self._client_json = client_json
        self._sync_pool = sync_pool
        self._services: dict[str, QueueService] = {}
        self._store: StatusStore | None = None
        self._timers: list[TimerRunner] = []
        self._listeners: list[QueueListener] = []
        self._timer_tasks: list[asyncio.Task[None]] = []
        self._poll_tasks: list[asyncio.Task[None]] = []
        for function in functions:
            if isinstance(function, TimerFunction):
                self._timers.append(self._timer(function))
            elif isinstance(function, QueueFunction):
                self._listeners.append(self._listener(function))

    # Resolving bindings --------------------------------------------------------------------

    def _resolve(self, function: str, what: str, text: str) -> str:
        def value(found: re.Match[str]) -> str:
            resolved = self._setting(found.group(1))
            if resolved is None:
                raise AppLoadError(f"function {function!r}: {what} refers to app setting "
                                   f"{found.group(1)!r}, which is not set")
            return resolved
        return _REFERENCE.sub(value, text)

    def _queue_name(self, function: str, raw: str) -> str:
        name = self._resolve(function, "queue name", raw).lower()
        problem = queue_name_problem(name)
        if problem is not None:
            raise AppLoadError(f"function {function!r}: queue name {name!r} is invalid: {problem}")
        return name

    def _queue_service(self, function: str, connection: str) -> QueueService:
        """The queues of the account ``connection`` names (one service per account)."""
        hub = self._hub
        value = None
        if connection != DEFAULT_CONNECTION:
            # As in Azure, the setting may also carry the AzureWebJobs prefix.
            value = self._setting(connection) or self._setting(f"AzureWebJobs{connection}")
            if not value:
                raise AppLoadError(f"function {function!r}: connection {connection!r} names an "
                                   "app setting that is not set")
        if not isinstance(hub, AzureStorageTaskHub):
            return self._services.setdefault("", memory_queues(hub, hub.clock))
        account = hub.connection_string
        if value is not None and not (is_development_storage(value)
                                      and loopback_only(hub.connection_string)):
            account = resolve_connection_string(value)
        found = self._services.get(account)
        if found is None:
            found = self._services[account] = AzureQueues(account)
        return found

    def writer(self, function: str, outputs: Sequence[QueueOutput]) -> OutputWriter:
        """What writes a function's queue outputs (checked now: ``AppLoadError``)."""
        targets = {output: (self._queue_name(function, output.queue_name),
                            self._queue_service(function, output.connection))
                   for output in outputs}
        encoding = self._options.message_encoding

        async def write(messages: dict[QueueOutput, list[bytes]]) -> None:
            for output, bodies in messages.items():
                queue, service = targets[output]
                for body in bodies:
                    await service.send(queue, encode_content(body, encoding))

        return write

    def _invocation(self, function: TriggerFunction) -> Invocation:
        return Invocation(function, self._client_json,
                          self.writer(function.name, function.outputs), self._sync_pool)

    def _timer(self, function: TimerFunction) -> TimerRunner:
        expression = self._resolve(function.name, "schedule", function.schedule)
        try:
            schedule = parse_schedule(expression)
            monitor = function.use_monitor
            if monitor is None:
                monitor = monitor_default(schedule, self._hub.clock.now())
        except ScheduleError as err:
            raise AppLoadError(f"function {function.name!r}: timerTrigger {err}") from err
        if monitor and self._store is None:
            hub = self._hub
            self._store = (BlobStatusStore(hub.connection_string, hub.hub_name)
                           if isinstance(hub, AzureStorageTaskHub) else MemoryStatusStore(hub))
        store = self._store if monitor else None
        return TimerRunner(function, schedule, self._hub.clock, store,
                           self._invocation(function))

    def _listener(self, function: QueueFunction) -> QueueListener:
        queue = self._queue_name(function.name, function.queue_name)
        service = self._queue_service(function.name, function.connection)
        hide = (self._hub.visibility_timeout if isinstance(self._hub, AzureStorageTaskHub)
                else MEMORY_HIDE_SECONDS)
        return QueueListener(function, queue, service, self._options,
                             self._invocation(function), hide)

    # Running -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every timer (running past-due and on-startup ones) and every listener."""
        if self._store is not None:
            await self._store.start()
        for timer in self._timers:
            await timer.start()
            log.info("timer %s: next run at %s", timer.function.name,
                     timer.status.next.isoformat())
            self._timer_tasks.append(asyncio.create_task(timer.run()))
        for listener in self._listeners:
            log.info("queue %s feeds function %s", listener.queue, listener.function.name)
            self._poll_tasks.append(asyncio.create_task(listener.run()))

    async def stop(self) -> None:
        """Stop the timers and listeners (invocations under way finish first), then close."""
        for timer in self._timers:
            await timer.stop()
        await asyncio.gather(*(listener.stop() for listener in self._listeners))
        if self._timer_tasks:
            # A timer's run under way may finish; a poll waiting for messages need not.
            await asyncio.wait(self._timer_tasks, timeout=STOP_GRACE_SECONDS)
        tasks = self._timer_tasks + self._poll_tasks
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._timer_tasks, self._poll_tasks = [], []
        if self._store is not None:
            await self._store.close()
        for service in self._services.values():
            await service.close()
