"""The durable runtime of one app on one task hub: its client and its workers together.

``client`` starts, signals and inspects instances; ``workers`` run their episodes and
activities. The host and tests hold one runtime and reach each half through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from devhost.app.loader import ActivityFunction
from devhost.clock import VirtualClock
from devhost.engine.client import DurableClient
from devhost.engine.episodes import EpisodeRunner, InProcessEpisodes, WorkerProcessEpisodes
from devhost.engine.executor import Orchestrators
from devhost.engine.replay_processes import ReplayProcesses
from devhost.engine.versioning import NO_VERSIONING, VersionPolicy
from devhost.engine.workers import PENDING_SWEEP_SECONDS, Workers
from devhost.taskhub.base import TaskHub

__all__ = ["DurableRuntime"]


class DurableRuntime:
    """Runs orchestrations and activities of one app on one task hub."""

    def __init__(
        self,
        hub: TaskHub,
        orchestrators: Orchestrators,
        activities: Mapping[str, ActivityFunction],
        *,
        replay: ReplayProcesses | None = None,
        orchestration_workers: int = 4,
        activity_concurrency: int = 32,
        sync_threads: int | None = 32,
        pending_sweep_seconds: float = PENDING_SWEEP_SECONDS,
        versions: VersionPolicy = NO_VERSIONING,
        episodes: EpisodeRunner | None = None,
    ) -> None:
        """Bind the app's functions to ``hub``; nothing runs until :meth:`start`.

        With ``replay`` (started by its owner) orchestrators replay in its worker
        processes; without, on a thread of this process. At most ``orchestration_workers``
        episodes and ``activity_concurrency`` activities run at once; sync activities on
        ``sync_threads`` threads (None: Python's default pool size). ``LocalHost`` takes
        all three from the app's ``host.json`` and app settings, and ``versions`` (which
        instance versions run, which version new ones get) from ``host.json`` too.
        ``episodes`` replaces the runner chosen by ``replay`` (the test kit replays on the
        event loop's thread).
        """
        self.hub = hub
        self.client = DurableClient(hub, orchestrators, default_version=versions.default_version)
        if episodes is None:
            episodes = (
                WorkerProcessEpisodes(replay, orchestrators, activities, versions) if replay
                else InProcessEpisodes(orchestrators, activities, versions))
        self.workers = Workers(hub, episodes, activities, self.client,
                               orchestration_workers=orchestration_workers,
                               activity_concurrency=activity_concurrency,
                               sync_threads=sync_threads,
                               pending_sweep_seconds=pending_sweep_seconds)

    async def start(self) -> None:
        """Open the task hub, send again the starts a crash may have lost, start the workers."""
        await self.hub.start()
        await self.client.requeue_unstarted()
        self.workers.start()

    async def stop(self) -> None:
        """Stop the workers, then close the task hub."""
        await self.workers.stop()
        await self.hub.close()

    async def advance(self, **parts: float) -> datetime:
        """Move a virtual clock forward (``minutes=30``); timers due by then fire."""
        if not isinstance(self.hub.clock, VirtualClock):
            raise TypeError("only a task hub on a VirtualClock can skip time")
        return await self.hub.clock.advance(timedelta(**parts))
