"""``python -m devhost serve`` for a test app, as a child process the test can kill -9."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import APP_DIR


@dataclass
class ServedApp:
    """One app folder served by a child host on the given storage and hub."""

    app_dir: Path
    storage: str
    hub: str
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    visibility_timeout: float = 3.0
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def log_path(self) -> Path:
        """The current run's output."""
        return self.log_dir / f"serve-{self.hub}-{self.starts}.log"

    def log_text(self) -> str:
        """The current run's output so far."""
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def start(self, timeout: float = 60.0) -> ServedApp:
        """Start the host and return once it says it is serving."""
        self.starts += 1
        command = [sys.executable, "-m", "devhost", "serve", "--app", str(self.app_dir),
                   "--port", "0", "--storage", self.storage, "--hub", self.hub,
                   "--visibility-timeout", str(self.visibility_timeout)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=APP_DIR, env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while "serving " not in self.log_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the host did not start:\n{self.log_text()[-3000:]}")
            time.sleep(0.05)
        return self

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """``kill -9`` the host's process group and reap it."""
        self._signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s; safe to call twice."""
        if self.process is None or self.process.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
