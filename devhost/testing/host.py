"""``DurableTestHost``: an app folder on a memory task hub and a virtual clock, for tests.

It hosts the app as the local host does (the same loader, settings, durable runtime, HTTP
front end and management API) with three differences made for tests: the task hub is in
memory and its clock only moves when the test moves it; HTTP goes over a private Unix
socket, not a network port; and every call returns once the host is idle, so a test reads
what the app did without polling.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import azure.durable_functions as df

from devhost.app.loader import FunctionIndex, load_app
from devhost.app.settings import HostSettings, apply_values, load_settings
from devhost.clock import VirtualClock
from devhost.engine.episodes import LoopEpisodes
from devhost.engine.runtime import DurableRuntime
from devhost.http.keys import FUNCTION_KEY_SETTING, HostKeys
from devhost.http.server import HttpFrontEnd
from devhost.taskhub.memory import MemoryTaskHub
from devhost.testing.failures import AppTracebacks
from devhost.testing.instances import Instances, Predicate, Timeout
from devhost.testing.isolation import ProcessSnapshot, use_sdk_session
from devhost.testing.mocks import ActivityFake, ActivityMocks
from devhost.testing.response import Response
from devhost.testing.transport import SocketFolder, UnixHttp, new_session
from devhost.testing.virtual_time import VirtualTime

__all__ = ["DEFAULT_IDLE_SECONDS", "DurableTestHost"]

# The wall-clock bound on one wait for idle: generous, for a loaded machine.
DEFAULT_IDLE_SECONDS = 120.0


class _Parts:
    """What a started host is made of (None before start and after stop)."""

    def __init__(self, settings: HostSettings, index: FunctionIndex, keys: HostKeys,
                 mocks: ActivityMocks, runtime: DurableRuntime, frontend: HttpFrontEnd,
                 http: UnixHttp, time: VirtualTime, instances: Instances) -> None:
        self.settings = settings
        self.index = index
        self.keys = keys
        self.mocks = mocks
        self.runtime = runtime
        self.frontend = frontend
        self.http = http
        self.time = time
        self.instances = instances


class DurableTestHost:
    """An app folder hosted in this process on virtual time, driven by a test.

    Use it as ``async with DurableTestHost(app_dir, settings={...}) as host:``. One host is
    open at a time in a process (the app's imports and settings are process-wide); on exit
    everything it changed in the process is put back, so many hosts run one after another.
    """

    _open: ClassVar[DurableTestHost | None] = None

    def __init__(self, app_dir: str | os.PathLike[str], settings: Mapping[str, str] | None = None,
                 *, start_time: datetime | None = None,
                 idle_seconds: float = DEFAULT_IDLE_SECONDS) -> None:
        """Prepare to host ``app_dir`` with app ``settings`` (environment variables the app
        reads, over those of its ``local.settings.json``).

        The virtual clock starts at ``start_time`` (default: a fixed moment). A host that
        still has work under way after ``idle_seconds`` of wall time raises ``HostNotIdle``.
        """
        self.app_dir = Path(app_dir).resolve()
        for name, value in (settings or {}).items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError(f"settings are strings, as app settings are: {name!r}={value!r}")
        self._settings = dict(settings or {})
        self.clock = VirtualClock(start_time)
        self._idle_seconds = idle_seconds
        self._parts: _Parts | None = None
        self._snapshot: ProcessSnapshot | None = None
        self._folder: SocketFolder | None = None

    # Starting and stopping ---------------------------------------------------------------

    async def start(self) -> None:
        """Load the app and start its host; ``AppLoadError`` for an app it cannot host.

        Raises ``RuntimeError`` while another ``DurableTestHost`` is open in this process.
        """
        if self._parts is not None:
            raise RuntimeError("this DurableTestHost is already started")
        if DurableTestHost._open is not None:
            raise RuntimeError(
                f"another DurableTestHost (of {DurableTestHost._open.app_dir}) is open in this "
                "process: stop it first (the app's imports and settings are process-wide)")
        DurableTestHost._open = self
        self._snapshot = ProcessSnapshot(self.app_dir)
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        os.environ.update(self._settings)
        settings = load_settings(self.app_dir)
        apply_values(settings)  # the app reads its settings from the environment
        index = load_app(self.app_dir)
        keys = HostKeys(settings.get(FUNCTION_KEY_SETTING) or secrets.token_urlsafe(32),
                        secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        hub = MemoryTaskHub(self.clock)
        mocks = ActivityMocks(index.activities)
        tracebacks = AppTracebacks()
        orchestrators = tracebacks.watching(index.orchestrators)
        runtime = DurableRuntime(
            hub, orchestrators, mocks,
            episodes=LoopEpisodes(orchestrators, mocks, settings.versions),
            # Episodes replay on the loop itself, one at a time: one loop fetches them.
            orchestration_workers=1,
            activity_concurrency=settings.max_concurrent_activities,
            sync_threads=settings.thread_count, versions=settings.versions)
        self._folder = SocketFolder()
        frontend = HttpFrontEnd(index, runtime.client, keys, settings,
                                unix_socket=self._folder.socket,
                                sync_pool=runtime.workers.sync_pool)
        http = UnixHttp(self._folder.socket)
        time = VirtualTime(hub, self.clock, self._idle_seconds)
        try:
            await runtime.start()
            await frontend.start()
            # The SDK's client, in the app's functions and here, calls over the socket too.
            use_sdk_session(new_session(self._folder.socket))
            client = df.DurableOrchestrationClient(frontend.client_binding_json())
        except BaseException:
            await frontend.stop()
            await runtime.stop()
            await http.close()
            raise
        instances = Instances(client, runtime.client, time, tracebacks, index)
        self._parts = _Parts(settings, index, keys, mocks, runtime, frontend, http, time,
                             instances)
        await time.settle()

    async def stop(self) -> None:
        """Stop the host and put the process back as it was; safe to call twice."""
        parts, self._parts = self._parts, None
        try:
            if parts is not None:
                await parts.frontend.stop()  # also closes the SDK's session on the socket
                await parts.runtime.stop()
                await parts.http.close()
        finally:
            folder, self._folder = self._folder, None
            if folder is not None:
                folder.remove()
            snapshot, self._snapshot = self._snapshot, None
            if snapshot is not None:
                snapshot.restore()
            if DurableTestHost._open is self:
                DurableTestHost._open = None

    async def __aenter__(self) -> DurableTestHost:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def _started(self) -> _Parts:
        if self._parts is None:
            raise RuntimeError("the DurableTestHost is not started: use `async with "
                               "DurableTestHost(...) as host:` (or await host.start())")
        return self._parts

    # What the test reads -----------------------------------------------------------------

    @property
    def function_key(self) -> str:
        """The function key: opens routes of auth level ``function``
        (``x-functions-key`` header or ``code=``)."""
        return self._started().keys.function_key

    @property
    def master_key(self) -> str:
        """The master key: opens ``function`` and ``admin`` routes and the management API."""
        return self._started().keys.master_key

    @property
    def system_key(self) -> str:
        """The durable extension's system key: opens the management API only."""
        return self._started().keys.system_key

    @property
    def now(self) -> datetime:
        """The virtual present (timezone-aware UTC)."""
        return self.clock.now()

    # Driving the app ---------------------------------------------------------------------

    def mock_activity(self, name: str, fake: ActivityFake) -> None:
        """Run ``fake`` instead of the app's activity ``name`` from now on.

        ``fake`` (a function or an ``async def``) gets the activity's input, decoded as
        the Python worker decodes it, and returns its result; what it raises fails the
        activity as the real one's exception would. ``UnknownFunction`` for a name the app
        has no activity under.
        """
        self._started().mocks.replace(name, fake)

    async def http(self, method: str, path: str, *, json: Any = None,
                   headers: Mapping[str, str] | None = None,
                   params: Mapping[str, str] | None = None,
                   data: bytes | str | None = None) -> Response:
        """Send a request to the app's HTTP functions (``/api/...``) or the management API
        (``/runtime/webhooks/durabletask/...``) and return the answer once the host is idle.

        Auth levels apply as on Azure: ``function`` routes need ``host.function_key`` (or
        the master key), ``admin`` routes the master key, the management API the system
        or master key, in ``x-functions-key`` or ``code=``.
        """
        parts = self._started()
        answer = await parts.http.request(method, path, json=json, data=data, headers=headers,
                                          params=params)
        await parts.time.settle()
        return answer

    async def start_new(self, name: str, input: Any = None, instance_id: str | None = None,
                        version: str | None = None) -> str:
        """Start orchestrator ``name`` through the SDK's client; its id once idle."""
        return await self._started().instances.start_new(name, input, instance_id, version)

    async def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        """Raise event ``name`` with ``data`` through the SDK's client; returns once idle.

        ``InstanceNotFound`` or ``InstanceEnded`` when the instance takes no events.
        """
        await self._started().instances.raise_event(instance_id, name, data)

    async def status(self, instance_id: str) -> Any:
        """The SDK's ``DurableOrchestrationStatus`` of the instance, None if unknown.

        A failed instance's status also carries ``app_traceback``: the traceback of the
        app's code that failed it (Azure writes it to the function's log only).
        """
        return await self._started().instances.status(instance_id)

    async def wait_for(self, instance_id: str, predicate: Predicate,
                       timeout: Timeout = timedelta(days=1)) -> Any:
        """The instance's status once ``predicate(status)`` holds, skipping virtual time
        to the next due timer whenever the host is idle and it does not hold yet.

        ``TimeoutError`` once ``timeout`` of virtual time passed without it.
        """
        return await self._started().instances.wait_for(instance_id, predicate, timeout)

    async def wait_for_completion(self, instance_id: str,
                                  timeout: Timeout = timedelta(days=1)) -> Any:
        """The status once the instance completed, failed or was terminated (see
        :meth:`wait_for`)."""
        return await self._started().instances.wait_for_completion(instance_id, timeout)

    async def advance(self, delta: timedelta | None = None, *, days: float = 0,
                      hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
        """Move virtual time forward, running everything due on the way at its own time;
        returns the new present once the host is idle."""
        step = (delta or timedelta(0)) + timedelta(days=days, hours=hours, minutes=minutes,
                                                   seconds=seconds)
        if step < timedelta(0):
            raise ValueError(f"virtual time only moves forward, not by {step}")
        parts = self._started()
        await parts.time.run_until(self.clock.now() + step)
        return self.clock.now()

    async def export(self, instance_id: str) -> dict[str, Any]:
        """The instance and its full history, JSON-ready (``instanceId``, ``name``,
        ``version``, ``runtimeStatus``, ``history``); ``InstanceNotFound`` if unknown."""
        return await self._started().instances.export(instance_id)

    def __repr__(self) -> str:
        state = "started" if self._parts is not None else "stopped"
        return f"DurableTestHost({str(self.app_dir)!r}, {state}, now={self.now.isoformat()})"

