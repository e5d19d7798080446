"""Running durable work for a benchmark: load an app, run a runtime over a hub, time it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.context import Run
from bench.figures import AZURITE
from bench.storage_calls import QUEUE, TABLE, calls_of, counting
from devhost.app.loader import FunctionIndex, import_state_kept, load_app
from devhost.cli import DEFAULT_REPLAY_PROCESSES
from devhost.engine.client import has_ended
from devhost.engine.replay_processes import ReplayProcesses
from devhost.engine.runtime import DurableRuntime
from devhost.errors import StorageUnavailable
from devhost.taskhub.base import (
    Commit,
    InstanceRecord,
    OrchestrationWorkItem,
    RuntimeStatus,
    TaskHub,
)

BENCH_APP_DIR = Path(__file__).resolve().parent / "apps" / "noop"
ORDER_APP_DIR = Path(__file__).resolve().parents[1]

# Bounds on one measured run; generous, so a slow machine reports slow figures instead of
# failing.
RUN_TIMEOUT_SECONDS = 300.0
# After a failed commit, the record is read again this often, this many times at most.
REREAD_SECONDS = 1.0
REREAD_ATTEMPTS = 60
# As `make run` hosts an app (devhost.cli): orchestrators replay in one worker process.
REPLAY_PROCESSES = DEFAULT_REPLAY_PROCESSES

_indexes: dict[Path, FunctionIndex] = {}


def app_index(app_dir: Path) -> FunctionIndex:
    """The app's function index, loaded once per process (an app indexes only once)."""
    app_dir = app_dir.resolve()
    if app_dir not in _indexes:
        with import_state_kept():
            _indexes[app_dir] = load_app(app_dir)
    return _indexes[app_dir]


class CommitWatch:
    """Sees every record the runtime commits to one hub, so waiting costs no storage calls.

    ``DurableRuntime.wait_for`` reads the record again after every commit of any
    instance; on Azurite those reads would be counted, and paid, as the scenario's own.
    This wraps ``complete_orchestration_work`` of the one hub object the bench made.
    """

    def __init__(self, hub: TaskHub) -> None:
        self.hub = hub
        self._waiting: dict[str, list[tuple[Callable[[InstanceRecord], bool],
                                            asyncio.Future[InstanceRecord]]]] = {}
        self.listeners: list[Callable[[InstanceRecord], None]] = []
        original = hub.complete_orchestration_work

        async def observed(item: OrchestrationWorkItem, commit: Commit) -> None:
            record = commit.record
            try:
                await original(item, commit)
            except Exception:
                if record is not None:
                    self._read_again_later(record.instance_id)
                raise
            if record is not None:
                self._committed(record)

        hub.complete_orchestration_work = observed  # type: ignore[method-assign]
        self._rereads: set[asyncio.Task[None]] = set()

    def _read_again_later(self, instance_id: str) -> None:
        """A commit that raised may still have been applied (a storage timeout after the
        write), and its instance then never commits that state again: read the record
        once storage answers, as a client polling the status would."""
        task = asyncio.get_running_loop().create_task(self._read_again(instance_id))
        self._rereads.add(task)
        task.add_done_callback(self._rereads.discard)

    async def _read_again(self, instance_id: str) -> None:
        for _attempt in range(REREAD_ATTEMPTS):
            await asyncio.sleep(REREAD_SECONDS)
            try:
                record = await self.hub.get_instance(instance_id)
            except StorageUnavailable:
                continue
            if record is not None:
                self._committed(record)
            return

    def _committed(self, record: InstanceRecord) -> None:
        for condition, future in self._waiting.get(record.instance_id, []):
            if not future.done() and condition(record):
                future.set_result(record)
        for listener in self.listeners:
            listener(record)

    async def until(self, instance_id: str,
                    condition: Callable[[InstanceRecord], bool] = has_ended,
                    timeout: float = RUN_TIMEOUT_SECONDS) -> InstanceRecord:
        """The instance's record once it meets ``condition`` (TimeoutError after
        ``timeout``); one storage read, for a condition met already."""
        future: asyncio.Future[InstanceRecord] = asyncio.get_running_loop().create_future()
        waiters = self._waiting.setdefault(instance_id, [])
        waiters.append((condition, future))
        try:
            record = await self.hub.get_instance(instance_id)
            if record is not None and condition(record):
                return record
            return await asyncio.wait_for(future, timeout)
        finally:
            waiters.remove((condition, future))
            if not waiters:
                del self._waiting[instance_id]


@dataclass
class Hosted:
    """A started runtime and the watch on its hub's commits."""

    runtime: DurableRuntime
    watch: CommitWatch


@contextlib.asynccontextmanager
async def running(hub: TaskHub, index: FunctionIndex) -> AsyncIterator[Hosted]:
    """A started runtime for ``index`` over ``hub`` (watched), stopped afterwards.

    Its orchestrators replay in worker processes, as ``make run`` hosts an app.
    """
    watch = CommitWatch(hub)
    replay = ReplayProcesses(index.app_dir, REPLAY_PROCESSES)
    await asyncio.to_thread(replay.start)
    try:
        runtime = DurableRuntime(hub, index.orchestrators, index.activities, replay=replay,
                                 entities=index.entities)
        await runtime.start()
        try:
            yield Hosted(runtime, watch)
        finally:
            await runtime.stop()
    finally:
        await asyncio.to_thread(replay.close)


async def run_to_end(hosted: Hosted, name: str, count: int) -> str:
    """Start orchestrator ``name`` with ``{"count": count}`` and wait for it to complete."""
    instance_id = await hosted.runtime.client.start_new(name, None, json.dumps({"count": count}))
    record = await hosted.watch.until(instance_id)
    if record.runtime_status != RuntimeStatus.COMPLETED:
        raise RuntimeError(f"{name} ended {record.runtime_status.value}: {record.output}")
    return instance_id


@dataclass
class Measured:
    """Repeated timings of one piece of work and the storage calls made meanwhile."""

    seconds: list[float]
    queue_calls: int = 0
    table_calls: int = 0

    @property
    def median(self) -> float:
        """The median time of one run."""
        return statistics.median(self.seconds)


async def measure(run: Run, backend: str, work: Callable[[], Awaitable[float]], *,
                  warm_up: Callable[[], Awaitable[float]] | None = None,
                  repeats: int | None = None) -> Measured:
    """Time ``work`` (which returns its own seconds) ``repeats`` times after one warm-up
    run (``warm_up``, else ``work`` itself), counting storage calls on Azurite."""
    await (warm_up or work)()  # connections, caches, first imports
    counter = run.backends.calls
    seconds = []
    with counting(counter):
        before = counter.snapshot()
        for _ in range(repeats or run.sizes.repeats):
            seconds.append(await work())
        made = counter.since(before)
    if backend != AZURITE:
        return Measured(seconds)
    return Measured(seconds, calls_of(made, QUEUE), calls_of(made, TABLE))

