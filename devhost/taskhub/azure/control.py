"""The control queue: where an instance's messages wait, and this process's inbox of them.

Sending (kept or queued), the result batches of activities, receiving into the inbox with
early timers held back in the queue, and deleting what a commit consumed. The hub leases
instances from the inbox; this module only moves messages between queue and inbox.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from devhost.clock import Clock
from devhost.errors import StorageUnavailable
from devhost.taskhub.azure.common import MAX_VISIBILITY_SECONDS
from devhost.taskhub.azure.leases import BufferedMessage, Inbox, Poller
from devhost.taskhub.azure.queues import (
    QueueChannel,
    Received,
    batch_body,
    message_body,
    messages_from_body,
)
from devhost.taskhub.base import Message

__all__ = ["ControlQueue", "queue_messages"]

log = logging.getLogger(__name__)


class ControlQueue:
    """The control queue of one task hub and the inbox this process fills from it."""

    def __init__(self, channel: QueueChannel, poll: Poller, clock: Clock, *,
                 visibility_seconds: int, batch: int) -> None:
        """Move messages through ``channel``, leasing them for ``visibility_seconds``."""
        self.channel = channel
        self.poll = poll
        self.clock = clock
        self.inbox = Inbox()
        self.visibility = visibility_seconds
        self._batch = batch
        # Receipts are given up a little before they run out, so a handed-out message can
        # still be deleted; early timers due within the hold window wait in the buffer.
        self._expiry_margin = visibility_seconds * 0.1
        self._hold_seconds = min(1.0, visibility_seconds / 3)
        # Activity results waiting for the send in flight for their instance.
        self._result_batches: dict[str, list[tuple[Message, asyncio.Future[None]]]] = {}

    async def create(self) -> None:
        """Create the queue if it does not exist."""
        await self.channel.create()

    def release_lease(self, instance_id: str) -> None:
        """The instance is no longer leased: its messages may be handed out again."""
        self.inbox.leased.discard(instance_id)
        self.poll.notify()

    def delay_seconds(self, visible_at: datetime | None) -> int:
        """Seconds from now until ``visible_at`` (0 for now), as a queue delay."""
        if visible_at is None:
            return 0
        seconds = (visible_at - self.clock.now()).total_seconds()
        # Rounded down: a message that shows up early is held until due, never late.
        return max(0, min(MAX_VISIBILITY_SECONDS, int(seconds)))

    async def send(self, messages: list[Message], keep: bool = False) -> None:
        """Send control messages; with ``keep``, lease those due now to this process.

        The engine's own work (outbound messages of a commit, activity results) is kept:
        sent invisible for the visibility timeout and put in this process's inbox with
        the receipt the send returns, as if received, so no receive or poll stands on a
        sequence's critical path. Another host sees such a message only if this one does
        not consume it in time.
        Messages from ``send`` and ``create_instance`` (a client's) stay in the queue for
        whichever host takes them first.
        """
        async def send_in_order(group: list[Message]) -> None:
            for message in group:
                delay = self.delay_seconds(message.visible_at)
                if not keep or delay > 0:
                    await self.channel.send(message_body(message), delay)
                else:
                    await self.send_kept([message])

        # Messages for one instance go one after another (queues are roughly FIFO, so
        # their order is mostly kept); different instances in parallel.
        groups: dict[str, list[Message]] = {}
        for message in messages:
            groups.setdefault(message.instance_id, []).append(message)
        queued = any(not keep or self.delay_seconds(m.visible_at) > 0 for m in messages)
        await asyncio.gather(*(send_in_order(group) for group in groups.values()))
        if queued:
            self.poll.work_arrived()

    async def send_kept(self, messages: list[Message]) -> None:
        """Send messages for one instance, due now, as one queue message leased to this
        process, and put them in the inbox (see ``send``)."""
        body = message_body(messages[0]) if len(messages) == 1 else batch_body(messages)
        received = await self.channel.send(body, lease_seconds=self.visibility)
        assert received is not None
        expires = asyncio.get_running_loop().time() + self.visibility - self._expiry_margin
        for message in messages:
            self.inbox.add(BufferedMessage(message, received, expires))
        self.poll.notify()

    async def send_result(self, result: Message) -> None:
        """Send an activity's result, kept, together with results for the same instance
        that finish while a send for it is in flight.

        A group commit per instance: the first result goes at once; results arriving
        meanwhile wait for it and then go together in one message, so a fan-in sends and
        deletes a handful of messages, not one per activity. A lone result waits for
        nothing.
        """
        waiting = self._result_batches.get(result.instance_id)
        if waiting is not None:
            sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            waiting.append((result, sent))
            await sent
            return
        batch: list[tuple[Message, asyncio.Future[None] | None]] = [(result, None)]
        self._result_batches[result.instance_id] = waiting = []
        try:
            while batch:
                await self.send_kept([message for message, _ in batch])
                for _, done in batch:
                    if done is not None and not done.done():
                        done.set_result(None)
                batch, waiting[:] = list(waiting), []
        except BaseException as error:
            # Nothing after the failed send was sent: every caller retries its own result.
            for _, done in batch + waiting:
                if done is not None and not done.done():
                    done.set_exception(StorageUnavailable(f"result not sent: {error}"))
            raise
        finally:
            del self._result_batches[result.instance_id]

    async def receive(self) -> bool:
        """Receive one batch into the inbox; False when the queue had nothing visible."""
        poll = self.poll
        poll.busy = True
        try:
            received = await self.channel.receive(self._batch, self.visibility)
        finally:
            poll.busy = False
            poll.notify()
        poll.received(len(received))
        now = self.clock.now()
        expires = asyncio.get_running_loop().time() + self.visibility - self._expiry_margin
        early: list[tuple[Received, int]] = []
        for item in received:
            try:
                messages = messages_from_body(item.body)
            except (KeyError, TypeError, ValueError) as err:
                log.warning("dropping malformed message %s: %s", item.queue_message_id, err)
                await self.channel.delete(item)
                continue
            wait = max(0.0 if message.visible_at is None else
                       (message.visible_at - now).total_seconds() for message in messages)
            if wait > self._hold_seconds:
                early.append((item, min(MAX_VISIBILITY_SECONDS, max(1, int(wait)))))
            else:
                for message in messages:
                    self.inbox.add(BufferedMessage(message, item, expires))
        if early:
            await asyncio.gather(*(self.channel.release(item, delay) for item, delay in early))
        poll.notify()
        return bool(received)

    async def delete_consumed(self, entries: list[BufferedMessage]) -> None:
        """Delete the queue messages a committed episode consumed.

        A failed delete only means a re-delivery the engine recognises, so it never turns
        a successful commit into an error.
        """
        results = await asyncio.gather(*(self.channel.delete(received)
                                         for received in queue_messages(entries)),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, StorageUnavailable):
                log.info("consumed message not deleted, it will come again: %s", result)
            elif isinstance(result, BaseException):
                raise result



def queue_messages(entries: list[BufferedMessage]) -> list[Received]:
    """The queue messages behind buffered entries, each once (a batch carries several)."""
    return list({entry.received.queue_message_id: entry.received for entry in entries}.values())


