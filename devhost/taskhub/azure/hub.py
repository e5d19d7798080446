"""The task hub on Azure Storage tables and queues (Azurite locally, a real account unchanged).

Layout (see tables.py, queues.py and blobs.py; names in ``common.StorageNames``): table
``{hub}Devhost`` holds one partition per instance (record row plus history rows); queue
``{hub}-devhost-control`` carries orchestration messages, ``{hub}-devhost-workitems``
activity tasks; container ``{hub}-devhost-payloads`` the texts too big for a queue message
or a table property. None of these names is one Durable Task's own provider uses.

Limits (``devhost.taskhub.limits``, the same in the memory hub): a value over the cap is
refused with ``PayloadTooLarge`` before anything is written, and a refused commit leaves
its work item leased, so the engine can fail that one instance instead.

Leases. A fetch receives control messages in batches into an in-process buffer, grouped by
instance. Leasing an instance takes its due messages out of the buffer, marks the instance
leased (so one task works it at a time; messages arriving meanwhile wait in the buffer for
its next fetch) and reads its record and history in one partition query. The lease is the
instance, the pop receipts of its messages and the record's ETag. Completing commits history
and record in one table transaction conditional on that ETag (``LockLost`` otherwise), and
only then deletes the consumed messages.

At least once. A received message stays invisible for ``visibility_timeout`` seconds. If it
is not deleted in time (a crash, a very long episode) it comes back; a delete with a stale
receipt is ignored, and the engine drops the re-delivered event by its MessageId. Buffered
messages whose receipts are about to run out are dropped from the buffer: the queue hands
them out again.

Timers are messages sent invisible until their ``visible_at`` (at most 7 days at a time).
One received early is made invisible again for the remaining time, or, when it is due within
about a second, held in the buffer and handed out when due.

Polling. One receive per queue is in flight at a time; other fetchers wait for it. An empty
receive makes the next one wait longer (``min_poll_seconds`` doubling up to
``max_poll_seconds``); any message received, or sent by this process, resets that. While
there is work nobody sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import math

from azure.data.tables.aio import TableClient
from azure.storage.blob.aio import ContainerClient
from azure.storage.queue.aio import QueueClient

from devhost.clock import Clock, SystemClock
from devhost.engine.protocol import EventType, HistoryEvent
from devhost.errors import InstanceExists, LockLost, StorageUnavailable
from devhost.taskhub.azure.activities import ActivityQueue
from devhost.taskhub.azure.blobs import BlobStore
from devhost.taskhub.azure.common import (
    MAX_VISIBILITY_SECONDS,
    ClientOptions,
    StorageNames,
)
from devhost.taskhub.azure.connection import loopback_only, resolve_connection_string
from devhost.taskhub.azure.control import ControlQueue, queue_messages
from devhost.taskhub.azure.leases import (
    BufferedMessage,
    HistoryCache,
    OrchestrationLease,
    Poller,
)
from devhost.taskhub.azure.queues import QueueChannel
from devhost.taskhub.azure.tables import InstanceTable
from devhost.taskhub.base import (
    ALL_INSTANCES,
    ActivityWorkItem,
    Commit,
    InstanceQuery,
    InstanceRecord,
    Message,
    OrchestrationWorkItem,
    TaskHub,
)
from devhost.taskhub.limits import check_commit, check_messages, check_record

__all__ = ["AzureStorageTaskHub"]

log = logging.getLogger(__name__)

MAX_BATCH = 32  # the most messages one queue receive may return
_CREATE_ATTEMPTS = 5


class AzureStorageTaskHub(TaskHub):
    """A task hub kept in an Azure Storage account's tables and queues.

    Queue visibility is wall-clock time, so ``clock`` should be the system clock except in
    tests that only look at timestamps. ``history_cache_size`` instances keep their last
    committed state in memory (0 turns that off and reads every episode from the table).
    """

    def __init__(
        self,
        connection_string: str,
        hub_name: str,
        clock: Clock | None = None,
        *,
        visibility_timeout: float = 60.0,
        batch_size: int = MAX_BATCH,
        min_poll_seconds: float = 0.01,
        max_poll_seconds: float = 0.5,
        retry_total: int = 2,
        connection_timeout: float = 2.0,
        read_timeout: float = 10.0,
        history_cache_size: int = 1000,
    ) -> None:
        self.clock = clock or SystemClock()
        self.hub_name = hub_name
        self.names = StorageNames.for_hub(hub_name)
        connection = resolve_connection_string(connection_string)
        # The account and lease time the host's triggers and bindings share with the hub.
        self.connection_string = connection
        self.visibility_timeout = visibility_timeout
        options = ClientOptions(retry_total=retry_total, connection_timeout=connection_timeout,
                                read_timeout=read_timeout,
                                use_env_settings=not loopback_only(connection))
        self._clients: list[TableClient | QueueClient | ContainerClient] = []
        container = ContainerClient.from_connection_string(
            connection, self.names.payloads_container, **options.queue_kwargs())
        self._clients.append(container)
        self._blobs = BlobStore(container)
        self._table = InstanceTable(
            self._table_client(connection, self.names.instances_table, options), self._blobs)
        self._visibility = max(1, math.ceil(visibility_timeout))
        self._batch = max(1, min(MAX_BATCH, batch_size))
        self._control = ControlQueue(
            QueueChannel(self._queue_client(connection, self.names.control_queue, options),
                         self._blobs),
            Poller(min_poll_seconds, max_poll_seconds), self.clock,
            visibility_seconds=self._visibility, batch=self._batch)
        self._cache = HistoryCache(history_cache_size)
        self._activities = ActivityQueue(
            QueueChannel(self._queue_client(connection, self.names.work_item_queue, options),
                         self._blobs),
            Poller(min_poll_seconds, max_poll_seconds),
            visibility_seconds=self._visibility, expiry_margin=self._visibility * 0.1,
            batch=self._batch)

    def _table_client(self, connection: str, name: str, options: ClientOptions) -> TableClient:
        client = TableClient.from_connection_string(connection, name, **options.table_kwargs())
        self._clients.append(client)
        return client

    def _queue_client(self, connection: str, name: str, options: ClientOptions) -> QueueClient:
        client = QueueClient.from_connection_string(connection, name, **options.queue_kwargs())
        self._clients.append(client)
        return client

    async def start(self) -> None:
        """Create the table, queues and blob container that do not exist yet."""
        await asyncio.gather(self._table.create(), self._blobs.create(),
                             self._control.create(), self._activities.create())

    async def close(self) -> None:
        """Close every storage client."""
        for client in self._clients:
            with contextlib.suppress(Exception):
                await client.close()

    async def send(self, messages: list[Message]) -> None:
        """Queue messages for their instances, each invisible until its ``visible_at``."""
        check_messages(messages)
        await self._control.send(messages)

    # Instances -----------------------------------------------------------------------------

    async def create_instance(self, record: InstanceRecord, start: Message) -> None:
        """Write the record (replacing an ended one), then queue the start message.

        If the start message cannot be sent the new record is deleted again, so a retry
        does not meet ``InstanceExists`` for an instance that would never start.
        """
        check_record(record)
        check_messages([start])
        self._cache.drop(record.instance_id)
        for _attempt in range(_CREATE_ATTEMPTS):
            # Insert first: a new id (the usual case) then costs one call, not two.
            old = None
            written = await self._table.insert_record(record)
            if written is not None:
                break
            old = await self._table.read_record(record.instance_id)
            if old is None:
                continue  # purged in between: insert again
            if not old.record.runtime_status.has_ended:
                raise InstanceExists(record.instance_id)
            written = await self._table.replace_record(old, record)
            if written is not None:
                break
        else:  # another creator won every race: it exists now
            raise InstanceExists(record.instance_id)
        try:
            await self._control.send([start])
        except BaseException:
            with contextlib.suppress(StorageUnavailable):
                await self._table.delete_record(written)
            raise
        # The first episode finds the new instance in the cache instead of reading its
        # partition back; its ETag guards the commit as for any cached state.
        written.record = copy.deepcopy(record)
        self._cache.put(record.instance_id, written, [])
        if old is not None:
            await self._forget_old_history(record.instance_id, old.generation + 1)

    async def _forget_old_history(self, instance_id: str, generation: int) -> None:
        # Old generations are invisible already; deleting them only saves space.
        try:
            await self._table.delete_old_generations(instance_id, generation)
        except StorageUnavailable as err:
            log.info("old history of %s left for later: %s", instance_id, err)

    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """The instance's record, or None."""
        stored = await self._table.read_record(instance_id)
        return None if stored is None else stored.record

    async def get_history(self, instance_id: str) -> list[HistoryEvent]:
        """The instance's history (empty for an unknown instance)."""
        _stored, history = await self._table.read(instance_id)
        return history

    async def query_instances(self, query: InstanceQuery = ALL_INSTANCES
                              ) -> list[InstanceRecord]:
        """Records matching ``query``, oldest first."""
        return await self._table.query(query)

    async def purge_instance(self, instance_id: str) -> bool:
        """Delete the record and every history row; False when there was no record."""
        self._cache.drop(instance_id)
        self._control.inbox.forget(instance_id)
        return await self._table.purge(instance_id)

    # Orchestration work --------------------------------------------------------------------

    async def fetch_orchestration_work(self, wait_seconds: float) -> OrchestrationWorkItem | None:
        """Lease the first buffered instance with due messages, receiving more as needed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        poll = self._control.poll
        looked = False  # even a fetch that may not wait looks at the queue once
        while True:
            now = loop.time()
            must_look = not looked and deadline <= now
            if not poll.busy and (must_look or poll.due_in(now) == 0):
                # Also while the inbox has work: work this process keeps (see
                # ControlQueue.send) could fill it for good, and the queue, with new
                # orchestrations and external events, would wait until it ran dry.
                looked = True
                await self._control.receive()
            taken = self._control.inbox.take_ready(self.clock.now(), loop.time())
            if taken is not None:
                return await self._open_lease(*taken)
            remaining = deadline - loop.time()
            if remaining <= 0 and (looked or poll.busy):
                return None
            due_in = self._control.inbox.next_due_in(self.clock.now())
            # Someone else is receiving (look again when it is done), or the next
            # receive is not due yet: wait for either, or for news in the inbox.
            next_receive = poll.maximum if poll.busy else poll.due_in(loop.time())
            await poll.wait(min(remaining, due_in, next_receive))

    async def _open_lease(self, instance_id: str, entries: list[BufferedMessage]
                          ) -> OrchestrationWorkItem:
        try:
            cached = self._cache.get(instance_id)
            stored, history = cached if cached else await self._table.read(instance_id)
        except BaseException:
            self._control.inbox.put_back(instance_id, entries)
            self._control.release_lease(instance_id)
            raise
        # ExecutionStarted first: a queue is only roughly FIFO, and an event raised right
        # after the start may overtake it.
        messages = sorted((e.message for e in entries),
                          key=lambda m: m.event.get("EventType") != EventType.EXECUTION_STARTED)
        return OrchestrationWorkItem(
            instance_id=instance_id,
            messages=messages,
            record=None if stored is None else copy.deepcopy(stored.record),
            history=list(history),
            lease=OrchestrationLease(instance_id, stored, entries, history),
        )

    async def complete_orchestration_work(self, item: OrchestrationWorkItem,
                                          commit: Commit) -> None:
        """Send outbound work, commit history and record (ETag-checked), release the lease,
        delete the consumed messages.

        Outbound messages go first so a crash after the commit cannot lose them; if the
        commit then fails they are duplicates the engine drops. On any failure the
        consumed messages go back to the buffer for the next fetch. A commit without a
        record writes nothing: the messages are only deleted.
        """
        lease = _lease_of(item)
        record, new_history, replace_history = (commit.record, commit.new_history,
                                                commit.replace_history)
        if lease.released:
            raise LockLost(lease.instance_id)
        check_commit(lease.instance_id, commit)  # refused: nothing written, still leased
        lease.released = True
        if record is None:
            self._control.release_lease(lease.instance_id)
            await self._control.delete_consumed(lease.entries)
            return
        try:
            plan, _, _ = await asyncio.gather(
                self._table.prepare_commit(lease.stored, record, new_history, replace_history),
                self._control.send(commit.outbound, keep=True),
                self._activities.send(commit.activities))
            stored = await self._table.submit(plan)
        except BaseException:
            # Lost, failed, or unknown outcome (a timeout): read the instance afresh next time.
            self._cache.drop(lease.instance_id)
            self._control.inbox.put_back(lease.instance_id, lease.entries)
            raise
        finally:
            self._control.release_lease(lease.instance_id)
        if record.runtime_status.has_ended:
            self._control.inbox.forget(lease.instance_id)
        # Copies: the engine's objects may change after this call; the cache must not.
        stored.record = copy.deepcopy(stored.record)
        history = [] if replace_history else lease.history
        self._cache.put(lease.instance_id, stored, history + copy.deepcopy(new_history))
        await self._control.delete_consumed(lease.entries)
        if replace_history and lease.stored is not None:
            await self._forget_old_history(lease.instance_id, plan.generation)

    async def abandon_orchestration_work(self, item: OrchestrationWorkItem,
                                         retry_after_seconds: float = 0) -> None:
        """Release the lease; its messages come back after ``retry_after_seconds``."""
        lease = _lease_of(item)
        if lease.released:
            return
        lease.released = True
        try:
            if retry_after_seconds <= 0:
                # The receipts are still good: hand the messages out again from memory.
                self._control.inbox.put_back(lease.instance_id, lease.entries)
            else:
                delay = min(MAX_VISIBILITY_SECONDS, math.ceil(retry_after_seconds))
                await asyncio.gather(*(self._control.channel.release(received, delay)
                                       for received in queue_messages(lease.entries)))
        finally:
            self._control.release_lease(lease.instance_id)

    # Activity work -------------------------------------------------------------------------

    async def fetch_activity_work(self, wait_seconds: float) -> ActivityWorkItem | None:
        """Lease the oldest received activity task, receiving more as needed."""
        return await self._activities.fetch(wait_seconds)

    @property
    def activity_renewal_seconds(self) -> float:  # type: ignore[override]
        """Renew a running activity's lease at a third of the visibility timeout."""
        return self._visibility / 3

    async def renew_activity_work(self, item: ActivityWorkItem) -> bool:
        """Keep a long-running activity's task invisible, so it is not run twice."""
        return await self._activities.renew(item)

    async def complete_activity_work(self, item: ActivityWorkItem, result: Message) -> None:
        """Send the result to the instance, then delete the task (``PayloadTooLarge``, with
        the task still leased, for a result over the limit)."""
        check_messages([result], "an activity result")
        await self._control.send_result(result)
        await self._activities.delete(item)

    async def abandon_activity_work(self, item: ActivityWorkItem,
                                    retry_after_seconds: float = 0) -> None:
        """Make the task visible again after ``retry_after_seconds``."""
        await self._activities.abandon(item, retry_after_seconds)


def _lease_of(item: OrchestrationWorkItem) -> OrchestrationLease:
    """The lease this hub put on ``item`` when it handed it out."""
    assert isinstance(item.lease, OrchestrationLease), "a work item of another task hub"
    return item.lease
