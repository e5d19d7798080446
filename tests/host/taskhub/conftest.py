"""Fixtures for the task hub contract: one test body, every backend.

``backend`` is parametrised over ``memory`` (MemoryTaskHub on a VirtualClock: time passes
when the test says so) and ``azurite`` (AzureStorageTaskHub against one in-memory Azurite
started for the session on free ports, a fresh hub name per hub, so tests never share
tables or queues).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from devhost.clock import SystemClock, VirtualClock
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.base import TaskHub
from tests.support.backends import Backend


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteProcess]:
    """One in-memory Azurite on free ports for the whole session (started on first use)."""
    with AzuriteProcess() as process:
        yield process


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """Each backend in turn; every hub it made is closed afterwards."""
    if request.param == "memory":
        made = Backend("memory", VirtualClock())
    else:
        made = Backend("azurite", SystemClock(), request.getfixturevalue("azurite"))
    yield made
    for hub in made.hubs:
        await hub.close()


@pytest.fixture
async def hub(backend: Backend) -> TaskHub:
    """A fresh, started task hub of the backend under test."""
    return await backend.new_hub()
