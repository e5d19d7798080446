"""What the durable scenarios share: one figure per backend from a timed piece of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bench.context import Run
from bench.durable import BENCH_APP_DIR, Hosted, app_index, measure, running
from bench.figures import AZURITE, Figure
from bench.scenarios.storage import rates_for

# work(runtime, size) -> seconds the measured part took
Work = Callable[[Hosted, int], Awaitable[float]]

WARM_UP_SIZE = 5


async def durable_figure(run: Run, backend: str, *, key: str, name: str, unit: str,
                         per: str, size: int, work: Work, parallel: bool) -> Figure:
    """Run ``work`` of ``size`` units on a fresh hub of ``backend`` and record
    ``size / median seconds``; on Azurite also the storage calls per unit and the
    storage ceiling (with serial or ``parallel`` rates, as the work uses storage)."""
    index = app_index(BENCH_APP_DIR)
    hub = run.backends.make_hub(backend, key.replace("_", ""))
    async with running(hub, index) as hosted:
        async def once() -> float:
            return await work(hosted, size)

        async def warm() -> float:
            return await work(hosted, min(size, WARM_UP_SIZE))

        measured = await measure(run, backend, once, warm_up=warm)
    figure = Figure(key, name, backend, size / measured.median, unit)
    if backend == AZURITE:
        units = size * len(measured.seconds)
        calls = measured.queue_calls + measured.table_calls
        rates = await rates_for(run)
        figure.storage_ceiling = rates.ceiling(units, measured.queue_calls,
                                               measured.table_calls, parallel)
        run.add(figure)
        run.add(Figure(f"{key}_calls", f"{name}: storage calls per {per}", AZURITE,
                       calls / units, "calls"))
        return figure
    return run.add(figure)
