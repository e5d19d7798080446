"""The durable runtime: workers that run episodes and activities over a task hub.

It is also the host's ``DurableService``: the management API and tests start, signal and
inspect instances through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from devhost.app.loader import OrchestratorFunction
from devhost.clock import VirtualClock
from devhost.engine.activities import run_activity
from devhost.engine.executor import Episodes
from devhost.engine.protocol import (
    event_raised,
    execution_started,
    execution_terminated,
    to_json_text,
)
from devhost.engine.sdk_call import ReplayedError
from devhost.errors import (
    InstanceEnded,
    InstanceNotFound,
    LockLost,
    ReplayWorkerDied,
    ReplayWorkerLost,
    StorageUnavailable,
    UnknownOrchestrator,
)
from devhost.taskhub.base import (
    ActivityWorkItem,
    InstanceRecord,
    Message,
    OrchestrationWorkItem,
    RuntimeStatus,
    TaskHub,
)

log = logging.getLogger(__name__)

FETCH_WAIT_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 5.0
NOT_STARTED_RETRY_SECONDS = 0.2
# How soon an episode whose replay worker died is tried again (on fresh workers).
REPLAY_RETRY_SECONDS = 0.5
# An instance whose episodes end their worker process this many times in a row is failed
# rather than replayed forever (user code that exits the process, or crashes it).
MAX_WORKER_DEATHS = 3
# How often instances stuck in Pending (their start message lost) are started again.
PENDING_SWEEP_SECONDS = 60.0


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


def has_ended(record: InstanceRecord) -> bool:
    """The default condition of :meth:`DurableRuntime.wait_for`."""
    return record.runtime_status.has_ended


class DurableRuntime:
    """Runs orchestrations and activities of one app on one task hub."""

    def __init__(
        self,
        hub: TaskHub,
        orchestrators: Mapping[str, Any],
        activities: Mapping[str, Any],
        *,
        orchestration_workers: int = 4,
        activity_concurrency: int = 32,
        pending_sweep_seconds: float = PENDING_SWEEP_SECONDS,
        episode_threads: int = 1,
    ) -> None:
        """Bind the app's functions to ``hub``; nothing runs until :meth:`start`.

        ``episode_threads`` > 1 only pays when the orchestrators replay in other processes
        (devhost.engine.replay_processes): in this one the GIL runs one episode at a time.
        """
        self.hub = hub
        self.clock = hub.clock
        self.orchestrators = orchestrators
        self.activities = activities
        self._orchestration_workers = orchestration_workers
        self._pending_sweep_seconds = pending_sweep_seconds
        self._activity_slots = asyncio.Semaphore(activity_concurrency)
        self._pool = ThreadPoolExecutor(max_workers=activity_concurrency,
                                        thread_name_prefix="activity")
        # Performance (bench): episodes run on a thread of their own, as the Python worker
        # runs a sync orchestrator's ``handle``. An episode replays the whole history (tens
        # of ms for long ones); on the loop it stalled activity dispatch and storage calls
        # meanwhile, so a fan-in met its results one or two at a time and replayed ~50
        # times for 100 activities. Off the loop the results gather while it runs: 5 or 6
        # episodes, in-memory fan-out of 100 ~170 -> ~1,500 activities/s. One thread: the
        # episodes stay one at a time, as they were on the loop (more threads only pay
        # when episodes replay in worker processes, see LocalHost).
        self._episode_pool = ThreadPoolExecutor(max_workers=episode_threads,
                                                thread_name_prefix="episodes")
        self._tasks: set[asyncio.Task[None]] = set()
        # Per instance: episodes in a row whose replay worker process died meanwhile.
        self._worker_deaths: dict[str, int] = {}
        self._stopping = asyncio.Event()
        self._changed = asyncio.Condition()

    # Lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the task hub, queue again the starts a crash may have lost, start the workers."""
        await self.hub.start()
        await self._requeue_unstarted()
        for number in range(self._orchestration_workers):
            self._spawn(self._orchestration_loop(), f"orchestrations-{number}")
        self._spawn(self._activity_loop(), "activities")
        self._spawn(self._pending_sweep_loop(), "pending-sweep")

    async def _pending_sweep_loop(self) -> None:
        """Now and then, start again instances that stayed Pending longer than a sweep.

        The start-up pass covers a crashed host; this covers a start whose message could
        not be sent while its record could not be removed either (storage failing midway),
        on a host that keeps running.
        """
        while not self._stopping.is_set():
            await asyncio.sleep(self._pending_sweep_seconds)
            cutoff = self.clock.now() - timedelta(seconds=self._pending_sweep_seconds)
            await self._requeue_unstarted(created_before=cutoff)

    async def _requeue_unstarted(self, created_before: datetime | None = None) -> None:
        """Send the start message of every instance still Pending again.

        Test-found fix (tests/slow, random host kills): on Azure Storage ``create_instance``
        writes the record before it sends the start message, so a host killed between the
        two left the instance Pending for good, and a client retrying the start with the
        same id was told the order exists. A repeated start carries the same message id
        as the first (the execution id, see ``_start_message``), so where the first did
        reach the queue the engine drops whichever copy comes second.
        """
        try:
            pending = await self.hub.query_instances({RuntimeStatus.PENDING},
                                                     created_to=created_before)
            if pending:
                log.info("queueing the start of %d pending instances again", len(pending))
                await self.hub.send([_start_message(record) for record in pending])
        except StorageUnavailable as error:
            log.warning("pending instances not checked (%s); a start lost in a crash will "
                        "wait for the next host start", error)

    def _spawn(self, work: Any, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Stop taking work, let running activities end, close the hub."""
        self._stopping.set()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._episode_pool.shutdown(wait=False, cancel_futures=True)
        await self.hub.close()

    async def advance(self, **parts: float) -> datetime:
        """Move a virtual clock forward (``minutes=30``); timers due by then fire."""
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("only a task hub on a VirtualClock can skip time")
        return await self.clock.advance(timedelta(**parts))

    # Workers -------------------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

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

    def _orchestrators_for(self, instance_id: str) -> Mapping[str, Any]:
        """The app's orchestrators, or for an instance that keeps killing its replay
        worker, stand-ins that fail its next episode with the reason."""
        deaths = self._worker_deaths.get(instance_id, 0)
        if deaths < MAX_WORKER_DEATHS:
            return self.orchestrators
        reason = (f"its episodes ended the orchestrator worker process {deaths} times in a "
                  f"row (the host log says how); the instance is failed instead of "
                  f"replayed again")

        def fail(_context_json: str) -> str:
            raise ReplayedError(reason)

        return {name: OrchestratorFunction(name, fail) for name in self.orchestrators}

    async def _process(self, item: OrchestrationWorkItem) -> None:
        episodes = Episodes(item, self._orchestrators_for(item.instance_id), self.clock.now())
        try:
            commit = await asyncio.get_running_loop().run_in_executor(self._episode_pool,
                                                                      episodes.run)
        except asyncio.CancelledError:
            # Stopped mid-episode: hand the messages back rather than keep them leased.
            with contextlib.suppress(Exception):
                await self.hub.abandon_orchestration_work(item)
            raise
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
            # A commit without a record carries nothing else: the hub only drops the messages.
            await self.hub.complete_orchestration_work(
                item, commit.new_history, commit.record, commit.outbound,
                commit.activities, replace_history=commit.replace_history)
        except LockLost:
            log.info("instance %s changed under us; its messages will come again",
                     item.instance_id)
            return
        except StorageUnavailable:
            with contextlib.suppress(StorageUnavailable):
                await self.hub.abandon_orchestration_work(item, 1.0)
            raise
        if commit.record is not None:
            await self._notify()

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
                item, run_activity(item.task, self.activities, self._pool, self.clock.now))
            for attempt in range(5):
                try:
                    await self.hub.complete_activity_work(item, result)
                    return
                except StorageUnavailable:
                    await asyncio.sleep(0.2 * 2 ** attempt)
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

    # DurableService --------------------------------------------------------------------------

    async def start_new(self, name: str, instance_id: str | None, input_text: str | None) -> str:
        """Create an instance of orchestrator ``name`` and queue its first episode."""
        if name not in self.orchestrators:
            raise UnknownOrchestrator(f"The function '{name}' doesn't exist, is disabled, or "
                                      "is not an orchestrator function.")
        instance_id = instance_id or uuid.uuid4().hex
        now = self.clock.now()
        record = InstanceRecord(instance_id=instance_id, name=name,
                                runtime_status=RuntimeStatus.PENDING, created_at=now,
                                updated_at=now, input=input_text)
        await self.hub.create_instance(record, _start_message(record))
        await self._notify()
        return instance_id

    async def _live_record(self, instance_id: str) -> InstanceRecord:
        record = await self.hub.get_instance(instance_id)
        if record is None:
            raise InstanceNotFound(instance_id)
        if record.runtime_status.has_ended:
            raise InstanceEnded(instance_id)
        return record

    async def raise_event(self, instance_id: str, name: str, data_text: str | None) -> None:
        """Queue external event ``name`` for a live instance (kept if it is still Pending)."""
        await self._live_record(instance_id)
        await self.hub.send([Message(instance_id, event_raised(name, data_text,
                                                               self.clock.now()))])

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        """Queue the end of a live instance."""
        await self._live_record(instance_id)
        await self.hub.send([Message(instance_id, execution_terminated(reason,
                                                                       self.clock.now()))])

    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """The instance's record."""
        return await self.hub.get_instance(instance_id)

    async def get_history(self, instance_id: str) -> list[dict[str, Any]]:
        """The instance's history."""
        return await self.hub.get_history(instance_id)

    async def query(
        self,
        statuses: set[RuntimeStatus] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> list[InstanceRecord]:
        """Instances matching the filters."""
        return await self.hub.query_instances(statuses, created_from, created_to)

    async def purge(self, instance_id: str) -> bool:
        """Forget an instance."""
        return await self.hub.purge_instance(instance_id)

    # Waiting -------------------------------------------------------------------------------

    async def wait_for(
        self,
        instance_id: str,
        condition: Callable[[InstanceRecord], bool] = has_ended,
        timeout: float = 30.0,
    ) -> InstanceRecord:
        """Wait until the instance's record meets ``condition``; TimeoutError otherwise.

        Woken by this runtime's own commits; it also looks again twice a second, for
        changes made by another process on the same task hub.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            record = await self.hub.get_instance(instance_id)
            if record is not None and condition(record):
                return record
            remaining = deadline - loop.time()
            if remaining <= 0:
                status = record.runtime_status.value if record else "missing"
                raise TimeoutError(f"instance {instance_id} still {status} after {timeout}s")
            async with self._changed:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))


def _start_message(record: InstanceRecord) -> Message:
    """The ExecutionStarted message of a new instance; its id is the execution id, so a
    start sent again (``_requeue_unstarted``) is recognised as the same message."""
    event = execution_started(record.name, record.instance_id, record.input, record.created_at)
    return Message(record.instance_id, event, message_id=record.execution_id)


__all__ = ["DurableRuntime", "has_ended", "to_json_text"]
