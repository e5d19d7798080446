"""Count the storage calls the Azure Storage task hub makes, from the outside.

While a ``CallCounter`` is active, the Azure SDKs' HTTP transport (``AioHttpTransport``,
used by the async queue and table clients) is wrapped at class level, so production
code stays as it is and every request is counted: one call is one HTTP request, an
empty queue receive and an SDK retry included. The service is told by the port
(Azurite serves queues and tables on ports of their own); the operation by the method
and the path.
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline.transport import AioHttpTransport

QUEUE = "queue"
TABLE = "table"


def _queue_operation(method: str, path: str) -> str:
    if "/messages" not in path:
        return {"PUT": "create_queue", "DELETE": "delete_queue"}.get(method, method.lower())
    return {"POST": "send", "GET": "receive", "DELETE": "delete",
            "PUT": "update"}.get(method, method.lower())


def _table_operation(method: str, path: str) -> str:
    if path.endswith("$batch"):
        return "transaction"
    if method == "GET":
        return "get" if "PartitionKey=" in path else "query"
    if method == "POST":
        return "create_table" if path.endswith("/Tables") else "insert"
    return {"PUT": "upsert", "PATCH": "merge", "MERGE": "merge",
            "DELETE": "delete"}.get(method, method.lower())


class CallCounter:
    """Storage calls by ``service.operation`` while installed (see :func:`counting`).

    ``ports`` maps a port to its service; requests to other ports are not counted.
    """

    def __init__(self, ports: dict[int, str] | None = None) -> None:
        self.ports = dict(ports or {})
        self.calls: Counter[str] = Counter()

    def add(self, method: str, url: str) -> None:
        """Count one request."""
        parts = urlsplit(url)
        service = self.ports.get(parts.port or 0)
        if service == QUEUE:
            self.calls[f"{QUEUE}.{_queue_operation(method, parts.path)}"] += 1
        elif service == TABLE:
            self.calls[f"{TABLE}.{_table_operation(method, parts.path)}"] += 1

    def total(self, service: str | None = None) -> int:
        """All calls, or those of one service."""
        return sum(count for name, count in self.calls.items()
                   if service is None or name.startswith(f"{service}."))

    def snapshot(self) -> Counter[str]:
        """A copy of the counts so far."""
        return Counter(self.calls)

    def since(self, before: Counter[str]) -> Counter[str]:
        """Calls made after ``before`` was taken."""
        return self.calls - before


def calls_of(counts: Counter[str], service: str) -> int:
    """How many of ``counts`` went to ``service``."""
    return sum(count for name, count in counts.items() if name.startswith(f"{service}."))


_active: list[CallCounter] = []


@contextlib.contextmanager
def counting(counter: CallCounter) -> Iterator[CallCounter]:
    """Count every queue and table request made in the block into ``counter``."""
    original = AioHttpTransport.send
    install = not _active
    if install:
        @functools.wraps(original)
        async def send(self: AioHttpTransport, request: Any, **kwargs: Any) -> Any:
            for active in _active:
                active.add(str(request.method).upper(), str(request.url))
            return await original(self, request, **kwargs)

        AioHttpTransport.send = send
    _active.append(counter)
    try:
        yield counter
    finally:
        _active.remove(counter)
        if install:
            AioHttpTransport.send = original
