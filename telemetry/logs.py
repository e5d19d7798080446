"""Order fields on log records: every record made inside ``order_scope`` carries them.

While telemetry is installed the process's log-record factory adds the current scope's
fields (``order.id``, ``order.stage``, ``push.seq``) as record attributes; OpenTelemetry's
logging handler exports record attributes as log attributes, which Application Insights
shows as custom dimensions. Fields never replace an attribute the record already has.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

Fields = Mapping[str, str | int]

_scope: ContextVar[Fields | None] = ContextVar("order_log_fields", default=None)
_lock = threading.Lock()
_wrapped: Callable[..., logging.LogRecord] | None = None
_stamping = False


@contextlib.contextmanager
def order_scope(fields: Fields) -> Iterator[None]:
    """Stamp ``fields`` on every log record made in this block."""
    token = _scope.set(dict(fields))
    try:
        yield
    finally:
        _scope.reset(token)


def _stamped_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """A record from the factory this one wraps, with the current scope's fields added."""
    assert _wrapped is not None
    record = _wrapped(*args, **kwargs)
    fields = _scope.get() if _stamping else None
    if fields:
        attributes = vars(record)
        for name, value in fields.items():
            attributes.setdefault(name, value)
    return record


def stamp_records() -> None:
    """Start stamping order fields on new log records (once; later calls change nothing)."""
    global _wrapped, _stamping  # the process has one log-record factory
    with _lock:
        _stamping = True
        if logging.getLogRecordFactory() is not _stamped_record:
            _wrapped = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_stamped_record)


def stop_stamping() -> None:
    """Stop stamping; put back the factory ``stamp_records`` wrapped if nobody wrapped ours."""
    global _stamping  # the process has one log-record factory
    with _lock:
        _stamping = False
        if _wrapped is not None and logging.getLogRecordFactory() is _stamped_record:
            logging.setLogRecordFactory(_wrapped)
