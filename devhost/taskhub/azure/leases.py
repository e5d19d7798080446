"""In-process state of the Azure Storage task hub: received messages, leases, polling.

Azure queues know nothing of instances, so the grouping happens here: received control
messages wait in an :class:`Inbox` by instance until that instance is free to lease.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from devhost.clock import wait_at_most
from devhost.engine.protocol import HistoryEvent
from devhost.taskhub.azure.queues import Received
from devhost.taskhub.azure.rows import StoredInstance
from devhost.taskhub.base import ActivityTask, Message

# How many instances the inbox remembers the age of (ended ones are forgotten at once).
MAX_REMEMBERED_AGES = 100_000


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
    history: list[HistoryEvent]
    released: bool = False


class Inbox:
    """Received control messages grouped by instance, and the set of leased instances."""

    def __init__(self) -> None:
        self._by_instance: dict[str, dict[str, BufferedMessage]] = {}
        self.leased: set[str] = set()
        # Instances in the order this process first met them: the oldest is worked
        # first, so started work finishes before new work is taken on (a step of an old
        # instance never waits behind every younger instance's work).
        self._age: OrderedDict[str, int] = OrderedDict()
        self._ages = itertools.count()

    def _met(self, instance_id: str) -> None:
        if instance_id not in self._age:
            self._age[instance_id] = next(self._ages)
            while len(self._age) > MAX_REMEMBERED_AGES:
                self._age.popitem(last=False)  # long forgotten: it counts as new again

    def forget(self, instance_id: str) -> None:
        """The instance ended (or is gone): a message for it later counts as new work."""
        self._age.pop(instance_id, None)

    def add(self, entry: BufferedMessage) -> None:
        """Buffer a received message; a re-delivered copy replaces the stale one (its
        receipt is the valid one now)."""
        self._met(entry.message.instance_id)
        entries = self._by_instance.setdefault(entry.message.instance_id, {})
        entries[entry.message.message_id] = entry

    def put_back(self, instance_id: str, entries: list[BufferedMessage]) -> None:
        """Return messages of a lease that did not commit (a newer copy wins)."""
        self._met(instance_id)
        buffered = self._by_instance.setdefault(instance_id, {})
        for entry in entries:
            buffered.setdefault(entry.message.message_id, entry)

    def take_ready(self, now: datetime, loop_now: float
                   ) -> tuple[str, list[BufferedMessage]] | None:
        """Lease the oldest unleased instance with due messages and take those messages."""
        chosen: str | None = None
        for instance_id in list(self._by_instance):
            entries = self._by_instance[instance_id]
            for message_id in [m for m, e in entries.items() if e.expires <= loop_now]:
                del entries[message_id]  # its receipt ran out: the queue delivers it again
            if not entries:
                del self._by_instance[instance_id]
                continue
            self._met(instance_id)  # (again, if it was forgotten meanwhile)
            if instance_id in self.leased or (
                    chosen is not None and self._age[instance_id] >= self._age[chosen]):
                continue
            if any(e.message.visible_at is None or e.message.visible_at <= now
                   for e in entries.values()):
                chosen = instance_id
        if chosen is None:
            return None
        entries = self._by_instance[chosen]
        due = [e for e in entries.values()
               if e.message.visible_at is None or e.message.visible_at <= now]
        for entry in due:
            del entries[entry.message.message_id]
        if not entries:
            del self._by_instance[chosen]
        self.leased.add(chosen)
        return chosen, due

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
    # Event-loop time of the last receive: a receive waits for the backoff since the last
    # one, unless this process sent to the queue meanwhile, so a wake-up alone never
    # costs an empty receive.
    received_at: float = -math.inf
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
        self.received_at = -math.inf
        self.notify()

    def due_in(self, now: float) -> float:
        """Seconds until the next receive is due (0: now)."""
        return max(0.0, self.received_at + self.backoff - now)

    def received(self, count: int) -> None:
        """Note how many messages a receive returned: none makes the next wait longer."""
        self.received_at = asyncio.get_running_loop().time()
        if count:
            self.backoff = self.minimum
        else:
            self.backoff = min(self.maximum, self.backoff * 2)

    async def wait(self, seconds: float) -> None:
        """Wait ``seconds`` or until notified."""
        await wait_at_most(seconds, self._pulse.wait())


class HistoryCache:
    """What this process last committed per instance, so its next episode need not read
    the partition back (the record's ETag still guards the commit: if another writer got
    in between, the commit fails with LockLost and the entry is dropped)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[StoredInstance, list[HistoryEvent]]] = (
            OrderedDict())

    def get(self, instance_id: str) -> tuple[StoredInstance, list[HistoryEvent]] | None:
        """The cached record and a copy of the history list, or None."""
        found = self._entries.get(instance_id)
        if found is None:
            return None
        self._entries.move_to_end(instance_id)
        stored, history = found
        return copy.copy(stored), list(history)

    def put(self, instance_id: str, stored: StoredInstance,
            history: list[HistoryEvent]) -> None:
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
