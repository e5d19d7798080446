"""A chain of no-op activities in one orchestration: activities per second.

Also the SDK's ceiling for the same chain: the SDK's own time to replay each of the
chain's episodes (histories built with devhost.engine.protocol), summed. An in-memory host can
go no faster than that; the target is two thirds of it.
"""

from __future__ import annotations

import statistics
import time

from bench.apps.noop.noop_names import CHAIN
from bench.context import Run
from bench.durable import BENCH_APP_DIR, Hosted, app_index, run_to_end
from bench.figures import NO_BACKEND, Figure
from bench.histories import chain_sdk_seconds
from bench.scenarios.common import durable_figure
from bench.targets import SDK_CEILING_KEY


async def _chain(hosted: Hosted, size: int) -> float:
    started = time.perf_counter()
    await run_to_end(hosted, CHAIN, size)
    return time.perf_counter() - started


def sdk_ceiling(run: Run, size: int) -> Figure:
    """Activities per second the SDK's replay alone allows for a ``size`` chain."""
    index = app_index(BENCH_APP_DIR)
    chain_sdk_seconds(index, min(size, 10))  # warm-up
    seconds = statistics.median(chain_sdk_seconds(index, size)
                                for _ in range(run.sizes.repeats))
    return run.add(Figure(SDK_CEILING_KEY, f"sequential chain of {size}: SDK replay ceiling",
                          NO_BACKEND, size / seconds, "activities/s"))


async def scenario(run: Run) -> None:
    """The chain on every backend, and the SDK's ceiling for it."""
    size = run.sizes.chain
    sdk_ceiling(run, size)
    for backend in run.backends.names:
        await durable_figure(run, backend, key="chain", name=f"sequential chain of {size}",
                             unit="activities/s", per="step", size=size, work=_chain,
                             parallel=False)
