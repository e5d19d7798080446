"""The backend handle the contract tests work with (imported by conftest and the tests)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devhost.clock import Clock, VirtualClock
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import TaskHub
from devhost.taskhub.memory import MemoryTaskHub

# Tests poll fast so a 1-2 s timer test does not spend half a second idling.
FAST_POLL = {"min_poll_seconds": 0.005, "max_poll_seconds": 0.05}


@dataclass
class Backend:
    """A task hub backend under test, with its clock and a way to make more hubs."""

    name: str
    clock: Clock
    azurite: AzuriteProcess | None = None
    hubs: list[TaskHub] = field(default_factory=list)

    def now(self) -> datetime:
        """The backend clock's present."""
        return self.clock.now()

    async def pass_time(self, seconds: float) -> None:
        """Let ``seconds`` go by: advance the virtual clock, or really wait."""
        if isinstance(self.clock, VirtualClock):
            await self.clock.advance(timedelta(seconds=seconds))
        else:
            await asyncio.sleep(seconds)

    async def new_hub(self, hub_name: str | None = None, **azure_options: Any) -> TaskHub:
        """A started hub: new storage, or (Azurite, same ``hub_name``) shared storage."""
        hub: TaskHub
        if self.azurite is None:
            assert isinstance(self.clock, VirtualClock)
            hub = MemoryTaskHub(self.clock)
        else:
            options = {"visibility_timeout": 5.0, **FAST_POLL, **azure_options}
            hub = AzureStorageTaskHub(self.azurite.connection_string,
                                      hub_name or f"contract{uuid.uuid4().hex[:12]}",
                                      self.clock, **options)
        await hub.start()
        self.hubs.append(hub)
        return hub
