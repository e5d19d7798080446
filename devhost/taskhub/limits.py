"""Size limits of the task hubs, defined once: both hubs apply them, so a test on the
memory hub meets the same refusals as the Azure Storage hub.

Azure Storage has two thresholds, not refusals: a queue message over about 45 KB and a
table property over 64 KiB (UTF-16) go to a blob, the message or row keeping only the
blob's name (as Durable Task's Azure Storage provider does). What no hub stores is one
value (an input, a result, an output, a custom status, an event's data, an error) over
``MAX_PAYLOAD_BYTES`` of UTF-8: this host's own cap, not Azure's. A blob could hold more,
but every replay reads the whole history back, so a host that kept going would crawl; it
fails the instance with the reason instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from devhost.errors import PayloadTooLarge
from devhost.taskhub.base import ActivityTask, Commit, InstanceRecord, Message

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "QUEUE_MESSAGE_BYTES",
    "TABLE_PROPERTY_BYTES",
    "check_commit",
    "check_messages",
    "check_record",
    "fits_table_property",
    "payload_bytes",
]

QUEUE_MESSAGE_BYTES = 45 * 1024
TABLE_PROPERTY_BYTES = 64 * 1024
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024

# A code point takes at most 4 bytes in UTF-8 and at most 2 UTF-16 code units.
_SURELY_SMALL = MAX_PAYLOAD_BYTES // 4


def payload_bytes(text: str) -> int:
    """The UTF-8 size of ``text``."""
    return len(text.encode("utf-8", "surrogatepass"))


def fits_table_property(text: str) -> bool:
    """Whether ``text`` fits one Azure Table string property (64 KiB of UTF-16)."""
    if len(text) * 4 <= TABLE_PROPERTY_BYTES:
        return True
    if len(text) * 2 > TABLE_PROPERTY_BYTES:
        return False
    return len(text.encode("utf-16-le", "surrogatepass")) <= TABLE_PROPERTY_BYTES


def _check(text: Any, what: str, instance_id: str) -> None:
    if not isinstance(text, str) or len(text) <= _SURELY_SMALL:
        return
    size = payload_bytes(text)
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"{what} of instance {instance_id!r} is {size} bytes, over the task hub's limit "
            f"of {MAX_PAYLOAD_BYTES} bytes")


def _check_event(event: Mapping[str, Any], what: str, instance_id: str) -> None:
    for key, value in event.items():
        _check(value, f"{what} ({key})", instance_id)


def check_messages(messages: Iterable[Message], what: str = "a message") -> None:
    """Raise ``PayloadTooLarge`` if a value in one of ``messages`` is over the limit."""
    for message in messages:
        _check_event(message.event, what, message.instance_id)


def check_record(record: InstanceRecord) -> None:
    """Raise ``PayloadTooLarge`` if the record's input, output or custom status is too big."""
    _check(record.input, "the input", record.instance_id)
    _check(record.output, "the output", record.instance_id)
    _check(record.custom_status, "the custom status", record.instance_id)


def _check_tasks(tasks: Iterable[ActivityTask]) -> None:
    for task in tasks:
        _check(task.input, f"the input of activity {task.name!r}", task.instance_id)


def check_commit(instance_id: str, commit: Commit) -> None:
    """Raise ``PayloadTooLarge`` if anything ``commit`` would store is over the limit."""
    if commit.record is not None:
        check_record(commit.record)
    for event in commit.new_history:
        _check_event(event, "a history event", instance_id)
    check_messages(commit.outbound, "a message it sends")
    _check_tasks(commit.activities)
