"""Process-wide state a LocalHost changes, and how tests put it back.

A host exports the app's settings into ``os.environ``, imports ``function_app`` (and puts
the app folder on ``sys.path``), and the durable SDK keeps one aiohttp session per process
bound to the event loop that made it. Tests that host an app in-process use these so no
later test inherits any of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator, Mapping

from azure.durable_functions.models.utils import http_utils

from devhost.app.loader import import_state_kept


@contextlib.contextmanager
def process_state_kept(environment: Mapping[str, str] | None = None) -> Iterator[None]:
    """Set ``environment`` for the block; afterwards restore env, sys.path and function_app."""
    saved_env = dict(os.environ)
    os.environ.update(environment or {})
    try:
        with import_state_kept():
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)


def forget_sdk_session() -> None:
    """Drop the SDK's process-wide session and lock, which may belong to another loop.

    A session made on a loop that has ended cannot be used (or closed) from this one; the
    SDK makes a new one on its next call, on the running loop. The host closes that one
    when it stops.
    """
    http_utils._client_session = None
    http_utils._session_lock = asyncio.Lock()
