"""The FCM emulator as a process of its own, as FCM is a service of its own.

In the benchmark's process it would share the host's interpreter lock and charge FCM's
work to the host. Started with ``python -m fcm_emulator --port 0`` in its own session;
stopped (SIGTERM to that session, SIGKILL only if it will not go) by whoever started it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import aiohttp

_LISTENING = re.compile(r"listening on (http://\S+)")
STOP_TIMEOUT_SECONDS = 10.0


class EmulatorProcess:
    """A running ``python -m fcm_emulator``; read its messages over its HTTP API."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def start(self) -> EmulatorProcess:
        """Start it on a free port and return once it listens."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fcm_emulator", "--host", "127.0.0.1", "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, start_new_session=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # it prints one line once it listens
        found = _LISTENING.search(line)
        if found is None:
            self.stop()
            raise RuntimeError(f"the FCM emulator did not start: {line!r}")
        self.base_url = found.group(1)
        return self

    @property
    def host_port(self) -> str:
        """``host:port``, the value for ``FCM_EMULATOR_HOST``."""
        return self.base_url.removeprefix("http://")

    async def messages(self) -> list[dict[str, Any]]:
        """Every message it accepted, oldest first (each with ``receivedAt``)."""
        async with aiohttp.ClientSession() as session, session.get(
                f"{self.base_url}/emulator/messages") as reply:
            reply.raise_for_status()
            return list((await reply.json())["messages"])

    def stop(self) -> None:
        """Stop the process this object started."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        if process.stdout is not None:
            process.stdout.close()


@contextlib.contextmanager
def emulator_process() -> Iterator[EmulatorProcess]:
    """A started emulator process for the block, stopped after it."""
    emulator = EmulatorProcess()
    try:
        yield emulator.start()
    finally:
        emulator.stop()
