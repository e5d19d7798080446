"""``host.json``'s ``extensions.queues``, read and checked as the queues extension binds it.

Defaults and bounds are those of the extension's ``QueuesOptions``: ``batchSize`` 16 (1-32),
``newBatchThreshold`` half a batch per processor, ``maxDequeueCount`` 5 (at least 1),
``visibilityTimeout`` 0 (the wait before a failed message is retried), ``maxPollingInterval``
1 minute (at least 100 ms), ``messageEncoding`` ``base64`` or ``none``. TimeSpans are
``[d.]hh:mm:ss[.fffffff]`` strings; a value out of bounds stops the start, naming it.
An app setting ``AzureFunctionsJobHost__extensions__queues__<name>`` overrides a value.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.errors import AppLoadError

__all__ = ["QueuesOptions", "load_queues_options", "parse_timespan"]

MAX_BATCH_SIZE = 32
MIN_POLLING_SECONDS = 0.1
_TIMESPAN = re.compile(r"(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?")
_OVERRIDE = "AzureFunctionsJobHost__extensions__queues__"


def parse_timespan(text: str) -> float:
    """Seconds of a .NET TimeSpan string; ValueError for anything else."""
    found = _TIMESPAN.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not a TimeSpan (hh:mm:ss)")
    sign, days, hours, minutes, seconds, fraction = found.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds or 0) > 59:
        raise ValueError(f"{text!r} is out of range")
    total = (int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60
             + int(seconds or 0) + int((fraction or "0").ljust(7, "0")) / 1e7)
    return -total if sign else total


@dataclass(frozen=True)
class QueuesOptions:
    """How queue triggers poll, retry and decode."""

    batch_size: int = 16
    new_batch_threshold: int = 8 * (os.cpu_count() or 1)
    max_dequeue_count: int = 5
    visibility_timeout: float = 0.0
    max_polling_interval: float = 60.0
    message_encoding: str = "base64"  # or "none"

    @property
    def max_in_flight(self) -> int:
        """At most this many messages are being processed at once."""
        return self.batch_size + self.new_batch_threshold


def _integer(where: str, raw: Any, low: int, high: int | None) -> int:
    value = int(raw) if isinstance(raw, str) and raw.strip().lstrip("-").isdigit() else raw
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
            high is not None and value > high):
        bound = f"{low}-{high}" if high is not None else f"at least {low}"
        raise AppLoadError(f"{where} must be a whole number {bound}, not {raw!r}")
    return value


def _seconds(where: str, raw: Any, low: float) -> float:
    try:
        seconds = parse_timespan(raw) if isinstance(raw, str) else None
    except ValueError:
        seconds = None
    if seconds is None or seconds < low:
        raise AppLoadError(f"{where} must be a TimeSpan (hh:mm:ss) of at least "
                           f"{low:g} s, not {raw!r}")
    return seconds


def load_queues_options(app_dir: Path, setting: Callable[[str], str | None]) -> QueuesOptions:
    """The app's queue options (defaults when ``host.json`` has none)."""
    path = Path(app_dir) / "host.json"
    section: Mapping[str, Any] = {}
    if path.exists():
        try:
            document = json.loads(path.read_text(encoding="utf-8-sig"))
        except ValueError as err:
            raise AppLoadError(f"{path} is not valid JSON: {err}") from err
        extensions = document.get("extensions") if isinstance(document, dict) else None
        queues = extensions.get("queues") if isinstance(extensions, dict) else None
        section = queues if isinstance(queues, dict) else {}

    def value(name: str) -> tuple[str, Any]:
        override = setting(_OVERRIDE + name)
        if override is not None:
            return f"app setting {_OVERRIDE}{name}", override
        return f"{path}: extensions.queues.{name}", section.get(name)

    defaults = QueuesOptions()
    where, raw = value("batchSize")
    batch = defaults.batch_size if raw is None else _integer(where, raw, 1, MAX_BATCH_SIZE)
    where, raw = value("newBatchThreshold")
    threshold = (batch // 2 * (os.cpu_count() or 1) if raw is None
                 else _integer(where, raw, 0, None))
    where, raw = value("maxDequeueCount")
    dequeues = (defaults.max_dequeue_count if raw is None
                else _integer(where, raw, 1, None))
    where, raw = value("visibilityTimeout")
    retry_wait = defaults.visibility_timeout if raw is None else _seconds(where, raw, 0.0)
    where, raw = value("maxPollingInterval")
    polling = (defaults.max_polling_interval if raw is None
               else _seconds(where, raw, MIN_POLLING_SECONDS))
    where, raw = value("messageEncoding")
    encoding = defaults.message_encoding if raw is None else str(raw).lower()
    if encoding not in ("base64", "none"):
        raise AppLoadError(f"{where} must be base64 or none, not {raw!r}")
    return QueuesOptions(batch, threshold, dequeues, retry_wait, polling, encoding)
