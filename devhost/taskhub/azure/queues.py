"""The task hub's queues: messages as JSON text, big bodies in the blob container.

``{hub}-devhost-control`` carries orchestration messages, ``{hub}-devhost-workitems``
activity tasks. A message body is JSON text (ASCII only, so it is safe in the queue's XML
and counts one byte a character) carrying the marker ``"devhost": 1``: this host reads and
deletes only messages with it, and leaves any other message in the queue for its writer.
A body over ``limits.QUEUE_MESSAGE_BYTES`` is stored as a blob first and the queue message
only names it; the blob is deleted once the message has been consumed, so a re-delivered
pointer whose blob is gone was consumed already.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.queue.aio import QueueClient

from devhost.engine.protocol import iso, parse_iso
from devhost.taskhub.azure.blobs import BlobStore
from devhost.taskhub.azure.common import storage_errors
from devhost.taskhub.base import ActivityTask, Message, new_message_id
from devhost.taskhub.limits import QUEUE_MESSAGE_BYTES

log = logging.getLogger(__name__)

# What marks a message as this host's (Durable Task's own messages never carry it).
OWN_MARKER = "devhost"
_GONE = (400, 404)  # pop receipt no longer valid (400 PopReceiptMismatch) or message gone


# Bodies ------------------------------------------------------------------------------------

def message_body(message: Message) -> dict[str, Any]:
    """The JSON body of an orchestration message."""
    return {
        "instanceId": message.instance_id,
        "messageId": message.message_id,
        "visibleAt": None if message.visible_at is None else iso(message.visible_at),
        "event": message.event,
    }


def message_from_body(body: dict[str, Any]) -> Message:
    """Read an orchestration message body."""
    visible_at = body.get("visibleAt")
    return Message(instance_id=body["instanceId"], event=body["event"],
                   visible_at=None if visible_at is None else parse_iso(visible_at),
                   message_id=body["messageId"])


def batch_body(messages: list[Message]) -> dict[str, Any]:
    """One queue message carrying several messages for one instance, due now.

    Activity results that finish together travel as one queue message (one send and one
    delete for all of them); each keeps its own message id, so the engine still
    recognises every one of them if the batch comes again.
    """
    return {"instanceId": messages[0].instance_id, "messageId": new_message_id(),
            "batch": [message_body(message) for message in messages]}


def messages_from_body(body: dict[str, Any]) -> list[Message]:
    """Read a message body or a batch body into its messages."""
    if "batch" in body:
        return [message_from_body(item) for item in body["batch"]]
    return [message_from_body(body)]


def task_body(task: ActivityTask) -> dict[str, Any]:
    """The JSON body of an activity task."""
    return {"instanceId": task.instance_id, "messageId": task.message_id,
            "taskId": task.task_id, "name": task.name, "input": task.input,
            "executionId": task.execution_id}


def task_from_body(body: dict[str, Any]) -> ActivityTask:
    """Read an activity task body."""
    return ActivityTask(instance_id=body["instanceId"], task_id=int(body["taskId"]),
                        name=body["name"], input=body["input"], message_id=body["messageId"],
                        execution_id=body.get("executionId"))


def xml_escaped_length(text: str) -> int:
    """The length of ``text`` once XML-escaped for the queue REST API."""
    return len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


# Queues ------------------------------------------------------------------------------------

@dataclass
class Received:
    """A message taken from a queue: its body and what deleting or releasing it needs."""

    queue_message_id: str
    pop_receipt: str
    dequeue_count: int
    body: dict[str, Any]
    blob: str | None = None


class QueueChannel:
    """One queue of this host's JSON messages, with the blob store for oversized bodies."""

    def __init__(self, client: QueueClient, blobs: BlobStore) -> None:
        self._client = client
        self._blobs = blobs
        # Messages of other writers seen in this queue, warned about once each.
        self._foreign: set[str] = set()

    async def create(self) -> None:
        """Create the queue if it does not exist."""
        with storage_errors("create queue"), contextlib.suppress(ResourceExistsError):
            await self._client.create_queue()

    async def send(self, body: dict[str, Any], delay_seconds: int = 0, *,
                   lease_seconds: int = 0) -> Received | None:
        """Send ``body``, invisible for ``delay_seconds`` (at most 7 days, the caller caps).

        With ``lease_seconds`` the message is sent invisible for that long instead and
        comes back as received by the sender (the answer carries its pop receipt), so the
        sender can work it and delete it without receiving it. If the sender does not
        delete it in time, the queue hands it out like any other: still at least once.
        """
        text = json.dumps({OWN_MARKER: 1, **body}, separators=(",", ":"), ensure_ascii=True)
        blob = None
        if xml_escaped_length(text) > QUEUE_MESSAGE_BYTES:
            blob = BlobStore.new_name(body["instanceId"], f"m-{body['messageId']}")
            await self._blobs.put(blob, text)
            text = json.dumps({OWN_MARKER: 1, "instanceId": body["instanceId"],
                               "messageId": body["messageId"], "blob": blob},
                              separators=(",", ":"), ensure_ascii=True)
        with storage_errors("send message"):
            # time_to_live=-1: a timer may wait longer than the default 7-day expiry.
            sent = await self._client.send_message(
                text, visibility_timeout=lease_seconds or delay_seconds, time_to_live=-1)
        if not lease_seconds:
            return None
        return Received(str(sent.id), str(sent.pop_receipt), 1, body, blob)

    async def receive(self, count: int, visibility_seconds: int) -> list[Received]:
        """Up to ``count`` (at most 32) visible messages, invisible for the given seconds."""
        with storage_errors("receive messages"):
            pages = self._client.receive_messages(
                messages_per_page=count, visibility_timeout=visibility_seconds).by_page()
            raw = []
            # One request: the pager would otherwise ask again until it gets an empty page.
            async for page in pages:
                raw = [message async for message in page]
                break
        received = []
        for message in raw:
            item = await self._decode(message)
            if item is not None:
                received.append(item)
        return received

    async def _decode(self, message: Any) -> Received | None:
        item = Received(message.id, message.pop_receipt, message.dequeue_count, {})
        try:
            body = json.loads(message.content)
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get(OWN_MARKER) != 1:
            await self._leave_alone(item)
            return None
        try:
            blob = body.get("blob")
            if blob is not None:
                text = await self._blobs.get(str(blob))
                if text is None:
                    # Its blob is deleted only after the message was consumed: a duplicate.
                    await self.delete(item)
                    return None
                item.blob = str(blob)
                body = json.loads(text)
            body.pop(OWN_MARKER, None)
            item.body = body
            return item
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            log.warning("dropping unreadable queue message %s: %s", message.id, err)
            await self.delete(item)
            return None

    async def _leave_alone(self, item: Received) -> None:
        """A message this host did not write: make it visible again for its writer."""
        if item.queue_message_id not in self._foreign:
            self._foreign.add(item.queue_message_id)
            log.warning("queue message %s was not written by this host; left in the queue",
                        item.queue_message_id)
        await self.release(item, 0)

    async def delete(self, item: Received) -> None:
        """Delete a consumed message (and its payload); a stale receipt is not an error."""
        with storage_errors("delete message"):
            try:
                await self._client.delete_message(item.queue_message_id, item.pop_receipt)
            except HttpResponseError as err:
                # The visibility timeout ran out and the message was (or will be) received
                # again: that copy will be seen as a re-delivery.
                if err.status_code not in _GONE:
                    raise
        if item.blob is not None:
            await self._blobs.delete([item.blob])

    async def renew(self, item: Received, visibility_seconds: int) -> Received | None:
        """Extend a received message's invisibility; None when the receipt went stale."""
        with storage_errors("renew message"):
            try:
                updated = await self._client.update_message(
                    item.queue_message_id, item.pop_receipt,
                    visibility_timeout=visibility_seconds)
            except HttpResponseError as err:
                if err.status_code not in _GONE:
                    raise
                return None
        return Received(item.queue_message_id, str(updated.pop_receipt), item.dequeue_count,
                        item.body, item.blob)

    async def release(self, item: Received, delay_seconds: int) -> None:
        """Make a received message visible again after ``delay_seconds``."""
        with storage_errors("release message"):
            try:
                await self._client.update_message(item.queue_message_id, item.pop_receipt,
                                                  visibility_timeout=delay_seconds)
            except HttpResponseError as err:
                if err.status_code not in _GONE:
                    raise
