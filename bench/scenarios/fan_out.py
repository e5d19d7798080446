"""Fan-out/fan-in: no-op activities started at once, then all awaited; activities/s."""

from __future__ import annotations

import time

from bench.apps.noop.noop_names import FAN_OUT
from bench.context import Run
from bench.durable import Hosted, run_to_end
from bench.scenarios.common import durable_figure


async def _fan_out(hosted: Hosted, size: int) -> float:
    started = time.perf_counter()
    await run_to_end(hosted, FAN_OUT, size)
    return time.perf_counter() - started


async def scenario(run: Run) -> None:
    """Fan-out/fan-in on every backend."""
    size = run.sizes.fan_out
    for backend in run.backends.names:
        await durable_figure(run, backend, key="fan_out", name=f"fan-out/fan-in of {size}",
                             unit="activities/s", per="activity", size=size, work=_fan_out,
                             parallel=True)
