"""What the Azure Storage task hub modules share: names, keys, limits, error translation.

Storage errors are translated here, at the boundary: "storage is down" (no connection,
timeouts, 5xx, throttling) becomes ``StorageUnavailable`` so the host's workers back off and
retry; every other SDK error is left for the caller to interpret (404, 409, 412) or to
surface as the bug it is.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables.aio import TableClient

from devhost.errors import HostError, StorageUnavailable

# Azure Table limits: a string property holds at most 64 KiB of UTF-16 (32 Ki code units),
# an entity at most 1 MiB, a transaction at most 100 operations and 4 MiB of payload.
# Text of unknown content is cut at 16,000 code points (even if every one needs a UTF-16
# surrogate pair that stays under 64 KiB); JSON we write ourselves is pure ASCII
# (``ensure_ascii``), so it may use 32,000 characters per property.
TEXT_PIECE_CHARS = 16_000
ASCII_PIECE_CHARS = 32_000
PIECES_PER_ROW = 15
MAX_TRANSACTION_OPS = 100
MAX_TRANSACTION_CHARS = 3_800_000  # stays under the 4 MiB request limit with room for framing

# Azure Storage queues: a message holds at most 64 KiB and stays invisible at most 7 days.
# Bodies bigger than this (counted after XML escaping) are kept in a table instead.
MAX_QUEUE_TEXT_CHARS = 48_000
MAX_VISIBILITY_SECONDS = 7 * 24 * 3600

# Key characters Azure Tables forbid (plus ``%``, our escape character, so the mapping is
# one-to-one), and control characters.
_KEY_UNSAFE = re.compile(r"[/\\#?%\x00-\x1f\x7f-\x9f]")
MAX_KEY_CHARS = 512  # 1 KiB of UTF-16


class PayloadTooLarge(HostError):
    """An episode or record is bigger than one table transaction or entity can hold."""


@dataclass(frozen=True)
class StorageNames:
    """The table and queue names of one task hub."""

    instances_table: str
    payloads_table: str
    control_queue: str
    work_item_queue: str

    @classmethod
    def for_hub(cls, hub_name: str) -> StorageNames:
        """Names derived from ``hub_name``, sanitised to what tables and queues accept.

        Queue names must be lowercase letters, digits and single hyphens; table names
        alphanumeric starting with a letter. So the hub name is reduced to lowercase
        letters and digits (``My-Hub`` and ``myhub`` share storage: pick distinct names).
        """
        slug = re.sub(r"[^a-z0-9]", "", hub_name.lower())
        if not slug or not slug[0].isalpha():
            slug = "h" + slug
        slug = slug[:45]
        return cls(
            instances_table=f"{slug}Instances",
            payloads_table=f"{slug}Payloads",
            control_queue=f"{slug}-control",
            work_item_queue=f"{slug}-workitems",
        )


def partition_key(instance_id: str) -> str:
    """The table key for an instance id: forbidden characters percent-escaped.

    Raises ``ValueError`` for an id too long for a table key.
    """
    key = _KEY_UNSAFE.sub(lambda match: f"%{ord(match.group()):02X}", instance_id)
    if not key or len(key) > MAX_KEY_CHARS:
        raise ValueError(f"instance id of {len(instance_id)} characters cannot be a table key")
    return key


def split_text(name: str, text: str | None, piece_chars: int = TEXT_PIECE_CHARS
               ) -> dict[str, str]:
    """``text`` as properties ``name``, ``name_1``, ... each small enough for a table.

    None gives no property at all, which is how None is told apart from "".
    """
    if text is None:
        return {}
    pieces = [text[i:i + piece_chars] for i in range(0, len(text), piece_chars)] or [""]
    return {(name if index == 0 else f"{name}_{index}"): piece
            for index, piece in enumerate(pieces)}


def join_text(entity: Any, name: str) -> str | None:
    """Reassemble a text written by :func:`split_text` (None when it was None)."""
    first = entity.get(name)
    if first is None:
        return None
    parts = [str(first)]
    index = 1
    while (part := entity.get(f"{name}_{index}")) is not None:
        parts.append(str(part))
        index += 1
    return "".join(parts)


def xml_escaped_length(text: str) -> int:
    """The length of ``text`` once XML-escaped for the queue REST API."""
    return len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


def is_transient(err: HttpResponseError) -> bool:
    """True for answers that mean "try again later": 5xx, 408 and throttling (429)."""
    status = err.status_code
    return status is None or status >= 500 or status in (408, 429)


@contextlib.contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Turn "storage is down" errors raised inside the block into ``StorageUnavailable``."""
    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as err:
        raise StorageUnavailable(f"{action}: {err}") from err
    except HttpResponseError as err:
        if is_transient(err):
            raise StorageUnavailable(f"{action}: {err.status_code} {err.reason}") from err
        raise


@dataclass(frozen=True)
class ClientOptions:
    """Bounded retries and timeouts passed to every storage client.

    The SDK defaults retry for over a minute against a stopped Azurite; these keep a call
    to a dead storage account short, so the host notices and backs off by itself.
    """

    retry_total: int = 2
    retry_backoff_seconds: float = 0.2
    connection_timeout: float = 2.0
    read_timeout: float = 10.0
    # With env settings on, aiohttp looks up proxy variables and parses ~/.netrc on a
    # worker thread for every request; they are off only for loopback endpoints
    # (Azurite), where no proxy applies.
    use_env_settings: bool = True

    def table_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for a tables client."""
        return {
            "use_env_settings": self.use_env_settings,
            "retry_total": self.retry_total,
            "retry_backoff_factor": self.retry_backoff_seconds,
            "retry_backoff_max": 2.0,
            "connection_timeout": self.connection_timeout,
            "read_timeout": self.read_timeout,
        }

    def queue_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for a queue client.

        Its default retry policy waits 15 s, then 18 s, with 3 s of jitter; these settings
        of the same policy wait about ``retry_backoff_seconds`` per retry instead.
        """
        return {
            "use_env_settings": self.use_env_settings,
            "retry_total": self.retry_total,
            "initial_backoff": self.retry_backoff_seconds,
            "increment_base": self.retry_backoff_seconds,
            "random_jitter_range": self.retry_backoff_seconds / 2,
            "connection_timeout": self.connection_timeout,
            "read_timeout": self.read_timeout,
        }


class StorageTable:
    """A table of the hub, created on first start; subclasses give it its rows' meaning."""

    label = "table"

    def __init__(self, client: TableClient) -> None:
        self._client = client

    async def create(self) -> None:
        """Create the table if it does not exist."""
        with storage_errors(f"create {self.label}"), contextlib.suppress(ResourceExistsError):
            await self._client.create_table()
