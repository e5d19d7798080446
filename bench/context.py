"""What every scenario gets: the backends, the sizes, and where its figures go."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.backends import Backends
from bench.figures import Figure


@dataclass(frozen=True)
class Sizes:
    """How big each scenario runs. ``FULL`` is the issue's; ``QUICK`` a fast look."""

    chain: int = 100
    fan_out: int = 100
    events: int = 100
    orders: tuple[int, ...] = (50, 200)
    burst: int = 300  # orders placed at once, each backend action waiting burst_delay
    burst_delay: float = 2.0  # seconds: the app's default BACKEND_ACTION_DELAY_SECONDS
    replay: tuple[int, ...] = (100, 1000, 5000)
    storage_ops: int = 400
    repeats: int = 3  # runs per throughput figure; the median is reported
    queue_messages: int = 100  # messages written at 10/s for the queue-trigger latency


FULL = Sizes()
QUICK = Sizes(chain=25, fan_out=25, events=25, orders=(10, 25), burst=50, replay=(100, 1000),
              storage_ops=60, repeats=1, queue_messages=25)


@dataclass(frozen=True)
class StorageRates:
    """Calls per second Azurite takes from one Python process, one at a time and with
    many in flight; the ceilings of the Azure task hub's figures are built on them."""

    queue_serial: float
    queue_parallel: float
    table_serial: float
    table_parallel: float

    def ceiling(self, units: float, queue_calls: int, table_calls: int,
                parallel: bool) -> float | None:
        """Units per second storage would allow if its calls were the only cost."""
        queue_rate = self.queue_parallel if parallel else self.queue_serial
        table_rate = self.table_parallel if parallel else self.table_serial
        seconds = queue_calls / queue_rate + table_calls / table_rate
        return units / seconds if seconds > 0 else None


def _print(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Run:
    """One benchmark run's shared state."""

    backends: Backends
    sizes: Sizes = FULL
    figures: list[Figure] = field(default_factory=list)
    storage_rates: StorageRates | None = None
    progress: Callable[[str], None] = _print

    def add(self, figure: Figure) -> Figure:
        """Record a figure and say so on stderr."""
        self.figures.append(figure)
        extra = ""
        if figure.storage_share is not None:
            extra = f"  ({figure.storage_share:.0%} of storage's {figure.storage_ceiling:.0f})"
        self.progress(f"  {figure.name} [{figure.backend}]: {figure.value:.4g} "
                      f"{figure.unit}{extra}")
        return figure

    def find(self, key: str, backend: str) -> Figure | None:
        """The figure recorded under ``key`` for ``backend``, if any."""
        return next((f for f in self.figures if f.key == key and f.backend == backend), None)
