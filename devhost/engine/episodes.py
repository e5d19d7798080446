"""Episode runners: where a work item's episodes replay through the SDK.

Either on a thread of this process (``InProcessEpisodes``) or in worker processes that
import the app themselves, as Azure's Python worker runs them (``WorkerProcessEpisodes``).
Both run an ``Episodes`` off the event loop, so a long replay never stalls HTTP, storage
calls and activity dispatch meanwhile; both hand back the same ``Commit``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from devhost.engine.executor import Episodes, Orchestrators
from devhost.engine.replay_processes import ReplayProcesses
from devhost.engine.versioning import NO_VERSIONING, VersionPolicy
from devhost.taskhub.base import Commit, OrchestrationWorkItem

__all__ = ["EpisodeRunner", "InProcessEpisodes", "LoopEpisodes", "WorkerProcessEpisodes"]


class EpisodeRunner:
    """Runs episodes on ``threads`` threads, calling the orchestrator handles it holds."""

    def __init__(self, orchestrators: Orchestrators, activities: Collection[str],
                 threads: int, versions: VersionPolicy = NO_VERSIONING) -> None:
        self.orchestrators = orchestrators
        self.activities = frozenset(activities)
        self.versions = versions
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="episodes")

    async def run(self, item: OrchestrationWorkItem, now: datetime,
                  orchestrators: Orchestrators | None = None) -> Commit | None:
        """The commit for ``item`` at ``now`` (None: leave its messages for later).

        ``orchestrators`` replaces the runner's handles for this item only. Raises
        ``ReplayWorkerLost`` when the process replaying it went away, ``VersionRejected``
        when the instance's version is not this host's to run.
        """
        episodes = self._episodes(item, now, orchestrators)
        return await asyncio.get_running_loop().run_in_executor(self._pool, episodes.run)

    def _episodes(self, item: OrchestrationWorkItem, now: datetime,
                  orchestrators: Orchestrators | None) -> Episodes:
        """The episodes of ``item`` with the runner's handles, or ``orchestrators``."""
        return Episodes(item, self.orchestrators if orchestrators is None else orchestrators,
                        now, self.activities, self.versions)

    def close(self) -> None:
        """Stop taking episodes; one already running finishes on its thread."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class InProcessEpisodes(EpisodeRunner):
    """Episodes on one thread of this process, one at a time.

    One thread: the GIL runs one replay at a time here anyway, and episodes stay in the
    order they were fetched.
    """

    def __init__(self, orchestrators: Orchestrators, activities: Collection[str],
                 versions: VersionPolicy = NO_VERSIONING) -> None:
        super().__init__(orchestrators, activities, threads=1, versions=versions)


class LoopEpisodes(EpisodeRunner):
    """Episodes on the event loop's own thread, one at a time, with no thread hop.

    For a host whose loop has nothing else to do meanwhile (the test kit, where a test
    waits for the host to be idle): it saves a thread hand-off per episode, and a replay
    holds up the loop only as long as it would hold the GIL on a thread.
    """

    def __init__(self, orchestrators: Orchestrators, activities: Collection[str],
                 versions: VersionPolicy = NO_VERSIONING) -> None:
        super().__init__(orchestrators, activities, threads=1, versions=versions)

    async def run(self, item: OrchestrationWorkItem, now: datetime,
                  orchestrators: Orchestrators | None = None) -> Commit | None:
        """The commit for ``item`` at ``now``, replayed right here (see the base class)."""
        return self._episodes(item, now, orchestrators).run()


class WorkerProcessEpisodes(EpisodeRunner):
    """Episodes replayed in ``replay``'s worker processes, as many at once as it has.

    ``replay`` is started and closed by its owner (the host), not by this runner.
    """

    def __init__(self, replay: ReplayProcesses, orchestrators: Orchestrators,
                 activities: Collection[str], versions: VersionPolicy = NO_VERSIONING) -> None:
        super().__init__(replay.functions(orchestrators), activities,
                         threads=replay.episode_threads, versions=versions)
        self.replay = replay
