"""The host's concurrency comes from the app, as in Azure: host.json's durableTask throttles
bound activities and episodes, PYTHON_THREADPOOL_THREAD_COUNT bounds sync activities.

Each app here counts its activities while they run (they run in the host's process) and
holds each one until as many as it asks for run together, or a moment has passed; the
orchestration returns the most that ever ran at once. Apps run on ``LocalHost`` over a
memory task hub, so the settings go the whole way: files -> HostSettings -> runtime.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from devhost.clock import VirtualClock
from devhost.host import LocalHost
from devhost.taskhub.base import RuntimeStatus
from devhost.taskhub.memory import MemoryTaskHub
from tests.support.process_state import process_state_kept

AppWriter = Callable[..., Path]

COUNTING_APP = """
import asyncio
import threading
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# How long an activity waits for the others it asks for before it gives up and ends.
HOLD_SECONDS = 0.5
running = {"async": 0, "sync": 0}
peak = {"async": 0, "sync": 0}
changed = threading.Condition()


def started(kind):
    with changed:
        running[kind] += 1
        peak[kind] = max(peak[kind], running[kind])
        changed.notify_all()


def ended(kind):
    with changed:
        running[kind] -= 1
        return peak[kind]


@app.orchestration_trigger(context_name="context")
def fan_out(context):
    spec = context.get_input()
    results = yield context.task_all([context.call_activity(spec["activity"], spec["together"])
                                      for _ in range(spec["count"])])
    return max(results)


@app.activity_trigger(input_name="together")
async def slow_async(together):
    started("async")
    deadline = time.monotonic() + HOLD_SECONDS
    while running["async"] < together and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)
    return ended("async")


@app.activity_trigger(input_name="together")
def slow_sync(together):
    started("sync")
    with changed:
        changed.wait_for(lambda: running["sync"] >= together, timeout=HOLD_SECONDS)
    time.sleep(0.02)
    return ended("sync")
"""


@asynccontextmanager
async def hosted(app_dir: Path) -> AsyncIterator[LocalHost]:
    """``app_dir`` on a LocalHost over a memory hub; the process state is put back after."""
    with process_state_kept():
        host = LocalHost(app_dir, lambda _settings: MemoryTaskHub(VirtualClock()), port=0)
        await host.start()
        try:
            yield host
        finally:
            await host.stop()


def counting_app(write_app: AppWriter, host_json: dict[str, Any] | None = None,
                 values: dict[str, str] | None = None) -> Path:
    """The counting app with ``host.json``'s durableTask section and ``Values`` given."""
    return write_app(COUNTING_APP,
                     host__json=json.dumps({"version": "2.0",
                                            "extensions": {"durableTask": host_json or {}}}),
                     local__settings__json=json.dumps({"Values": values or {}}))


async def most_at_once(host: LocalHost, activity: str, count: int, together: int) -> int:
    """Fan out ``count`` of ``activity``, each waiting for ``together`` to run at once;
    the most that ran at once."""
    assert host.runtime is not None
    client = host.runtime.client
    instance = await client.start_new("fan_out", None, json.dumps(
        {"activity": activity, "count": count, "together": together}))
    record = await client.wait_for(instance, timeout=30)
    assert record.runtime_status == RuntimeStatus.COMPLETED, record.output
    return int(json.loads(record.output or "0"))


async def test_async_activities_never_exceed_max_concurrent_activity_functions(
        write_app: AppWriter) -> None:
    """With maxConcurrentActivityFunctions 2, five slow async activities run two at a time."""
    app = counting_app(write_app, {"maxConcurrentActivityFunctions": 2})
    async with hosted(app) as host:
        assert await most_at_once(host, "slow_async", count=5, together=5) == 2


async def test_async_activities_run_together_under_the_default_limit(
        write_app: AppWriter) -> None:
    """Without a throttle in host.json, the same five async activities all run at once."""
    async with hosted(counting_app(write_app)) as host:
        assert await most_at_once(host, "slow_async", count=5, together=5) == 5


async def test_sync_activities_never_exceed_the_python_thread_count(
        write_app: AppWriter) -> None:
    """With PYTHON_THREADPOOL_THREAD_COUNT 2, five blocking sync activities run two at a time."""
    app = counting_app(write_app, values={"PYTHON_THREADPOOL_THREAD_COUNT": "2"})
    async with hosted(app) as host:
        assert await most_at_once(host, "slow_sync", count=5, together=5) == 2


async def test_async_activities_do_not_take_the_sync_threads(write_app: AppWriter) -> None:
    """One thread for sync functions still lets five async activities run at once."""
    app = counting_app(write_app, values={"PYTHON_THREADPOOL_THREAD_COUNT": "1"})
    async with hosted(app) as host:
        assert await most_at_once(host, "slow_async", count=5, together=5) == 5


async def test_the_runtime_takes_its_bounds_from_the_app(write_app: AppWriter) -> None:
    """host.json's throttles and the thread count reach the runtime's workers; episodes run
    on no more loops than maxConcurrentOrchestratorFunctions allows."""
    app = counting_app(write_app, {"maxConcurrentActivityFunctions": 9,
                                   "maxConcurrentOrchestratorFunctions": 1},
                       values={"PYTHON_THREADPOOL_THREAD_COUNT": "3"})
    async with hosted(app) as host:
        assert host.runtime is not None
        workers = host.runtime.workers
        assert (workers.activity_concurrency, workers.sync_threads,
                workers.orchestration_workers) == (9, 3, 1)
        assert await most_at_once(host, "slow_async", count=3, together=3) == 3
