"""The local host: an app folder's functions served over HTTP, its durable work on a task hub.

This is what ``make run`` and the end-to-end tests start. It reaches the app only through
the app folder's ``function_app`` (devhost.app.loader).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from devhost.app.loader import FunctionIndex, load_app
from devhost.app.settings import HostSettings, apply_values, load_settings
from devhost.engine.replay_processes import ReplayProcesses
from devhost.engine.runtime import DurableRuntime
from devhost.http.cors import CorsPolicy
from devhost.http.keys import HostKeys
from devhost.http.server import HttpFrontEnd
from devhost.taskhub.base import TaskHub
from devhost.triggers.options import load_queues_options
from devhost.triggers.service import TriggerService

log = logging.getLogger(__name__)

# Episodes replay on one thread or a few worker processes: more loops than this fetch work
# they cannot replay any sooner. maxConcurrentOrchestratorFunctions may lower it.
ORCHESTRATION_LOOPS = 4

TaskHubFactory = Callable[[HostSettings], TaskHub]


class LocalHost:
    """Loads an app, runs its durable runtime and serves its HTTP functions."""

    def __init__(
        self,
        app_dir: Path,
        task_hub: TaskHubFactory,
        *,
        host: str = "127.0.0.1",
        port: int = 7071,
        orchestration_workers: int = ORCHESTRATION_LOOPS,
        activity_concurrency: int | None = None,
        replay_processes: int = 0,
        cors: CorsPolicy | None = None,
    ) -> None:
        """Prepare to host ``app_dir`` with the task hub ``task_hub`` makes from its settings.

        ``replay_processes`` > 0 replays orchestrators in that many worker processes (as
        Azure's Python worker does); 0 replays them on a thread of this process.

        Concurrency comes from the app, as in Azure: at most ``host.json``'s
        ``maxConcurrentActivityFunctions`` activities at once (``activity_concurrency``
        replaces it when given), sync ones on ``PYTHON_THREADPOOL_THREAD_COUNT`` threads,
        and at most ``maxConcurrentOrchestratorFunctions`` episodes at once, on no more
        than ``orchestration_workers`` loops.

        ``cors`` replaces ``Host.CORS`` of ``local.settings.json``, as Core Tools' ``--cors``
        option does.
        """
        self.app_dir = Path(app_dir).resolve()
        self._task_hub = task_hub
        self._host = host
        self._port = port
        self._orchestration_workers = orchestration_workers
        self._activity_concurrency = activity_concurrency
        self._replay_processes = replay_processes
        self._cors = cors
        self.replay: ReplayProcesses | None = None
        self.settings: HostSettings | None = None
        self.index: FunctionIndex | None = None
        self.keys: HostKeys | None = None
        self.runtime: DurableRuntime | None = None
        self.frontend: HttpFrontEnd | None = None
        self.triggers: TriggerService | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` once started."""
        if self.frontend is None:
            raise RuntimeError("the host has not been started")
        return self.frontend.base_url

    async def start(self) -> None:
        """Read settings, index the app, start the runtime, then serve HTTP.

        Raises ``AppLoadError`` for an app it cannot host, before anything runs.
        """
        self.settings = load_settings(self.app_dir)
        if self._cors is not None:
            self.settings = replace(self.settings, cors=self._cors)
        apply_values(self.settings)  # the app reads its settings from the environment
        self.index = load_app(self.app_dir)
        self.keys = HostKeys.for_settings(self.settings)
        try:
            if self._replay_processes > 0:
                self.replay = ReplayProcesses(self.app_dir, self._replay_processes)
                await asyncio.to_thread(self.replay.start)
            settings = self.settings
            activities = self._activity_concurrency or settings.max_concurrent_activities
            episodes = min(self._orchestration_workers, settings.max_concurrent_orchestrators)
            log.info("at most %d activities at once (sync ones on %s threads), at most %d "
                     "episodes at once", activities,
                     settings.thread_count or "Python's default number of", episodes)
            runtime = DurableRuntime(
                self._task_hub(settings), self.index.orchestrators, self.index.activities,
                replay=self.replay, orchestration_workers=episodes,
                activity_concurrency=activities, sync_threads=settings.thread_count,
                versions=settings.versions, entities=self.index.entities)
            await runtime.start()
            self.runtime = runtime
            frontend = HttpFrontEnd(self.index, runtime.client, self.keys, self.settings,
                                    self._host, self._port,
                                    sync_pool=runtime.workers.sync_pool)
            await frontend.start()
            self.frontend = frontend
            await self._start_triggers(runtime, frontend)
        except BaseException:
            await self.stop()  # what did start stops again: runtime, replay workers
            raise

    async def _start_triggers(self, runtime: DurableRuntime, frontend: HttpFrontEnd) -> None:
        """Start the app's timer and queue functions (they call the durable client over
        HTTP, so they start after the front end)."""
        assert self.index is not None and self.settings is not None
        with_outputs = [function for function in self.index.http if function.outputs]
        if not self.index.triggers and not with_outputs:
            return
        settings = self.settings
        triggers = TriggerService(
            self.index.triggers, runtime.hub, settings.get,
            load_queues_options(self.app_dir, settings.get), frontend.client_binding_json(),
            sync_pool=runtime.workers.sync_pool)
        self.triggers = triggers
        for function in with_outputs:
            frontend.output_writers[function.name] = triggers.writer(function.name,
                                                                     function.outputs)
        await triggers.start()

    async def stop(self) -> None:
        """Stop the triggers, then serving, then the runtime; safe to call twice."""
        triggers, self.triggers = self.triggers, None
        if triggers is not None:
            await triggers.stop()
        frontend, self.frontend = self.frontend, None
        runtime, self.runtime = self.runtime, None
        replay, self.replay = self.replay, None
        if frontend is not None:
            await frontend.stop()
        if runtime is not None:
            await runtime.stop()
        if replay is not None:
            await asyncio.to_thread(replay.close)

    async def __aenter__(self) -> LocalHost:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()
