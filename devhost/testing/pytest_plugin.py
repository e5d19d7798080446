"""The ``durable_test_host`` pytest fixture: open a ``DurableTestHost``, stopped after the test.

Register it in a ``conftest.py`` with ``pytest_plugins = ["devhost.testing.pytest_plugin"]``
(it needs pytest-asyncio). The fixture is a factory: ``host = await durable_test_host(app_dir,
settings={...})``; every host it opened is stopped when the test ends.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import pytest_asyncio

from devhost.testing.host import DurableTestHost

__all__ = ["HostFactory", "durable_test_host"]

# durable_test_host(app_dir, settings=None, **options) -> a started DurableTestHost.
HostFactory = Callable[..., Awaitable[DurableTestHost]]


@pytest_asyncio.fixture
async def durable_test_host() -> AsyncIterator[HostFactory]:
    """A factory of started ``DurableTestHost``s; each is stopped after the test."""
    opened: list[DurableTestHost] = []

    async def open_host(app_dir: str | os.PathLike[str],
                        settings: Mapping[str, str] | None = None,
                        **options: Any) -> DurableTestHost:
        host = DurableTestHost(app_dir, settings, **options)
        await host.start()
        opened.append(host)
        return host

    try:
        yield open_host
    finally:
        for host in reversed(opened):
            await host.stop()
