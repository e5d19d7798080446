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

from devhost.errors import StorageUnavailable

# Azure Table limits: an entity holds at most 1 MiB, a transaction at most 100 operations.
# A string property holds at most 64 KiB of UTF-16 (``limits.fits_table_property``); a text
# that does not fit one goes to a blob. The history JSON we write ourselves is pure ASCII
# (``ensure_ascii``), so one episode's events fill up to PIECES_PER_ROW properties of
# 32,000 characters in one row (under 1 MiB) before they go to a blob instead.
ASCII_PIECE_CHARS = 32_000
PIECES_PER_ROW = 15
MAX_TRANSACTION_OPS = 100

# Azure Storage queues: a message stays invisible at most 7 days.
MAX_VISIBILITY_SECONDS = 7 * 24 * 3600

# Key characters Azure Tables forbid (plus ``%``, our escape character, so the mapping is
# one-to-one), and control characters.
_KEY_UNSAFE = re.compile(r"[/\\#?%\x00-\x1f\x7f-\x9f]")
MAX_KEY_CHARS = 512  # 1 KiB of UTF-16

# Task hub names as Azure accepts them: letters and digits, 3-45, starting with a letter.
HUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,44}")


@dataclass(frozen=True)
class StorageNames:
    """The table, queue and blob container names of one task hub.

    Durable Task's Azure Storage provider names its storage ``{hub}Instances``,
    ``{hub}History`` (and ``{hub}Partitions``), queues ``{hub}-control-NN`` and
    ``{hub}-workitems``, containers ``{hub}-leases``, ``{hub}-applease`` and
    ``{hub}-largemessages``. This host's names end otherwise (table names are compared
    case-insensitively): the table ends with ``Devhost``, which no provider table does, and
    every queue and container has ``-devhost-`` after the hub name, which a valid hub name
    (no dashes) cannot produce. So ``func start`` and this host never share storage on one
    account, whatever hub names they use.
    """

    instances_table: str
    control_queue: str
    work_item_queue: str
    payloads_container: str

    @classmethod
    def for_hub(cls, hub_name: str) -> StorageNames:
        """The names for ``hub_name``; ValueError for a name Azure would refuse."""
        if not HUB_NAME.fullmatch(hub_name):
            raise ValueError(
                f"task hub name {hub_name!r} is invalid: use 3-45 letters and digits, "
                "starting with a letter (as Azure requires)")
        lower = hub_name.lower()
        return cls(
            instances_table=f"{hub_name}Devhost",
            control_queue=f"{lower}-devhost-control",
            work_item_queue=f"{lower}-devhost-workitems",
            payloads_container=f"{lower}-devhost-payloads",
        )


def partition_key(instance_id: str) -> str:
    """The table key for an instance id: forbidden characters percent-escaped.

    Raises ``ValueError`` for an id too long for a table key.
    """
    key = _KEY_UNSAFE.sub(lambda match: f"%{ord(match.group()):02X}", instance_id)
    if not key or len(key) > MAX_KEY_CHARS:
        raise ValueError(f"instance id of {len(instance_id)} characters cannot be a table key")
    return key


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
        """Keyword arguments for a queue (or blob) client.

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
