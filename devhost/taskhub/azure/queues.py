"""The task hub's queues: messages as JSON text, big bodies parked in a table.

``{hub}-control`` carries orchestration messages, ``{hub}-workitems`` activity tasks. A
message body is JSON text (ASCII only, so it is safe in the queue's XML and counts one
byte a character). A body too big for a queue message is written to ``{hub}Payloads``
first and the queue message only points at it; the payload row is deleted once the message
has been consumed, so a re-delivered pointer whose payload is gone was consumed already.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.storage.queue.aio import QueueClient

from devhost.engine.protocol import iso, parse_iso
from devhost.taskhub.azure.common import (
    ASCII_PIECE_CHARS,
    MAX_QUEUE_TEXT_CHARS,
    MAX_TRANSACTION_CHARS,
    PIECES_PER_ROW,
    PayloadTooLarge,
    StorageTable,
    join_text,
    partition_key,
    split_text,
    storage_errors,
    xml_escaped_length,
)
from devhost.taskhub.base import ActivityTask, Message, new_message_id

log = logging.getLogger(__name__)

_ROW_CHARS = ASCII_PIECE_CHARS * PIECES_PER_ROW
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


# Oversized payloads ------------------------------------------------------------------------

class PayloadTable(StorageTable):
    """Message bodies too big for a queue message, one or more rows per message."""

    label = "payloads table"

    async def put(self, instance_id: str, message_id: str, text: str) -> int:
        """Store ``text`` (ASCII) and return how many rows it took."""
        if len(text) > MAX_TRANSACTION_CHARS:
            raise PayloadTooLarge(f"message of {len(text)} characters for {instance_id!r}")
        key = partition_key(instance_id)
        chunks = [text[i:i + _ROW_CHARS] for i in range(0, len(text), _ROW_CHARS)]
        operations = [
            ("upsert", {"PartitionKey": key, "RowKey": f"{message_id}-{index:04d}",
                        **split_text("Body", chunk, ASCII_PIECE_CHARS)},
             {"mode": UpdateMode.REPLACE})
            for index, chunk in enumerate(chunks)
        ]
        with storage_errors("store payload"):
            await self._client.submit_transaction(operations)
        return len(chunks)

    async def get(self, instance_id: str, message_id: str, rows: int) -> str | None:
        """The stored text, or None when it was deleted (its message was consumed)."""
        key = partition_key(instance_id)
        with storage_errors("read payload"):
            try:
                entities = await asyncio.gather(*(
                    self._client.get_entity(key, f"{message_id}-{index:04d}")
                    for index in range(rows)))
            except ResourceNotFoundError:
                return None
        return "".join(join_text(entity, "Body") or "" for entity in entities)

    async def delete(self, instance_id: str, message_id: str, rows: int) -> None:
        """Delete the stored text (missing rows count as deleted)."""
        key = partition_key(instance_id)
        with storage_errors("delete payload"):
            for index in range(rows):
                await self._client.delete_entity(key, f"{message_id}-{index:04d}")


# Queues ------------------------------------------------------------------------------------

@dataclass
class Received:
    """A message taken from a queue: its body and what deleting or releasing it needs."""

    queue_message_id: str
    pop_receipt: str
    dequeue_count: int
    body: dict[str, Any]
    payload_rows: int = 0


class QueueChannel:
    """One queue of JSON messages, with the payload table for oversized bodies."""

    def __init__(self, client: QueueClient, payloads: PayloadTable) -> None:
        self._client = client
        self._payloads = payloads

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
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=True)
        rows = 0
        if xml_escaped_length(text) > MAX_QUEUE_TEXT_CHARS:
            rows = await self._payloads.put(body["instanceId"], body["messageId"], text)
            text = json.dumps({"instanceId": body["instanceId"], "messageId": body["messageId"],
                               "payloadRows": rows})
        with storage_errors("send message"):
            # time_to_live=-1: a timer may wait longer than the default 7-day expiry.
            sent = await self._client.send_message(
                text, visibility_timeout=lease_seconds or delay_seconds, time_to_live=-1)
        if not lease_seconds:
            return None
        return Received(str(sent.id), str(sent.pop_receipt), 1, body, rows)

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
            rows = int(body.get("payloadRows", 0))
            if rows:
                text = await self._payloads.get(body["instanceId"], body["messageId"], rows)
                if text is None:
                    # Its payload is deleted only after the message was consumed: a duplicate.
                    await self.delete(item)
                    return None
                item.payload_rows = rows
                body = json.loads(text)
            item.body = body
            return item
        except (ValueError, KeyError, TypeError) as err:
            log.warning("dropping unreadable queue message %s: %s", message.id, err)
            await self.delete(item)
            return None

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
        if item.payload_rows:
            await self._payloads.delete(item.body["instanceId"], item.body["messageId"],
                                        item.payload_rows)

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
                        item.body, item.payload_rows)

    async def release(self, item: Received, delay_seconds: int) -> None:
        """Make a received message visible again after ``delay_seconds``."""
        with storage_errors("release message"):
            try:
                await self._client.update_message(item.queue_message_id, item.pop_receipt,
                                                  visibility_timeout=delay_seconds)
            except HttpResponseError as err:
                if err.status_code not in _GONE:
                    raise
