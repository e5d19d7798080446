"""The workers: loops that take orchestration and activity work from a task hub and do it.

Orchestration work items go to an episode runner and their commits back to the hub;
activities run with bounded concurrency and renew their task's lease while they run. Both
loops back off while storage is down and carry on once it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from devhost.app.loader import ActivityFunction, OrchestratorFunction
from devhost.engine.activities import run_activity
from devhost.engine.client import ChangeSignal, DurableClient
from devhost.engine.episodes import EpisodeRunner
from devhost.engine.executor import Orchestrators
from devhost.engine.protocol import task_failed
from devhost.engine.sdk_call import ReplayedError
from devhost.engine.versioning import VersionRejected
from devhost.errors import (
    LockLost,
    PayloadTooLarge,
    ReplayWorkerDied,
    ReplayWorkerLost,
    StorageUnavailable,
)
from devhost.taskhub.base import (
    ActivityWorkItem,
    Commit,
    Message,
    OrchestrationWorkItem,
    TaskHub,
)

__all__ = ["Workers"]

log = logging.getLogger(__name__)

FETCH_WAIT_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 5.0
NOT_STARTED_RETRY_SECONDS = 0.2
# How soon the work of an instance whose version this host may not run is looked at again.
VERSION_RETRY_SECONDS = 5.0
# How soon an episode whose replay worker died is tried again (on fresh workers).
REPLAY_RETRY_SECONDS = 0.5
# An instance whose episodes end their worker process this many times in a row is failed
# rather than replayed forever (user code that exits the process, or crashes it).
MAX_WORKER_DEATHS = 3
# How often instances stuck in Pending (their start message lost) are started again.
PENDING_SWEEP_SECONDS = 60.0
# How often, and how patiently, an activity's result is reported while storage fails.
REPORT_ATTEMPTS = 5
REPORT_FIRST_PAUSE_SECONDS = 0.2


class _Backoff:
    """Growing pauses while the task hub's storage is down; back to none once it answers."""

    def __init__(self) -> None:
        self._seconds = 0.0

    def reset(self) -> None:
        """Storage answered: the next failure starts from the shortest pause again."""
        self._seconds = 0.0

    async def wait(self, error: StorageUnavailable) -> None:
        """Log the failure and pause, twice as long as last time (up to a bound)."""
        self._seconds = min(MAX_BACKOFF_SECONDS, self._seconds * 2 or 0.1)
        log.warning("task hub unavailable (%s); retrying in %.1fs", error, self._seconds)
        await asyncio.sleep(self._seconds)


class Workers:
    """The orchestration loops, the activity loop and the Pending sweep of one app."""

    def __init__(
        self,
        hub: TaskHub,
        episodes: EpisodeRunner,
        activities: Mapping[str, ActivityFunction],
        client: DurableClient,
        *,
        orchestration_workers: int = 4,
        activity_concurrency: int = 32,
        sync_threads: int | None = 32,
        pending_sweep_seconds: float = PENDING_SWEEP_SECONDS,
    ) -> None:
        """Bind the loops to ``hub``; nothing runs until :meth:`start`.

        ``client`` sends again the starts the sweep finds lost; its change signal wakes
        waiters after every commit. ``orchestration_workers`` loops replay episodes, so at
        most that many at once; at most ``activity_concurrency`` activities run at once,
        sync or async (each holds its slot until it ends, as with the Durable extension's
        ``maxConcurrentActivityFunctions``). Sync ones run on ``sync_threads`` threads
        (None: Python's default pool size, as the Python worker sizes its pool when
        ``PYTHON_THREADPOOL_THREAD_COUNT`` is unset); async ones on the event loop.
        """
        counts = {"orchestration_workers": orchestration_workers,
                  "activity_concurrency": activity_concurrency}
        if sync_threads is not None:
            counts["sync_threads"] = sync_threads
        for name, count in counts.items():
            if count < 1:
                raise ValueError(f"{name} must be at least 1, not {count}")
        self.hub = hub
        self.episodes = episodes
        self.activities = activities
        self._client = client
        self._changes: ChangeSignal = client.changes
        # The bounds the loops keep (read-only, for the host's log and tests).
        self.orchestration_workers = orchestration_workers
        self.activity_concurrency = activity_concurrency
        self.sync_threads = sync_threads
        self._pending_sweep_seconds = pending_sweep_seconds
        self._activity_slots = asyncio.Semaphore(activity_concurrency)
        # The Python worker's one pool for sync functions: activities and HTTP functions.
        self.sync_pool = ThreadPoolExecutor(max_workers=sync_threads,
                                            thread_name_prefix="sync-function")
        self._tasks: set[asyncio.Task[None]] = set()
        # Per instance: episodes in a row whose replay worker process died meanwhile.
        self._worker_deaths: dict[str, int] = {}
        self._stopping = asyncio.Event()

    def start(self) -> None:
        """Start every loop on the running event loop."""
        for number in range(self.orchestration_workers):
            self._spawn(self._orchestration_loop(), f"orchestrations-{number}")
        self._spawn(self._activity_loop(), "activities")
        self._spawn(self._pending_sweep_loop(), "pending-sweep")

    async def stop(self) -> None:
        """Stop taking work and cancel what runs; running sync activities end on their own."""
        self._stopping.set()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.sync_pool.shutdown(wait=False, cancel_futures=True)
        self.episodes.close()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pending_sweep_loop(self) -> None:
        """Now and then, start again instances that stayed Pending longer than a sweep.

        The host's start covers a crashed host; this covers a start whose message could
        not be sent while its record could not be removed either (storage failing midway).
        """
        while not self._stopping.is_set():
            await asyncio.sleep(self._pending_sweep_seconds)
            cutoff = self.hub.clock.now() - timedelta(seconds=self._pending_sweep_seconds)
            await self._client.requeue_unstarted(created_before=cutoff)

    # Orchestrations ------------------------------------------------------------------------

    async def _orchestration_loop(self) -> None:
        backoff = _Backoff()
        while not self._stopping.is_set():
            try:
                item = await self.hub.fetch_orchestration_work(FETCH_WAIT_SECONDS)
                if item is not None:
                    await self._process(item)
                backoff.reset()
            except StorageUnavailable as error:
                await backoff.wait(error)

    def _failing_stand_ins(self, instance_id: str) -> Orchestrators | None:
        """For an instance that keeps ending its replay worker, orchestrators that fail its
        next episode with the reason; None for every other instance."""
        deaths = self._worker_deaths.get(instance_id, 0)
        if deaths < MAX_WORKER_DEATHS:
            return None
        return self._failing_with(
            f"its episodes ended the orchestrator worker process {deaths} times in a row "
            f"(the host log says how); the instance is failed instead of replayed again")

    def _failing_with(self, reason: str) -> Orchestrators:
        """Stand-ins for the app's orchestrators that fail the episode with ``reason``."""
        def fail(_context_json: str) -> str:
            raise ReplayedError(reason)

        return {name: OrchestratorFunction(name, fail) for name in self.episodes.orchestrators}

    async def _process(self, item: OrchestrationWorkItem) -> None:
        try:
            commit = await self.episodes.run(item, self.hub.clock.now(),
                                             self._failing_stand_ins(item.instance_id))
        except asyncio.CancelledError:
            # Stopped mid-episode: hand the messages back rather than keep them leased.
            with contextlib.suppress(Exception):
                await self.hub.abandon_orchestration_work(item)
            raise
        except VersionRejected as rejected:
            # Reject: the work stays for a host that may run this version.
            log.info("%s; its work waits", rejected)
            await self.hub.abandon_orchestration_work(item, VERSION_RETRY_SECONDS)
            return
        except ReplayWorkerLost as lost:
            if isinstance(lost, ReplayWorkerDied):
                self._worker_deaths[item.instance_id] = (
                    self._worker_deaths.get(item.instance_id, 0) + 1)
            await self.hub.abandon_orchestration_work(item, REPLAY_RETRY_SECONDS)
            return
        self._worker_deaths.pop(item.instance_id, None)
        if commit is None:
            await self.hub.abandon_orchestration_work(item, NOT_STARTED_RETRY_SECONDS)
            return
        try:
            try:
                await self.hub.complete_orchestration_work(item, commit)
            except PayloadTooLarge as refused:
                # The hub wrote nothing and the item is still leased: fail the instance.
                # Its own LockLost or StorageUnavailable is handled as the commit's below.
                log.error("instance %s failed: %s", item.instance_id, refused)
                await self._fail_refused(item, str(refused))
                return
        except LockLost:
            log.info("instance %s changed under us; its messages will come again",
                     item.instance_id)
            return
        except StorageUnavailable:
            with contextlib.suppress(StorageUnavailable):
                await self.hub.abandon_orchestration_work(item, 1.0)
            raise
        if commit.record is not None:
            await self._changes.notify()

    async def _fail_refused(self, item: OrchestrationWorkItem, refused: str) -> None:
        """Fail ``item``'s instance because the hub refused to store its state."""
        reason = f"the orchestration's state cannot be stored: {refused}"
        commit = await self.episodes.run(item, self.hub.clock.now(), self._failing_with(reason))
        try:
            await self.hub.complete_orchestration_work(item, commit or Commit(None))
        except PayloadTooLarge:
            # Even the failure holds events too big to keep: drop the messages instead.
            log.error("instance %s: its messages are dropped, they cannot be stored",
                      item.instance_id)
            await self.hub.complete_orchestration_work(item, Commit(None))
        await self._changes.notify()

    # Activities ----------------------------------------------------------------------------

    async def _activity_loop(self) -> None:
        backoff = _Backoff()
        while not self._stopping.is_set():
            await self._activity_slots.acquire()
            try:
                item = await self.hub.fetch_activity_work(FETCH_WAIT_SECONDS)
                backoff.reset()
            except StorageUnavailable as error:
                self._activity_slots.release()
                await backoff.wait(error)
                continue
            if item is None:
                self._activity_slots.release()
                continue
            self._spawn(self._run_activity(item), f"activity-{item.task.name}")

    async def _run_activity(self, item: ActivityWorkItem) -> None:
        try:
            result = await self._while_leased(
                item, run_activity(item.task, self.activities, self.sync_pool, self.hub.clock.now))
            for attempt in range(REPORT_ATTEMPTS):
                try:
                    await self.hub.complete_activity_work(item, result)
                    return
                except PayloadTooLarge as refused:
                    # The result cannot be stored: the orchestration gets a failure instead.
                    result = _refused_result(item, str(refused), self.hub.clock.now())
                    continue
                except StorageUnavailable:
                    await asyncio.sleep(REPORT_FIRST_PAUSE_SECONDS * 2 ** attempt)
            # The task stays leased; its lease runs out and it runs again (at least once).
            log.error("could not report activity %s of %s; it will run again",
                      item.task.name, item.task.instance_id)
        finally:
            self._activity_slots.release()

    async def _while_leased(self, item: ActivityWorkItem, work: Awaitable[Message]) -> Message:
        """Await ``work``, renewing the task's lease meanwhile so it is not run twice."""
        running = asyncio.ensure_future(work)
        interval = self.hub.activity_renewal_seconds
        while interval and not running.done():
            await asyncio.wait({running}, timeout=interval)
            if not running.done():
                try:
                    if not await self.hub.renew_activity_work(item):
                        log.warning("lost the lease of activity %s of %s; it may run twice",
                                    item.task.name, item.task.instance_id)
                        interval = None
                except StorageUnavailable as error:
                    log.warning("could not renew activity lease (%s); trying again", error)
        return await running


def _refused_result(item: ActivityWorkItem, refused: str, now: datetime) -> Message:
    """The TaskFailed message for an activity whose result the hub refused."""
    event = task_failed(item.task.task_id,
                        f"Activity function '{item.task.name}' failed: its result cannot be "
                        f"stored: {refused}", None, now)
    if item.task.execution_id:
        event["ExecutionId"] = item.task.execution_id
    return Message(item.task.instance_id, event)
