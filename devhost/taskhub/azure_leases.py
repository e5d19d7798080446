"""In-process state of the Azure Storage task hub: received messages, leases, polling.

Azure queues know nothing of instances, so the grouping happens here: received control
messages wait in an :class:`Inbox` by instance until that instance is free to lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devhost.taskhub.azure_queues import Received
from devhost.taskhub.azure_tables import StoredInstance
from devhost.taskhub.base import ActivityTask, Message


@dataclass
class BufferedMessage:
    """A received control message; ``expires`` (event-loop time) is when to give up its
    receipt because the queue's visibility timeout is about to run out."""

    message: Message
    received: Received
    expires: float


@dataclass
class BufferedTask:
    """A received activity task waiting for, or leased to, a fetcher."""

    task: ActivityTask
    received: Received
    expires: float


@dataclass
class OrchestrationLease:
    """A leased instance: its messages (with receipts), the record as read (ETag) and the
    history as read (kept apart from the work item's copy, for the cache)."""

    instance_id: str
    stored: StoredInstance | None
    entries: list[BufferedMessage]
    history: list[dict[str, Any]]
    released: bool = False


class Inbox:
    """Received control messages grouped by instance, and the set of leased instances."""

    def __init__(self) -> None:
        self._by_instance: dict[str, dict[str, BufferedMessage]] = {}
        self.leased: set[str] = set()

    def add(self, entry: BufferedMessage) -> None:
        """Buffer a received message; a re-delivered copy replaces the stale one (its
        receipt is the valid one now)."""
        entries = self._by_instance.setdefault(entry.message.instance_id, {})
        entries[entry.message.message_id] = entry

    def put_back(self, instance_id: str, entries: list[BufferedMessage]) -> None:
        """Return messages of a lease that did not commit (a newer copy wins)."""
        buffered = self._by_instance.setdefault(instance_id, {})
        for entry in entries:
            buffered.setdefault(entry.message.message_id, entry)

    def take_ready(self, now: datetime, loop_now: float
                   ) -> tuple[str, list[BufferedMessage]] | None:
        """Lease the first unleased instance with due messages and take those messages."""
        for instance_id in list(self._by_instance):
            entries = self._by_instance[instance_id]
            for message_id in [m for m, e in entries.items() if e.expires <= loop_now]:
                del entries[message_id]  # its receipt ran out: the queue delivers it again
            if instance_id in self.leased:
                continue
            due = [e for e in entries.values()
                   if e.message.visible_at is None or e.message.visible_at <= now]
            for entry in due:
                del entries[entry.message.message_id]
            if not entries:
                del self._by_instance[instance_id]
            if due:
                self.leased.add(instance_id)
                return instance_id, due
        return None

    def next_due_in(self, now: datetime) -> float:
        """Seconds until the first held (early) message of an unleased instance is due."""
        waits = [(e.message.visible_at - now).total_seconds()
                 for instance_id, entries in self._by_instance.items()
                 if instance_id not in self.leased
                 for e in entries.values() if e.message.visible_at is not None]
        return max(0.0, min(waits)) if waits else math.inf


@dataclass
class Poller:
    """One queue's receive discipline: one receive in flight, idle backoff, wake-ups."""

    minimum: float
    maximum: float
    busy: bool = False
    backoff: float = 0.0
    _pulse: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.backoff = self.minimum

    def notify(self) -> None:
        """Wake every waiter so it looks at the buffer again."""
        self._pulse.set()
        self._pulse = asyncio.Event()

    def work_arrived(self) -> None:
        """Work is (likely) there: poll again at once."""
        self.backoff = self.minimum
        self.notify()

    def received(self, count: int) -> None:
        """Note how many messages a receive returned: none makes the next wait longer."""
        if count:
            self.backoff = self.minimum
        else:
            self.backoff = min(self.maximum, self.backoff * 2)

    async def wait(self, seconds: float) -> None:
        """Wait ``seconds`` or until notified."""
        pulse = self._pulse
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(pulse.wait(), timeout=max(seconds, 0.0))


class HistoryCache:
    """What this process last committed per instance, so its next episode need not read
    the partition back (the record's ETag still guards the commit: if another writer got
    in between, the commit fails with LockLost and the entry is dropped)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[StoredInstance, list[dict[str, Any]]]] = (
            OrderedDict())

    def get(self, instance_id: str) -> tuple[StoredInstance, list[dict[str, Any]]] | None:
        """The cached record and a copy of the history list, or None."""
        found = self._entries.get(instance_id)
        if found is None:
            return None
        self._entries.move_to_end(instance_id)
        stored, history = found
        return copy.copy(stored), list(history)

    def put(self, instance_id: str, stored: StoredInstance,
            history: list[dict[str, Any]]) -> None:
        """Remember the state a commit left behind."""
        if self._size <= 0:
            return
        self._entries[instance_id] = (stored, history)
        self._entries.move_to_end(instance_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def drop(self, instance_id: str) -> None:
        """Forget an instance (changed here by other means, or its state unknown)."""
        self._entries.pop(instance_id, None)
