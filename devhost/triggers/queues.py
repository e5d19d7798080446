"""The storage queues triggers read and output bindings write: Azure Storage, or in memory.

Both keep Azure Storage queue semantics: a received message is hidden for the visibility
timeout given and comes back with a higher dequeue count unless deleted; every receive hands
out a new pop receipt, and only the latest one deletes or updates the message; messages
expire after 7 days. Contents are stored as given (the listener and the output binding
apply the app's ``messageEncoding``). The memory queues live beside a memory task hub
object and run on its clock, so a retry's visibility timeout passes when a test advances a
virtual clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
import weakref
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue.aio import QueueClient

from devhost.clock import Clock, VirtualClock, wait_at_most
from devhost.taskhub.azure.common import ClientOptions, storage_errors
from devhost.taskhub.azure.connection import loopback_only

__all__ = ["AzureQueues", "MemoryQueues", "QueueService", "ReceivedMessage", "memory_queues"]

MESSAGE_TIME_TO_LIVE = timedelta(days=7)


@dataclass(frozen=True)
class ReceivedMessage:
    """One received message: what ``func.QueueMessage`` is built from."""

    id: str
    pop_receipt: str
    content: str
    dequeue_count: int
    insertion_time: datetime
    expiration_time: datetime
    next_visible_time: datetime


class QueueService:
    """Queues of one storage account (or of one memory hub)."""

    async def receive(self, queue: str, count: int, hide_seconds: float) -> list[ReceivedMessage]:
        """Up to ``count`` visible messages, hidden for ``hide_seconds``; [] if no queue."""
        raise NotImplementedError

    async def delete(self, queue: str, message: ReceivedMessage) -> None:
        """Delete the message (nothing happens when its receipt is stale)."""
        raise NotImplementedError

    async def hide(self, queue: str, message: ReceivedMessage,
                   seconds: float) -> ReceivedMessage | None:
        """Make the message visible ``seconds`` from now; the message with its new receipt,
        or None when the receipt is stale (someone else holds it now)."""
        raise NotImplementedError

    async def send(self, queue: str, content: str) -> None:
        """Add a message, creating the queue if it does not exist."""
        raise NotImplementedError

    async def wait(self, queue: str, seconds: float) -> None:
        """Wait up to ``seconds`` or until a message may have become visible."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release what the service holds."""


@dataclass
class _Stored:
    id: str
    content: str
    insertion_time: datetime
    expiration_time: datetime
    visible_at: datetime
    order: int
    dequeue_count: int = 0
    pop_receipt: str = field(default_factory=lambda: uuid.uuid4().hex)


class MemoryQueues(QueueService):
    """Queues in dictionaries on a clock, one account per memory task hub."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._queues: dict[str, list[_Stored]] = {}
        self._order = itertools.count()
        self._changed = asyncio.Event()
        if isinstance(clock, VirtualClock):
            clock.subscribe(self._clock_moved)

    async def _clock_moved(self) -> None:
        self._changed.set()

    def messages(self, queue: str) -> list[str]:
        """The contents of a queue, visible or not, oldest first (for tests and tools)."""
        return [stored.content for stored in self._live(queue)]

    def _live(self, queue: str) -> list[_Stored]:
        now = self.clock.now()
        kept = [m for m in self._queues.get(queue, []) if m.expiration_time > now]
        if queue in self._queues:
            self._queues[queue] = kept
        return kept

    @staticmethod
    def _received(stored: _Stored) -> ReceivedMessage:
        return ReceivedMessage(stored.id, stored.pop_receipt, stored.content,
                               stored.dequeue_count, stored.insertion_time,
                               stored.expiration_time, stored.visible_at)

    async def receive(self, queue: str, count: int, hide_seconds: float) -> list[ReceivedMessage]:
        """Up to ``count`` visible messages, oldest first, hidden for ``hide_seconds``."""
        now = self.clock.now()
        taken: list[ReceivedMessage] = []
        for stored in sorted(self._live(queue), key=lambda m: m.order):
            if len(taken) >= count:
                break
            if stored.visible_at <= now:
                stored.dequeue_count += 1
                stored.pop_receipt = uuid.uuid4().hex
                stored.visible_at = now + timedelta(seconds=hide_seconds)
                taken.append(self._received(stored))
        return taken

    def _holding(self, queue: str, message: ReceivedMessage) -> _Stored | None:
        return next((m for m in self._live(queue)
                     if m.id == message.id and m.pop_receipt == message.pop_receipt), None)

    async def delete(self, queue: str, message: ReceivedMessage) -> None:
        """Delete the message if the receipt is current."""
        stored = self._holding(queue, message)
        if stored is not None:
            self._queues[queue].remove(stored)

    async def hide(self, queue: str, message: ReceivedMessage,
                   seconds: float) -> ReceivedMessage | None:
        """Move the message's visibility; None for a stale receipt."""
        stored = self._holding(queue, message)
        if stored is None:
            return None
        stored.pop_receipt = uuid.uuid4().hex
        stored.visible_at = self.clock.now() + timedelta(seconds=seconds)
        self._changed.set()
        return self._received(stored)

    async def send(self, queue: str, content: str) -> None:
        """Add a message, visible at once."""
        now = self.clock.now()
        self._queues.setdefault(queue, []).append(_Stored(
            uuid.uuid4().hex, content, now, now + MESSAGE_TIME_TO_LIVE, now, next(self._order)))
        self._changed.set()

    async def wait(self, queue: str, seconds: float) -> None:
        """Wait for a send, a release or a clock move, at most ``seconds`` (and no longer
        than until the next hidden message shows again on a real clock)."""
        self._changed.clear()
        hidden = [m.visible_at for m in self._live(queue) if m.visible_at > self.clock.now()]
        if hidden and not isinstance(self.clock, VirtualClock):
            seconds = min(seconds, (min(hidden) - self.clock.now()).total_seconds())
        await wait_at_most(seconds, self._changed.wait())


_MEMORY: weakref.WeakKeyDictionary[object, MemoryQueues] = weakref.WeakKeyDictionary()


def memory_queues(hub: object, clock: Clock) -> MemoryQueues:
    """The memory queue account of a memory task hub (the same hub, the same queues)."""
    found = _MEMORY.get(hub)
    if found is None:
        found = _MEMORY[hub] = MemoryQueues(clock)
    return found


class AzureQueues(QueueService):
    """Queues of an Azure Storage account (Azurite locally)."""

    def __init__(self, connection_string: str) -> None:
        self._connection = connection_string
        self._options = ClientOptions(use_env_settings=not loopback_only(connection_string))
        self._clients: dict[str, QueueClient] = {}
        # Sends by this host wake its own listener at once, as Azure's host does for
        # messages its output bindings add (its shared queue watcher).
        self._sent: dict[str, asyncio.Event] = {}

    def _client(self, queue: str) -> QueueClient:
        client = self._clients.get(queue)
        if client is None:
            client = self._clients[queue] = QueueClient.from_connection_string(
                self._connection, queue, **self._options.queue_kwargs())
        return client

    async def receive(self, queue: str, count: int, hide_seconds: float) -> list[ReceivedMessage]:
        """Up to ``count`` messages (one receive call); [] when the queue does not exist."""
        taken = []
        with storage_errors(f"receive from queue {queue}"):
            try:
                pages = self._client(queue).receive_messages(
                    messages_per_page=count, max_messages=count,
                    visibility_timeout=max(1, round(hide_seconds)))
                async for item in pages:
                    now = datetime.now(timezone.utc)
                    taken.append(ReceivedMessage(
                        item.id, item.pop_receipt or "", str(item.content or ""),
                        int(item.dequeue_count or 0), item.inserted_on or now,
                        item.expires_on or now + MESSAGE_TIME_TO_LIVE,
                        item.next_visible_on or now))
            except ResourceNotFoundError:
                return []
        return taken

    async def delete(self, queue: str, message: ReceivedMessage) -> None:
        """Delete the message; a stale receipt or a gone message is no error."""
        with storage_errors(f"removing a message of queue {queue}"), \
                contextlib.suppress(ResourceNotFoundError):
            await self._client(queue).delete_message(message.id, message.pop_receipt)

    async def hide(self, queue: str, message: ReceivedMessage,
                   seconds: float) -> ReceivedMessage | None:
        """Update the message's visibility; None when its receipt is stale."""
        with storage_errors(f"update message in queue {queue}"):
            try:
                updated = await self._client(queue).update_message(
                    message.id, message.pop_receipt, visibility_timeout=max(0, round(seconds)))
            except ResourceNotFoundError:
                return None
        return replace(message, pop_receipt=updated.pop_receipt or "",
                       next_visible_time=updated.next_visible_on or message.next_visible_time)

    async def send(self, queue: str, content: str) -> None:
        """Send the message, creating the queue first when it is missing."""
        client = self._client(queue)
        with storage_errors(f"send to queue {queue}"):
            try:
                await client.send_message(content)
            except ResourceNotFoundError:
                with contextlib.suppress(ResourceExistsError):
                    await client.create_queue()
                await client.send_message(content)
        self._sent.setdefault(queue, asyncio.Event()).set()

    async def wait(self, queue: str, seconds: float) -> None:
        """Sleep ``seconds``, or less when this host sends to the queue meanwhile."""
        sent = self._sent.setdefault(queue, asyncio.Event())
        sent.clear()
        await wait_at_most(seconds, sent.wait())

    async def close(self) -> None:
        """Close every client."""
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                await client.close()
        self._clients.clear()
