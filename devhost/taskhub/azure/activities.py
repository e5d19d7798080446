"""Activity tasks on the ``{hub}-workitems`` queue: batched receive, lease, delete, release.

Tasks are received up to a batch at a time and handed out one per fetch. A task that waited
in the buffer for half its visibility timeout is renewed before it is handed out, so the
activity has a whole visibility timeout to run before the queue would deliver it again.
"""

from __future__ import annotations

import asyncio
import logging
import math

from devhost.errors import StorageUnavailable
from devhost.taskhub.azure.common import MAX_VISIBILITY_SECONDS
from devhost.taskhub.azure.leases import BufferedTask, Poller
from devhost.taskhub.azure.queues import QueueChannel, task_body, task_from_body
from devhost.taskhub.base import ActivityTask, ActivityWorkItem

log = logging.getLogger(__name__)


class ActivityQueue:
    """The activity side of the Azure Storage task hub."""

    def __init__(self, channel: QueueChannel, poller: Poller, *, visibility_seconds: int,
                 expiry_margin: float, batch: int) -> None:
        self._channel = channel
        self._poll = poller
        self._visibility = visibility_seconds
        self._expiry_margin = expiry_margin
        self._batch = batch
        self._tasks: list[BufferedTask] = []

    async def create(self) -> None:
        """Create the queue if it does not exist."""
        await self._channel.create()

    async def send(self, tasks: list[ActivityTask]) -> None:
        """Queue tasks (in parallel), keep them leased here, and wake this process's fetcher.

        Each task is sent invisible for the visibility timeout and buffered with the
        receipt the send returns, as if received: this process runs it without a receive
        round trip or a wait for the next poll. Another host gets it only if this one does
        not finish it in time, as with a received task.
        """
        loop = asyncio.get_running_loop()

        async def send_one(task: ActivityTask) -> None:
            received = await self._channel.send(task_body(task), lease_seconds=self._visibility)
            assert received is not None
            # Each task is handed out as soon as it is sent: a fan-out's first activities
            # run while the rest are still being sent.
            expires = loop.time() + self._visibility - self._expiry_margin
            self._tasks.append(BufferedTask(task, received, expires))
            self._poll.notify()

        await asyncio.gather(*(send_one(task) for task in tasks))

    async def fetch(self, wait_seconds: float) -> ActivityWorkItem | None:
        """Lease the oldest received task, receiving more as needed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        looked = False  # even a fetch that may not wait looks at the queue once
        poll = self._poll
        while True:
            item = await self._take()
            if item is not None:
                return item
            remaining = deadline - loop.time()
            if remaining <= 0 and (looked or poll.busy):
                return None
            if not poll.busy and (remaining <= 0 or poll.due_in(loop.time()) == 0):
                looked = True
                if await self._receive():
                    continue
            # Someone else is receiving, or the next receive (see Poller) is not due.
            next_receive = poll.maximum if poll.busy else poll.due_in(loop.time())
            await poll.wait(min(max(0.0, deadline - loop.time()), next_receive))

    async def _take(self) -> ActivityWorkItem | None:
        loop = asyncio.get_running_loop()
        while True:
            # Tasks whose receipts ran out are the queue's again: it hands them out anew.
            self._tasks = [t for t in self._tasks if t.expires > loop.time()]
            if not self._tasks:
                return None
            buffered = self._tasks.pop(0)
            if buffered.expires - loop.time() >= self._visibility / 2:
                break
            try:
                renewed = await self._channel.renew(buffered.received, self._visibility)
            except BaseException:
                self._tasks.insert(0, buffered)
                raise
            if renewed is not None:
                buffered.received = renewed
                buffered.expires = loop.time() + self._visibility - self._expiry_margin
                break
            # The receipt was stale already: the queue has the task again; skip this copy.
        return ActivityWorkItem(task=buffered.task, lease=buffered,
                                dequeue_count=buffered.received.dequeue_count)

    async def _receive(self) -> bool:
        self._poll.busy = True
        try:
            received = await self._channel.receive(self._batch, self._visibility)
        finally:
            self._poll.busy = False
            self._poll.notify()
        self._poll.received(len(received))
        expires = asyncio.get_running_loop().time() + self._visibility - self._expiry_margin
        for item in received:
            try:
                task = task_from_body(item.body)
            except (KeyError, TypeError, ValueError) as err:
                log.warning("dropping malformed activity task %s: %s", item.queue_message_id, err)
                await self._channel.delete(item)
                continue
            self._tasks.append(BufferedTask(task, item, expires))
        self._poll.notify()
        return bool(received)

    async def renew(self, item: ActivityWorkItem) -> bool:
        """Extend a handed-out task's invisibility by a whole lease; False if it was lost."""
        buffered = _buffered(item)
        renewed = await self._channel.renew(buffered.received, self._visibility)
        if renewed is None:
            return False
        buffered.received = renewed
        buffered.expires = asyncio.get_running_loop().time() + self._visibility
        return True

    async def delete(self, item: ActivityWorkItem) -> None:
        """Delete a finished task; a failure only means it will run once more."""
        buffered = _buffered(item)
        try:
            await self._channel.delete(buffered.received)
        except StorageUnavailable as err:
            log.info("finished task not deleted, it will run again: %s", err)

    async def abandon(self, item: ActivityWorkItem, retry_after_seconds: float) -> None:
        """Hand the task out again at once, or make it visible after the delay."""
        buffered = _buffered(item)
        if retry_after_seconds <= 0:
            self._tasks.insert(0, buffered)  # its receipt is still good
            self._poll.notify()
            return
        delay = min(MAX_VISIBILITY_SECONDS, math.ceil(retry_after_seconds))
        await self._channel.release(buffered.received, delay)


def _buffered(item: ActivityWorkItem) -> BufferedTask:
    """The buffered task this queue handed out as ``item``."""
    assert isinstance(item.lease, BufferedTask), "a work item of another task hub"
    return item.lease
