"""A local Azure Functions host for Python v2 Durable Functions apps, on Azure Storage.

It hosts an app folder's ``function_app`` unchanged, calling the durable SDK the way the
Azure Functions host does. The app never imports this package. What tests and tools use
is exported here; every other module is internal.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devhost.clock import Clock, SystemClock, VirtualClock
    from devhost.engine.client import DurableClient
    from devhost.engine.runtime import DurableRuntime
    from devhost.errors import (
        AppLoadError,
        HostError,
        InstanceEnded,
        InstanceExists,
        InstanceNotFound,
        StorageUnavailable,
        UnknownOrchestrator,
    )
    from devhost.host import LocalHost
    from devhost.taskhub.azure.hub import AzureStorageTaskHub
    from devhost.taskhub.base import InstanceQuery, InstanceRecord, RuntimeStatus, TaskHub
    from devhost.taskhub.memory import MemoryTaskHub

# Each public name and the module it lives in. Loaded on first use, so a process that needs
# one part (a replay worker imports only the engine's worker module) loads nothing else.
_HOMES = {
    "Clock": "devhost.clock",
    "SystemClock": "devhost.clock",
    "VirtualClock": "devhost.clock",
    "DurableClient": "devhost.engine.client",
    "DurableRuntime": "devhost.engine.runtime",
    "AppLoadError": "devhost.errors",
    "HostError": "devhost.errors",
    "InstanceEnded": "devhost.errors",
    "InstanceExists": "devhost.errors",
    "InstanceNotFound": "devhost.errors",
    "StorageUnavailable": "devhost.errors",
    "UnknownOrchestrator": "devhost.errors",
    "LocalHost": "devhost.host",
    "AzureStorageTaskHub": "devhost.taskhub.azure.hub",
    "InstanceQuery": "devhost.taskhub.base",
    "InstanceRecord": "devhost.taskhub.base",
    "RuntimeStatus": "devhost.taskhub.base",
    "TaskHub": "devhost.taskhub.base",
    "MemoryTaskHub": "devhost.taskhub.memory",
}


def __getattr__(name: str) -> Any:
    """Load a public name from its module the first time it is asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'devhost' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "AppLoadError",
    "AzureStorageTaskHub",
    "Clock",
    "DurableClient",
    "DurableRuntime",
    "HostError",
    "InstanceEnded",
    "InstanceExists",
    "InstanceNotFound",
    "InstanceQuery",
    "InstanceRecord",
    "LocalHost",
    "MemoryTaskHub",
    "RuntimeStatus",
    "StorageUnavailable",
    "SystemClock",
    "TaskHub",
    "UnknownOrchestrator",
    "VirtualClock",
]
