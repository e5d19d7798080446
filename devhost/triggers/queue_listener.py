"""One queue-triggered function fed from its queue, as the queues extension's listener does.

Polling (``QueueListener``): a batch of up to ``batchSize`` messages is received whenever no
more than ``newBatchThreshold`` are being processed; an empty receive doubles the wait
before the next one, from 100 ms up to ``maxPollingInterval``; a message, or a send to the
queue by this host, brings it back to the minimum. A received message stays hidden while its
function runs (renewed at half its hide time), so another host sees it only if this one dies.

Before a run (``QueueProcessor.BeginProcessingMessageAsync``) a message already delivered more
than ``maxDequeueCount`` times (its host died while running it) goes to the poison queue
without running. Completion (``CompleteProcessingMessageAsync``): success deletes the message;
a failure with ``DequeueCount >= maxDequeueCount`` copies it, content unchanged, to
``{queue}-poison`` and deletes it; any other failure makes it visible again after
``visibilityTimeout``. A message whose content is not valid base64 (with ``messageEncoding``
base64) cannot be decoded, so it goes to the poison queue unprocessed (the extension's
``MessageDecodingFailed`` handler).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging

from devhost.errors import HostError
from devhost.triggers.functions import QueueFunction
from devhost.triggers.invocation import Invocation, queue_trigger_value
from devhost.triggers.options import MIN_POLLING_SECONDS, QueuesOptions
from devhost.triggers.queues import QueueService, ReceivedMessage

__all__ = ["POISON_SUFFIX", "QueueListener", "decode_content", "encode_content"]

log = logging.getLogger(__name__)

POISON_SUFFIX = "-poison"
# How long a stopping listener waits for invocations under way before cancelling them.
STOP_GRACE_SECONDS = 10.0


def decode_content(content: str, encoding: str) -> bytes:
    """A message's body from its stored content; ValueError when it cannot be decoded."""
    if encoding == "base64":
        try:
            return base64.b64decode(content.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as err:
            raise ValueError(f"not valid base64: {err}") from err
    return content.encode("utf-8")


def encode_content(body: bytes, encoding: str) -> str:
    """The stored content of a message body under ``messageEncoding``."""
    if encoding == "base64":
        return base64.b64encode(body).decode("ascii")
    return body.decode("utf-8", "replace")


class QueueListener:
    """Polls one queue and runs its function for each message until stopped."""

    def __init__(self, function: QueueFunction, queue: str, service: QueueService,
                 options: QueuesOptions, invocation: Invocation, hide_seconds: float) -> None:
        """``hide_seconds``: how long a received message stays hidden while processed."""
        self.function = function
        self.queue = queue
        self.service = service
        self.options = options
        self.invocation = invocation
        self.hide_seconds = hide_seconds
        self._running: set[asyncio.Task[None]] = set()
        self._finished = asyncio.Event()
        self._stopping = False

    async def run(self) -> None:
        """Poll until :meth:`stop`; storage errors back off and retry."""
        delay = MIN_POLLING_SECONDS
        while not self._stopping:
            if len(self._running) > self.options.new_batch_threshold:
                self._finished.clear()
                await self._finished.wait()
                continue
            try:
                batch = await self.service.receive(self.queue, self.options.batch_size,
                                                   self.hide_seconds)
            except HostError as err:
                log.warning("queue %s: receive failed (%s); retrying", self.queue, err)
                batch = []
            except Exception:  # the listener outlives any storage answer; it retries
                log.exception("queue %s: receive failed; retrying", self.queue)
                batch = []
            if batch:
                delay = MIN_POLLING_SECONDS
                for message in batch:
                    task = asyncio.create_task(self._process(message))
                    self._running.add(task)
                    task.add_done_callback(self._done)
                continue
            await self.service.wait(self.queue, delay)
            delay = min(delay * 2, self.options.max_polling_interval)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._finished.set()

    async def stop(self) -> None:
        """Stop polling; let invocations under way finish (for a while), then cancel them.

        Their messages, not deleted, come back after their hide time.
        """
        self._stopping = True
        self._finished.set()
        if self._running:
            _done, pending = await asyncio.wait(set(self._running), timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _keep_hidden(self, holder: list[ReceivedMessage]) -> None:
        """Renew the message's hide time at half of it while the function runs."""
        while True:
            await asyncio.sleep(self.hide_seconds / 2)
            renewed = await self.service.hide(self.queue, holder[0], self.hide_seconds)
            if renewed is None:
                return
            holder[0] = renewed

    async def _process(self, message: ReceivedMessage) -> None:
        try:
            body = decode_content(message.content, self.options.message_encoding)
        except ValueError as err:
            log.warning("queue %s: message %s cannot be decoded (%s); moved to %s%s",
                        self.queue, message.id, err, self.queue, POISON_SUFFIX)
            await self._poison(message)
            return
        if message.dequeue_count > self.options.max_dequeue_count:
            log.warning("queue %s: message %s was delivered %d times; moved to %s%s unrun",
                        self.queue, message.id, message.dequeue_count, self.queue, POISON_SUFFIX)
            await self._poison(message)
            return
        holder = [message]
        keeper = asyncio.create_task(self._keep_hidden(holder))
        succeeded = False
        try:
            await self.invocation.run(queue_trigger_value(self.function, message, body))
            succeeded = True
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("queue function %s failed on message %s (dequeue count %d)",
                          self.function.name, message.id, message.dequeue_count)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await keeper
        try:
            await self._complete(holder[0], succeeded)
        except Exception as err:  # noqa: BLE001 - the message comes back; nothing else stops
            log.warning("queue %s: completing message %s failed (%s); it comes back",
                        self.queue, message.id, err)

    async def _complete(self, message: ReceivedMessage, succeeded: bool) -> None:
        if succeeded:
            await self.service.delete(self.queue, message)
        elif message.dequeue_count >= self.options.max_dequeue_count:
            log.warning("queue %s: message %s failed %d times; moved to %s%s", self.queue,
                        message.id, message.dequeue_count, self.queue, POISON_SUFFIX)
            await self._poison(message)
        else:
            await self.service.hide(self.queue, message, self.options.visibility_timeout)

    async def _poison(self, message: ReceivedMessage) -> None:
        await self.service.send(self.queue + POISON_SUFFIX, message.content)
        await self.service.delete(self.queue, message)
