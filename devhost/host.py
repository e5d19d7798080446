"""The local host: an app folder's functions served over HTTP, its durable work on a task hub.

This is what ``make run`` and the end-to-end tests start. It reaches the app only through
the app folder's ``function_app`` (devhost.loader).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from devhost.engine.runtime import DurableRuntime
from devhost.http_frontend import HttpFrontEnd
from devhost.keys import HostKeys
from devhost.loader import FunctionIndex, load_app
from devhost.settings import HostSettings, apply_values, load_settings
from devhost.taskhub.base import TaskHub

log = logging.getLogger(__name__)

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
        orchestration_workers: int = 4,
        activity_concurrency: int = 32,
    ) -> None:
        """Prepare to host ``app_dir`` with the task hub ``task_hub`` makes from its settings."""
        self.app_dir = Path(app_dir).resolve()
        self._task_hub = task_hub
        self._host = host
        self._port = port
        self._orchestration_workers = orchestration_workers
        self._activity_concurrency = activity_concurrency
        self.settings: HostSettings | None = None
        self.index: FunctionIndex | None = None
        self.keys: HostKeys | None = None
        self.runtime: DurableRuntime | None = None
        self.frontend: HttpFrontEnd | None = None

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
        apply_values(self.settings)  # the app reads its settings from the environment
        self.index = load_app(self.app_dir)
        self.keys = HostKeys.for_settings(self.settings)
        self.runtime = DurableRuntime(
            self._task_hub(self.settings), self.index.orchestrators, self.index.activities,
            orchestration_workers=self._orchestration_workers,
            activity_concurrency=self._activity_concurrency)
        await self.runtime.start()
        self.frontend = HttpFrontEnd(self.index, self.runtime, self.keys, self.settings,
                                     self._host, self._port)
        try:
            await self.frontend.start()
        except BaseException:
            await self.runtime.stop()
            raise

    async def stop(self) -> None:
        """Stop serving, then stop the runtime; safe to call twice."""
        frontend, self.frontend = self.frontend, None
        runtime, self.runtime = self.runtime, None
        if frontend is not None:
            await frontend.stop()
        if runtime is not None:
            await runtime.stop()

    async def __aenter__(self) -> LocalHost:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()
