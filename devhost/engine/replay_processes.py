"""Orchestrator episodes replayed in worker processes, as Azure runs them in the Python worker.

On Azure the Functions host and the Python worker are separate processes: the host keeps
the task hub and HTTP, the worker runs the SDK's ``handle``. In one process the SDK's
replay (it parses every history event again on each episode) holds the GIL against the
host's HTTP, storage and activity work. ``ReplayProcesses`` gives the runtime orchestrator
handles with the same contract (context JSON in, state JSON out, the SDK's exception
text when the generator raises) that run in ``devhost.engine.replay_worker`` processes,
each of which imports the app's ``function_app`` itself.

A worker that dies (killed, or user code that ends the process) fails no instance: the
episode raises ``ReplayWorkerLost``, the runtime hands the work item back, and a new
worker replays it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import IO, cast

import devhost
from devhost.app.loader import OrchestratorFunction
from devhost.engine.replay_worker import (
    LOAD_FAILED,
    OTHER_ERROR,
    READY,
    SDK_RAISED,
    STATE,
    read_frame,
    write_frame,
)
from devhost.engine.sdk_call import ReplayedError
from devhost.errors import AppLoadError, ReplayWorkerDied, ReplayWorkerLost

log = logging.getLogger(__name__)

# How long a stopping host waits for a worker to exit after closing its input.
STOP_WAIT_SECONDS = 5.0
WORKER_MODULE = "devhost.engine.replay_worker"
# Put in the idle queue by close(): whoever takes it puts it back and gives up, so every
# episode waiting for a worker wakes.
_STOPPING = object()


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, app_dir: Path) -> None:
        env = dict(os.environ)
        # The worker imports devhost as this process does, from wherever devhost lives.
        root = str(Path(devhost.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env["DEVHOST_REPLAY_LOG_LEVEL"] = str(logging.getLogger().getEffectiveLevel())
        self.process = subprocess.Popen(  # noqa: S603 - our own module, this interpreter
            [sys.executable, "-m", WORKER_MODULE, str(app_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._requests = cast(IO[bytes], self.process.stdin)
        self._answers = cast(IO[bytes], self.process.stdout)

    def wait_ready(self) -> None:
        """Block until the worker loaded the app; ``AppLoadError`` if it could not."""
        first = read_frame(self._answers)
        if first == READY:
            return
        self.stop()
        if first is not None and first.startswith(LOAD_FAILED):
            raise AppLoadError("a replay worker could not load the app: "
                               + first[len(LOAD_FAILED):].decode("utf-8", "replace"))
        raise AppLoadError(f"a replay worker exited while loading the app "
                           f"(exit code {self.process.poll()})")

    def replay(self, name: str, context_json: str) -> bytes | None:
        """Send one episode and wait for its answer; None if the worker is gone."""
        try:
            write_frame(self._requests, name.encode("utf-8") + b"\n"
                        + context_json.encode("utf-8"))
            return read_frame(self._answers)
        except (BrokenPipeError, ConnectionResetError, ValueError):
            return None

    def stop(self) -> None:
        """Close its input (it exits on that) and reap it; kill it if it lingers."""
        for stream in (self._requests, self._answers):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            self.process.wait(STOP_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ReplayProcesses:
    """A fixed number of worker processes that replay the app's orchestrators."""

    def __init__(self, app_dir: Path, processes: int) -> None:
        """Prepare ``processes`` workers for ``app_dir``; :meth:`start` launches them."""
        if processes < 1:
            raise ValueError("replay needs at least one worker process")
        self.app_dir = Path(app_dir).resolve()
        self.processes = processes
        # One entry per worker slot: an idle worker, or None for a slot whose worker died
        # and could not be replaced yet (the next episode to take it tries again); and
        # _STOPPING once the host stops.
        self._idle: queue.SimpleQueue[_Worker | object | None] = queue.SimpleQueue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def episode_threads(self) -> int:
        """How many episodes the runtime should run at once to keep the workers busy: one
        more than there are workers, so a worker never waits while the host prepares the
        next episode or commits the last."""
        return self.processes + 1

    def start(self) -> None:
        """Launch the workers and wait until each has loaded the app (blocking)."""
        workers = [self._launch() for _ in range(self.processes)]
        try:
            for worker in workers:
                worker.wait_ready()
        except AppLoadError:
            self.close()
            raise
        for worker in workers:
            self._idle.put(worker)

    def _launch(self) -> _Worker:
        worker = _Worker(self.app_dir)
        with self._lock:
            self._all.append(worker)
        return worker

    def _forget(self, worker: _Worker) -> None:
        worker.stop()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    def functions(self, local: Mapping[str, OrchestratorFunction]
                  ) -> Mapping[str, OrchestratorFunction]:
        """The host's orchestrators with handles that replay in the workers."""
        return MappingProxyType({
            name: OrchestratorFunction(name, partial(self.replay, name)) for name in local
        })

    def pids(self) -> list[int]:
        """The process ids of the workers that are running."""
        with self._lock:
            return [w.process.pid for w in self._all if w.process.poll() is None]

    def _take(self) -> _Worker:
        """An idle worker, starting one for an empty slot; waits while all are busy."""
        slot = self._idle.get()
        if slot is _STOPPING:
            self._idle.put(_STOPPING)
            raise ReplayWorkerLost("the host is stopping")
        if isinstance(slot, _Worker):
            return slot
        fresh = self._launch()
        try:
            fresh.wait_ready()
        except AppLoadError as failed:
            self._forget(fresh)
            self._idle.put(None)
            raise ReplayWorkerLost(str(failed)) from failed
        return fresh

    def replay(self, name: str, context_json: str) -> str:
        """Run one episode of orchestrator ``name`` in an idle worker; wait for its state.

        Raises ``ReplayedError`` when the orchestrator raised, ``ReplayWorkerLost`` when
        the worker died meanwhile (a new one takes its slot on the next episode).
        """
        worker = self._take()
        answer = worker.replay(name, context_json)
        if answer is None:
            code = worker.process.poll()
            self._forget(worker)
            self._idle.put(None)
            if self._closed:
                raise ReplayWorkerLost("the host is stopping")
            log.error("replay worker %s exited (code %s); its episode will run again",
                      worker.process.pid, code)
            raise ReplayWorkerDied(f"replay worker {worker.process.pid} exited (code {code})")
        self._idle.put(worker)
        kind, text = answer[:1], answer[1:].decode("utf-8")
        if kind == STATE:
            return text
        if kind in (SDK_RAISED, OTHER_ERROR):
            raise ReplayedError(text)
        raise ReplayWorkerLost(f"replay worker {worker.process.pid} sent {kind!r}")

    def close(self) -> None:
        """Stop every worker and wait for it to exit; later episodes are refused."""
        self._closed = True
        self._idle.put(_STOPPING)
        with self._lock:
            workers, self._all = list(self._all), []
        for worker in workers:
            worker.stop()
