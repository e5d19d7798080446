"""What the emulator remembers: messages, dead tokens, queued faults, requests seen.

The aiohttp handlers run on the server's loop while tests inspect from other threads, so
every access holds one lock, and nothing awaits while holding it.
"""

import copy
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


def _utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    """RFC 3339 with a ``Z``, as Google APIs write times."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Fault:
    """How to answer one upcoming send instead of the normal way.

    ``status`` 200 means "answer normally, only late": a slow success.
    """

    status: int
    retry_after: int | None = None
    delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.status != 200 and not 400 <= self.status <= 599:
            raise ValueError(f"fault status must be 200 or 400-599, not {self.status}")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must not be negative")
        if not 0 <= self.delay_seconds <= 3600:
            raise ValueError("delay_seconds must be between 0 and 3600")


class EmulatorState:
    """The emulator's memory, safe to use from any thread."""

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        """Empty state; ``clock`` stamps ``receivedAt``."""
        self._clock = clock
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._unregistered: set[str] = set()
        self._faults: deque[Fault] = deque()
        self._requests: list[dict[str, Any]] = []

    def record_request(self, project: str, bearer: str | None) -> dict[str, Any]:
        """Note a send request as it arrives; pass the result to ``record_answer`` later.

        ``bearer`` is the access token it presented, so tests can tell which credentials sent.
        """
        entry: dict[str, Any] = {
            "receivedAt": _iso(self._clock()),
            "project": project,
            "bearer": bearer,
            "status": None,
        }
        with self._lock:
            self._requests.append(entry)
        return entry

    def record_answer(self, entry: dict[str, Any], status: int) -> None:
        """Note the status a recorded request was answered with."""
        # After a reset the entry is no longer in the log; updating it then is harmless.
        with self._lock:
            entry["status"] = status

    def requests(self) -> list[dict[str, Any]]:
        """Send requests since the last reset: receivedAt, project, bearer and status."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def queue_fault(self, fault: Fault, count: int = 1) -> None:
        """Answer the next ``count`` sends with ``fault``."""
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.extend([fault] * count)

    def queued_faults(self) -> int:
        """How many sends will still get a queued fault."""
        with self._lock:
            return len(self._faults)

    def next_fault(self) -> Fault | None:
        """Take the fault queued for this send, if any."""
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def mark_unregistered(self, token: str) -> None:
        """Make later sends to ``token`` answer 404 UNREGISTERED."""
        with self._lock:
            self._unregistered.add(token)

    def is_unregistered(self, token: str) -> bool:
        """True when ``token`` was marked unregistered."""
        with self._lock:
            return token in self._unregistered

    def store(self, project: str, message: dict[str, Any]) -> dict[str, Any]:
        """Keep an accepted message under a new name; return the stored entry."""
        name = f"projects/{project}/messages/{uuid.uuid4().hex}"
        with self._lock:
            entry = copy.deepcopy(message)
            entry["receivedAt"] = _iso(self._clock())
            entry["name"] = name
            self._messages.append(entry)
            return copy.deepcopy(entry)

    def messages(self, token: str | None = None) -> list[dict[str, Any]]:
        """Accepted messages in arrival order, only those for ``token`` when given."""
        with self._lock:
            chosen = [m for m in self._messages if token is None or m.get("token") == token]
            return copy.deepcopy(chosen)

    def reset(self) -> None:
        """Forget messages, dead tokens, queued faults and the request log."""
        with self._lock:
            self._messages.clear()
            self._unregistered.clear()
            self._faults.clear()
            self._requests.clear()
