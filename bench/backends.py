"""The two task hubs the benchmarks run on, and the Azurite the Azure one needs.

Azurite is started here, in memory and on free ports, and stopped here. Every run gets a
task hub of its own (a fresh hub name), so no run sees another's leftovers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from bench.figures import AZURITE, MEMORY
from bench.storage_calls import QUEUE, TABLE, CallCounter
from devhost.clock import SystemClock
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import TaskHub
from devhost.taskhub.memory import MemoryTaskHub

BACKENDS = (AZURITE, MEMORY)


@dataclass
class Backends:
    """The backends of one benchmark run; ``start`` brings up Azurite when it is wanted."""

    names: tuple[str, ...] = BACKENDS
    azurite: AzuriteProcess | None = None
    # Every storage call of the run, counted while the run is on (see storage_calls).
    calls: CallCounter = field(default_factory=CallCounter)

    def start(self) -> Backends:
        """Start Azurite (in memory, free ports) if the Azure backend is among ``names``."""
        if AZURITE in self.names and self.azurite is None:
            self.azurite = AzuriteProcess(None).start()
            self.calls.ports = {self.azurite.queue_port: QUEUE, self.azurite.table_port: TABLE}
        return self

    def renew(self) -> None:
        """Replace the running Azurite with a fresh, empty one (new ports).

        Each scenario gets its own: Azurite keeps everything in memory and slows as data
        piles up, until storage calls time out.
        """
        if self.azurite is not None:
            self.stop()
            self.start()

    def stop(self) -> None:
        """Stop Azurite if this object started it."""
        if self.azurite is not None:
            self.azurite.stop()
            self.azurite = None

    @property
    def connection_string(self) -> str:
        """Azurite's connection string."""
        if self.azurite is None:
            raise RuntimeError("Azurite is not running")
        return self.azurite.connection_string

    def make_hub(self, backend: str, tag: str) -> TaskHub:
        """A new, empty task hub on ``backend`` (memory hubs run on the system clock)."""
        if backend == MEMORY:
            return MemoryTaskHub(SystemClock())
        if backend == AZURITE:
            name = f"b{tag}{uuid.uuid4().hex[:10]}"
            return AzureStorageTaskHub(self.connection_string, name)
        raise ValueError(f"unknown backend {backend!r}")

    def __enter__(self) -> Backends:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
