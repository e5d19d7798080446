"""Run Azurite (the Azure Storage emulator from npm) as a child process.

The host and the tests start Azurite themselves: on free or given ports, on disk or in
memory, in its own process group so stopping it never leaves a node process holding the
ports. A stopped Azurite can be started again on the same ports and the same folder, which
is how the tests take storage away mid-flow and bring it back.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import IO

import devhost
from devhost.errors import HostError
from devhost.taskhub.azure.connection import LOOPBACK, dev_connection_string

__all__ = ["AzuriteError", "AzuriteProcess", "free_port"]


# Flags every run needs: quiet, tolerant of SDK headers, and of SDK API versions newer
# than this Azurite knows (current queue/blob SDKs send such versions).
_BASE_FLAGS = ("--silent", "--loose", "--skipApiVersionCheck", "--disableTelemetry")
_STDERR_TAIL_BYTES = 4000

# Azurite never reads its stdin. This preload (given to node through NODE_OPTIONS, so the
# .bin script still runs directly) stops Azurite as a SIGTERM would, saving its data, once
# stdin reaches end of file: that happens when the Python process that holds the other end
# of the pipe exits for any reason, even SIGKILL, so a killed host or test run leaves no
# Azurite holding its ports.
# unref() keeps the pipe from holding node's event loop open after Azurite shut down.
_EXIT_WITH_PARENT_JS = (
    "process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));\n"
    "process.stdin.resume();\n"
    "if (typeof process.stdin.unref === 'function') process.stdin.unref();\n"
)


class AzuriteError(HostError):
    """Azurite could not be started (missing, crashed, or its ports never opened)."""


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _accepts(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def default_executable() -> Path:
    """``node_modules/.bin/azurite`` of this project, else ``azurite`` on the PATH."""
    local = Path(devhost.__file__).resolve().parent.parent / "node_modules" / ".bin" / "azurite"
    if local.exists():
        return local
    found = shutil.which("azurite")
    if found is None:
        raise AzuriteError("Azurite is not installed: run `npm ci` in the project folder")
    return Path(found)


# Azurite runs in its own process group, so it would outlive an interpreter that exits
# without stopping it (a test run ended early, an unhandled error): stop those at exit.
_RUNNING: weakref.WeakSet[AzuriteProcess] = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    for process in list(_RUNNING):
        process.stop()


class AzuriteProcess:
    """One Azurite child process: start, wait until it listens, stop, start again.

    ``location`` is the folder Azurite keeps its data in; None runs it with
    ``--inMemoryPersistence``. Ports not given are picked free at the first start and then
    kept, so a restart comes back on the same ports (and the same data, on disk).
    """

    def __init__(
        self,
        location: str | os.PathLike[str] | None = None,
        *,
        blob_port: int | None = None,
        queue_port: int | None = None,
        table_port: int | None = None,
        executable: str | os.PathLike[str] | None = None,
        startup_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.location = Path(location) if location is not None else None
        self._requested = (blob_port, queue_port, table_port)
        self._ports: tuple[int, int, int] | None = None
        self._executable = Path(executable) if executable is not None else None
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    # Ports and connection ------------------------------------------------------------------

    @property
    def ports(self) -> tuple[int, int, int]:
        """(blob, queue, table) ports; picked on first use when not given."""
        if self._ports is None:
            picked: list[int] = []
            for wanted in self._requested:
                port = wanted if wanted is not None else free_port()
                while port in picked:  # the OS may hand out the same free port twice
                    port = free_port()
                picked.append(port)
            self._ports = (picked[0], picked[1], picked[2])
        return self._ports

    @property
    def blob_port(self) -> int:
        """The blob service port."""
        return self.ports[0]

    @property
    def queue_port(self) -> int:
        """The queue service port."""
        return self.ports[1]

    @property
    def table_port(self) -> int:
        """The table service port."""
        return self.ports[2]

    @property
    def connection_string(self) -> str:
        """The explicit development connection string for this Azurite's ports."""
        return dev_connection_string(*self.ports)

    @property
    def pid(self) -> int | None:
        """The Azurite process id while it runs."""
        return self._process.pid if self.running else None  # type: ignore[union-attr]

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._process is not None and self._process.poll() is None

    # Lifecycle -----------------------------------------------------------------------------

    def command(self) -> list[str]:
        """The command line this process runs."""
        executable = self._executable or default_executable()
        blob, queue, table = self.ports
        args = [str(executable), *_BASE_FLAGS,
                "--blobHost", LOOPBACK, "--queueHost", LOOPBACK, "--tableHost", LOOPBACK,
                "--blobPort", str(blob), "--queuePort", str(queue), "--tablePort", str(table)]
        if self.location is None:
            args.append("--inMemoryPersistence")
        else:
            args += ["--location", str(self.location)]
        return args

    def start(self) -> AzuriteProcess:
        """Start Azurite and return once all three ports accept connections.

        Raises ``AzuriteError`` with the tail of Azurite's stderr when it exits or its
        ports do not open within ``startup_timeout``.
        """
        if self.running:
            return self
        if self.location is not None:
            self.location.mkdir(parents=True, exist_ok=True)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        self._scratch = tempfile.TemporaryDirectory(prefix="azurite-")
        watchdog = Path(self._scratch.name) / "exit-with-parent.js"
        watchdog.write_text(_EXIT_WITH_PARENT_JS)
        env = dict(os.environ)
        env["NODE_OPTIONS"] = f'{env.get("NODE_OPTIONS", "")} --require "{watchdog}"'.strip()
        # Without --location Azurite writes into its working directory; in memory mode it
        # should write nothing, but run it in a neutral place all the same.
        cwd = self.location or Path(self._scratch.name)
        # A new session makes Azurite the leader of its own process group, so stop() can
        # signal it and anything it spawned without touching our own group.
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            self.command(), cwd=cwd, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True,
        )
        _RUNNING.add(self)
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        waiting = list(self.ports)
        while waiting:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise AzuriteError(f"Azurite exited with code {code} during startup:\n"
                                   f"{self.stderr_tail()}")
            if _accepts(LOOPBACK, waiting[0]):
                waiting.pop(0)
                continue
            if time.monotonic() > deadline:
                raise AzuriteError(
                    f"Azurite did not listen on port {waiting[0]} within "
                    f"{self.startup_timeout:.0f} s:\n{self.stderr_tail()}")
            time.sleep(0.05)

    def stderr_tail(self) -> str:
        """The last few KiB Azurite wrote to stderr (for error messages)."""
        if self._stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.flush()
            size = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, size - _STDERR_TAIL_BYTES))
            return self._stderr.read().decode("utf-8", "replace")
        return ""

    def stop(self) -> None:
        """SIGTERM Azurite's process group, wait, and SIGKILL only after ``stop_timeout``.

        SIGTERM lets Azurite save its on-disk metadata; a SIGKILL could lose the last
        seconds of writes, so it is the last resort.
        """
        process = self._process
        if process is not None:
            self._signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                # Still unreaped, so the group id cannot have been reused by anyone else.
                self._signal_group(process, signal.SIGKILL)
                process.wait(timeout=self.stop_timeout)
            if process.stdin is not None:
                process.stdin.close()
            self._process = None
        _RUNNING.discard(self)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        # The group id is the child's pid (it leads its own session); once every member
        # has gone the group no longer exists, which is what we want.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)

    def restart(self) -> AzuriteProcess:
        """Stop and start again on the same ports and location."""
        self.stop()
        return self.start()

    def __enter__(self) -> AzuriteProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
