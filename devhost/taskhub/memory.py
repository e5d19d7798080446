"""An in-memory task hub on any clock: the fast backend for tests and benchmarks.

It keeps the same promises as the Azure Storage task hub (leases, ETag-checked commits,
at-least-once delivery, the size limits of ``devhost.taskhub.limits``) so both pass one
set of contract tests. With a ``VirtualClock``,
timers fire when the test advances the clock, not when the wall clock says so.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from devhost.clock import Clock, SystemClock, VirtualClock, wait_at_most
from devhost.engine.protocol import HistoryEvent
from devhost.errors import InstanceExists, LockLost
from devhost.taskhub.base import (
    ALL_INSTANCES,
    ActivityTask,
    ActivityWorkItem,
    Commit,
    InstanceQuery,
    InstanceRecord,
    Message,
    OrchestrationWorkItem,
    TaskHub,
)
from devhost.taskhub.limits import check_commit, check_messages, check_record

# How long an idle fetch sleeps at most before looking again under a real clock.
MAX_IDLE_POLL_SECONDS = 1.0


def _own_message(message: Message) -> Message:
    """A copy the caller may change without touching the hub's.

    Shallow on purpose: records, tasks and events are replaced, never mutated, by the engine
    (it builds new event dicts), so copying the top level is enough isolation, and deep
    copies were a measurable share of an in-memory order flow.
    """
    return replace(message, event=message.event.copy())


@dataclass
class _Queued:
    """A message or task with its place in line and the moment it becomes visible."""

    order: int
    visible_at: datetime | None
    payload: Any = field(compare=False)
    # When the message was due to arrive (its send time, or its fire time for a timer):
    # a lease hands messages out in that order; see ``_lease``.
    due: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PendingWork:
    """What a hub holds at one instant: whether any work is runnable or running now, and
    when the next work that is not visible yet (a timer, a delayed retry) comes due."""

    busy: bool
    next_due: datetime | None


@dataclass
class _Lease:
    """Proof of a lease: which instance, at which version of its record."""

    instance_id: str
    version: int
    message_ids: list[str]


class MemoryTaskHub(TaskHub):
    """Instances, histories and queues in dictionaries, guarded by one condition."""

    def __init__(self, clock: Clock | None = None) -> None:
        """Create an empty hub on ``clock`` (the system clock by default)."""
        self.clock = clock or SystemClock()
        self._records: dict[str, InstanceRecord] = {}
        self._versions: dict[str, int] = {}
        self._histories: dict[str, list[HistoryEvent]] = {}
        self._inboxes: dict[str, list[_Queued]] = {}
        self._leased: set[str] = set()
        self._activities: list[_Queued] = []
        self._leased_activities: dict[str, _Queued] = {}
        self._order = itertools.count()
        self._changed = asyncio.Condition()
        if isinstance(self.clock, VirtualClock):
            self.clock.subscribe(self._notify)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _visible(self, item: _Queued) -> bool:
        return item.visible_at is None or item.visible_at <= self.clock.now()

    def _next_visible_in(self, items: list[_Queued]) -> float | None:
        """Seconds until the earliest invisible item shows, under a real clock."""
        if isinstance(self.clock, VirtualClock):
            return None
        times = [i.visible_at for i in items if i.visible_at is not None]
        if not times:
            return None
        return max(0.0, (min(times) - self.clock.now()).total_seconds())

    async def _wait(self, deadline: float, pending: list[_Queued]) -> bool:
        """Wait for a change (or a timer coming due); False once ``deadline`` passed."""
        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        soonest = self._next_visible_in(pending)
        timeout = min(remaining, MAX_IDLE_POLL_SECONDS if soonest is None else soonest)
        await wait_at_most(max(timeout, 0.001), self._changed.wait())
        return True

    # Watching the work (the test kit runs a host until nothing is left to do) -----------

    def pending_work(self) -> PendingWork:
        """Whether work is visible or leased now, and when the next hidden item shows."""
        now = self.clock.now()
        busy = bool(self._leased or self._leased_activities)
        due: list[datetime] = []
        for item in itertools.chain(self._activities, *self._inboxes.values()):
            if item.visible_at is None or item.visible_at <= now:
                busy = True
            else:
                due.append(item.visible_at)
        return PendingWork(busy, min(due) if due else None)

    async def wait_until_idle(self, seconds: float) -> bool:
        """Return True once no work is visible or leased; False after ``seconds`` of wall
        time with work still under way."""
        deadline = asyncio.get_running_loop().time() + seconds
        async with self._changed:
            while self.pending_work().busy:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    return False
                await wait_at_most(remaining, self._changed.wait())
        return True

    # Instances ---------------------------------------------------------------------------

    async def create_instance(self, record: InstanceRecord, start: Message) -> None:
        """Create the instance (replacing an ended one) and queue its start."""
        check_record(record)
        check_messages([start])
        async with self._changed:
            existing = self._records.get(record.instance_id)
            if existing is not None and not existing.runtime_status.has_ended:
                raise InstanceExists(record.instance_id)
            self._records[record.instance_id] = replace(record)
            self._versions[record.instance_id] = self._versions.get(record.instance_id, 0) + 1
            self._histories[record.instance_id] = []
            self._inboxes[record.instance_id] = []
            self._enqueue(start)
            self._changed.notify_all()

    def _enqueue(self, message: Message) -> None:
        inbox = self._inboxes.setdefault(message.instance_id, [])
        inbox.append(_Queued(next(self._order), message.visible_at, _own_message(message),
                             due=message.visible_at or self.clock.now()))

    async def send(self, messages: list[Message]) -> None:
        """Queue messages for their instances."""
        check_messages(messages)
        async with self._changed:
            for message in messages:
                self._enqueue(message)
            self._changed.notify_all()

    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """A copy of the instance's record."""
        record = self._records.get(instance_id)
        return replace(record) if record else None

    async def get_history(self, instance_id: str) -> list[HistoryEvent]:
        """A copy of the instance's history."""
        return copy.deepcopy(self._histories.get(instance_id, []))

    async def query_instances(self, query: InstanceQuery = ALL_INSTANCES
                              ) -> list[InstanceRecord]:
        """Records matching ``query``, oldest first."""
        found = [replace(r) for r in self._records.values() if query.matches(r)]
        return sorted(found, key=lambda r: r.created_at)

    async def purge_instance(self, instance_id: str) -> bool:
        """Forget the instance entirely."""
        async with self._changed:
            existed = self._records.pop(instance_id, None) is not None
            self._histories.pop(instance_id, None)
            self._inboxes.pop(instance_id, None)
            # A purge is a change: a lease taken before it must not write the instance back.
            self._versions[instance_id] = self._versions.get(instance_id, 0) + 1
            self._changed.notify_all()
            return existed

    # Orchestration work --------------------------------------------------------------------

    def _ready_instance(self) -> str | None:
        """The unleased instance whose oldest visible message waited longest."""
        best: tuple[int, str] | None = None
        # One clock reading per scan, not one per queued message: pending timers stay
        # queued, so each scan passes all of them.
        now = self.clock.now()
        for instance_id, inbox in self._inboxes.items():
            if instance_id in self._leased:
                continue
            for item in inbox:
                if item.visible_at is None or item.visible_at <= now:
                    if best is None or item.order < best[0]:
                        best = (item.order, instance_id)
                    break
        return best[1] if best else None

    async def fetch_orchestration_work(self, wait_seconds: float) -> OrchestrationWorkItem | None:
        """Lease the instance that waited longest for its visible messages."""
        deadline = asyncio.get_running_loop().time() + wait_seconds
        async with self._changed:
            while True:
                instance_id = self._ready_instance()
                if instance_id is not None:
                    return self._lease(instance_id)
                pending = [i for box in self._inboxes.values() for i in box]
                if not await self._wait(deadline, pending):
                    return None

    def _lease(self, instance_id: str) -> OrchestrationWorkItem:
        self._leased.add(instance_id)
        visible = [i for i in self._inboxes[instance_id] if self._visible(i)]
        # Messages go out in the order they were due (ties keep queue order), not the
        # order they were queued: a timer is queued when created but arrives when it
        # fires, so an event raised before the timer came due comes first. The Azure hub
        # gets the same order by holding timers back in the queue until they are due.
        visible.sort(key=lambda i: (i.due or self.clock.now(), i.order))
        messages = [_own_message(i.payload) for i in visible]
        record = self._records.get(instance_id)
        return OrchestrationWorkItem(
            instance_id=instance_id,
            messages=messages,
            record=replace(record) if record else None,
            history=list(self._histories.get(instance_id, [])),
            lease=_Lease(instance_id, self._versions.get(instance_id, 0),
                         [m.message_id for m in messages]),
        )

    async def complete_orchestration_work(self, item: OrchestrationWorkItem,
                                          commit: Commit) -> None:
        """Save ``commit`` if nobody else changed the instance since the fetch."""
        lease = _lease_of(item)
        record = commit.record
        check_commit(lease.instance_id, commit)  # refused: nothing written, still leased
        async with self._changed:
            self._leased.discard(lease.instance_id)
            if record is None:
                self._drop_messages(lease)
                self._changed.notify_all()
                return
            if self._versions.get(lease.instance_id, 0) != lease.version:
                self._changed.notify_all()
                raise LockLost(lease.instance_id)
            for message in commit.outbound:
                self._enqueue(message)
            for task in commit.activities:
                self._activities.append(_Queued(next(self._order), None, replace(task)))
            history = ([] if commit.replace_history
                       else self._histories.get(lease.instance_id, []))
            self._histories[lease.instance_id] = history + list(commit.new_history)
            self._records[lease.instance_id] = replace(record)
            self._versions[lease.instance_id] = lease.version + 1
            self._drop_messages(lease)
            self._changed.notify_all()

    def _drop_messages(self, lease: _Lease) -> None:
        consumed = set(lease.message_ids)
        inbox = self._inboxes.get(lease.instance_id, [])
        self._inboxes[lease.instance_id] = [
            i for i in inbox if i.payload.message_id not in consumed
        ]

    async def abandon_orchestration_work(self, item: OrchestrationWorkItem,
                                         retry_after_seconds: float = 0) -> None:
        """Release the lease; the messages become visible again after the delay."""
        lease = _lease_of(item)
        async with self._changed:
            self._leased.discard(lease.instance_id)
            if retry_after_seconds > 0:
                later = self.clock.now() + timedelta(seconds=retry_after_seconds)
                for queued in self._inboxes.get(lease.instance_id, []):
                    if queued.payload.message_id in lease.message_ids:
                        queued.visible_at = later
            self._changed.notify_all()

    # Activity work -------------------------------------------------------------------------

    async def fetch_activity_work(self, wait_seconds: float) -> ActivityWorkItem | None:
        """Lease the oldest visible activity task."""
        deadline = asyncio.get_running_loop().time() + wait_seconds
        async with self._changed:
            while True:
                for index, queued in enumerate(self._activities):
                    if self._visible(queued):
                        del self._activities[index]
                        task: ActivityTask = queued.payload
                        self._leased_activities[task.message_id] = queued
                        return ActivityWorkItem(task=replace(task), lease=task.message_id)
                if not await self._wait(deadline, self._activities):
                    return None

    async def complete_activity_work(self, item: ActivityWorkItem, result: Message) -> None:
        """Deliver the result to the instance and forget the task."""
        check_messages([result], "an activity result")
        async with self._changed:
            self._leased_activities.pop(str(item.lease), None)
            self._enqueue(result)
            self._changed.notify_all()

    async def abandon_activity_work(self, item: ActivityWorkItem,
                                    retry_after_seconds: float = 0) -> None:
        """Put the task back in line, visible after the delay."""
        async with self._changed:
            queued = self._leased_activities.pop(str(item.lease), None)
            if queued is not None:
                if retry_after_seconds > 0:
                    queued.visible_at = self.clock.now() + timedelta(seconds=retry_after_seconds)
                self._activities.append(queued)
            self._changed.notify_all()


def _lease_of(item: OrchestrationWorkItem) -> _Lease:
    """The lease this hub put on ``item`` when it handed it out."""
    assert isinstance(item.lease, _Lease), "a work item of another task hub"
    return item.lease
