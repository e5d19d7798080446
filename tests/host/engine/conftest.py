"""Fixtures: the sample app indexed once, and a runtime over a memory hub on a virtual clock."""

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from devhost.app.loader import import_state_kept
from devhost.clock import SystemClock, VirtualClock
from devhost.engine.runtime import DurableRuntime
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import TaskHub
from devhost.taskhub.memory import MemoryTaskHub
from tests.support import SAMPLES_DIR
from tests.support.backends import FAST_POLL
from tests.support.engine import (
    Crank,
    import_under_unique_name,
    index_module,
)

try:  # the worker-like loader, once it exists
    from devhost.app.loader import load_app
except ImportError:  # pragma: no cover - until the loader lands
    load_app = None


@pytest.fixture(scope="session")
def samples() -> Any:
    """The sample app's function index: ``.orchestrators`` and ``.activities``.

    Loaded through ``devhost.app.loader.load_app`` when it exists, else by the local indexer
    under a module name of its own (the order app owns ``function_app``).
    """
    if load_app is not None:
        with import_state_kept():
            return load_app(SAMPLES_DIR)
    module = import_under_unique_name(SAMPLES_DIR / "function_app.py",
                                      "engine_samples_function_app")
    return index_module(module)


@pytest.fixture
def clock() -> VirtualClock:
    """A clock that moves only when the test says so."""
    return VirtualClock()


@pytest.fixture
def hub(clock: VirtualClock) -> MemoryTaskHub:
    """An empty in-memory task hub on the virtual clock."""
    return MemoryTaskHub(clock)


@pytest.fixture
async def idle_runtime(hub: MemoryTaskHub, samples: Any) -> AsyncIterator[DurableRuntime]:
    """A runtime whose workers have not started yet (the test starts them)."""
    runtime = DurableRuntime(hub, samples.orchestrators, samples.activities)
    yield runtime
    await runtime.stop()


@pytest.fixture
async def runtime(idle_runtime: DurableRuntime) -> DurableRuntime:
    """A running runtime over the sample app."""
    await idle_runtime.start()
    return idle_runtime


@pytest.fixture
def crank(hub: MemoryTaskHub, samples: Any) -> Iterator[Crank]:
    """The engine driven by hand, one work item at a time."""
    driver = Crank(hub, samples.orchestrators, samples.activities)
    yield driver
    driver.close()


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> str:
    """An id prefix unique to the test (keys of the flaky activity, instance ids)."""
    return request.node.name.replace("[", "-").replace("]", "")


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
async def either(request: pytest.FixtureRequest, samples: Any) -> AsyncIterator[DurableRuntime]:
    """A started runtime for the sample app on the memory hub, then on Azurite."""
    hub: TaskHub
    if request.param == "memory":
        hub = MemoryTaskHub(VirtualClock())
    else:
        azurite: AzuriteProcess = request.getfixturevalue("azurite")
        hub = AzureStorageTaskHub(azurite.connection_string, f"checks{uuid.uuid4().hex[:12]}",
                                  SystemClock(), visibility_timeout=5.0, **FAST_POLL)
    runtime = DurableRuntime(hub, samples.orchestrators, samples.activities)
    await runtime.start()
    yield runtime
    await runtime.stop()
