"""The host as a child process, bounded polling, the order API over HTTP, and their fixtures.

``start_host`` starts hosts on the session Azurite pushing to the module's FCM emulator;
everything started is stopped afterwards, also when a test fails: hosts by SIGTERM (then
SIGKILL) to their process group.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

from devhost.local.azurite import AzuriteProcess
from fcm_emulator import FcmEmulator
from tests.support import APP_DIR

FUNCTION_KEY = "e2e-function-key-0123456789"
LOOPBACK = "127.0.0.1"
HTTP_TIMEOUT = 10.0

# The stages in the order an order passes them; every terminal stage ranks last.
STAGE_RANK = {"received": 0, "processing": 1, "awaiting_approval": 2,
              "finished": 3, "cancelled": 3, "expired": 3}
OPEN_STAGES = ("received", "processing", "awaiting_approval")

T = TypeVar("T")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def unique_hub(tag: str) -> str:
    """A task hub name of its own (letters and digits, starting with a letter)."""
    return f"e2e{tag}{uuid.uuid4().hex[:12]}"


def unique_order_id(tag: str) -> str:
    """An order id no other test uses."""
    return f"{tag}-{uuid.uuid4().hex[:16]}"


def assert_eventually(probe: Callable[[], T | None], *, timeout: float, interval: float = 0.05,
                      what: str = "condition", details: Callable[[], str] | None = None) -> T:
    """Call ``probe`` until it returns something other than None (or False) and return that.

    An ``AssertionError`` from ``probe`` counts as "not yet". After ``timeout`` seconds the
    test fails, quoting the last assertion and ``details()`` (e.g. a host's log tail).
    """
    deadline = time.monotonic() + timeout
    last: str = "it never held"
    while True:
        try:
            result = probe()
            if result is not None and result is not False:
                return result
        except AssertionError as error:
            last = str(error) or repr(error)
        if time.monotonic() >= deadline:
            extra = f"\n{details()}" if details is not None else ""
            raise AssertionError(f"{what} not reached within {timeout} s: {last}{extra}")
        time.sleep(interval)


@dataclass
class HostProcess:
    """``python -m devhost serve`` for the app, as a child process in its own session.

    The port and hub stay the same across ``kill`` and ``start``, so a restarted host picks
    up the work its killed predecessor leased.
    """

    storage: str
    hub: str
    log_dir: Path
    env: dict[str, str]
    visibility_timeout: float = 3.0
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def alive(self) -> bool:
        """True while the child process runs."""
        return self.process is not None and self.process.poll() is None

    @property
    def log_path(self) -> Path:
        """Where the current (or last) run writes its output."""
        return self.log_dir / f"host-{self.hub}-{self.starts}.log"

    def command(self) -> list[str]:
        """The command line of the child."""
        return [sys.executable, "-m", "devhost", "serve", "--app", str(APP_DIR),
                "--host", LOOPBACK, "--port", str(self.port), "--storage", self.storage,
                "--hub", self.hub, "--visibility-timeout", str(self.visibility_timeout),
                "--log-level", "INFO"]

    def start(self, timeout: float = 30.0) -> HostProcess:
        """Start the child and return once it answers HTTP (an unknown order: 404)."""
        if self.alive:
            raise RuntimeError("the host is already running")
        self.starts += 1
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=APP_DIR, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        probe_url = f"{self.base_url}/api/orders/ready-probe-0000"

        def answers() -> bool:
            if not self.alive:
                raise RuntimeError(f"the host exited during startup:\n{self.log_tail()}")
            try:
                reply = requests.get(probe_url, timeout=2)
            except requests.RequestException as error:
                raise AssertionError(f"not listening yet: {error}") from None
            assert reply.status_code == 404, f"probe answered {reply.status_code}"
            return True

        try:
            assert_eventually(answers, timeout=timeout, interval=0.1,
                              what="host answering HTTP", details=self.log_tail)
        except BaseException:
            self.stop()
            raise
        return self

    def _signal(self, sig: signal.Signals) -> None:
        # The child leads its own session, so its group id is its pid; the group is gone
        # once it has exited, which suppress() covers.
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """``kill -9`` the host (its whole process group) and reap it."""
        if self.process is None:
            return
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 10 s; safe to call twice."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(timeout=10)

    def log_tail(self, size: int = 4000) -> str:
        """The end of the current run's output."""
        with contextlib.suppress(OSError):
            text = self.log_path.read_bytes()[-size:].decode("utf-8", "replace")
            return f"--- {self.log_path.name} ---\n{text}"
        return ""


class OrderApi:
    """The app's HTTP API as the mobile app and staff call it."""

    def __init__(self, host: HostProcess) -> None:
        self.host = host
        self.session = requests.Session()

    def url(self, path: str) -> str:
        """An absolute URL on the host."""
        return f"{self.host.base_url}/api/{path}"

    def place(self, order_id: str, reg_id: str | None = None) -> requests.Response:
        """POST /api/orders with a pineapple pizza."""
        body = {"regId": reg_id or device_token(order_id), "orderId": order_id,
                "items": [{"name": "Neapolitan pizza with pineapple", "quantity": 1}]}
        return self.session.post(self.url("orders"), json=body, timeout=HTTP_TIMEOUT)

    def status(self, order_id: str, timeout: float = HTTP_TIMEOUT) -> requests.Response:
        """GET /api/orders/{id}."""
        return self.session.get(self.url(f"orders/{order_id}"), timeout=timeout)

    def approve(self, order_id: str, approved: bool = True, key: str | None = FUNCTION_KEY,
                note: str | None = None) -> requests.Response:
        """POST /api/orders/{id}/approve, with the function key unless ``key`` is None."""
        headers = {"x-functions-key": key} if key is not None else {}
        body: dict[str, Any] = {"approved": approved}
        if note is not None:
            body["note"] = note
        return self.session.post(self.url(f"orders/{order_id}/approve"), json=body,
                                 headers=headers, timeout=HTTP_TIMEOUT)

    def current(self, order_id: str) -> dict[str, Any]:
        """The status body; fails the probe on anything but 200."""
        reply = self.status(order_id)
        assert reply.status_code == 200, f"status answered {reply.status_code}: {reply.text}"
        body: dict[str, Any] = reply.json()
        return body

    def wait_for(self, order_id: str, condition: Callable[[dict[str, Any]], bool], *,
                 timeout: float, what: str, seen: list[str] | None = None,
                 interval: float = 0.03) -> dict[str, Any]:
        """Poll the status route until ``condition(body)``; stages seen go into ``seen``.

        Fails at once if the stage ever goes backwards.
        """
        def probe() -> dict[str, Any] | None:
            body = self.current(order_id)
            stage = body["stage"]
            if seen is not None:
                if seen and STAGE_RANK[stage] < STAGE_RANK[seen[-1]]:
                    raise RuntimeError(f"{order_id}: stage went back from {seen[-1]} to {stage}")
                if not seen or seen[-1] != stage:
                    seen.append(stage)
            return body if condition(body) else None

        return assert_eventually(probe, timeout=timeout, interval=interval,
                                 what=f"{order_id} {what}", details=self.host.log_tail)

    def wait_for_stage(self, order_id: str, stage: str, *, timeout: float,
                       seen: list[str] | None = None) -> dict[str, Any]:
        """Poll until the status says ``stage``."""
        return self.wait_for(order_id, lambda body: body["stage"] == stage, timeout=timeout,
                             what=f"stage {stage}", seen=seen)

    def wait_until_completed(self, order_id: str, *, timeout: float,
                             seen: list[str] | None = None) -> dict[str, Any]:
        """Poll until the orchestration is Completed."""
        return self.wait_for(order_id, lambda body: body["runtimeStatus"] == "Completed",
                             timeout=timeout, what="runtimeStatus Completed", seen=seen)


# start_host(storage=None, hub=None, visibility_timeout=3.0, **settings) -> a running host
HostStarter = Callable[..., HostProcess]


def device_token(order_id: str) -> str:
    """The registration token each order's phone uses (one per order, so pushes separate)."""
    return f"device-{order_id}"


def push_data(messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``data`` of each push, in arrival order."""
    return [message["data"] for message in messages]


def host_environment(fcm_host_port: str, **overrides: str) -> dict[str, str]:
    """The app settings every e2e host runs with: fast, keyed, pushing to the emulator."""
    env = {
        "FCM_EMULATOR_HOST": fcm_host_port,
        "FCM_PROJECT_ID": "e2e-project",
        "FCM_TIMEOUT_SECONDS": "2",
        "BACKEND_ACTION_DELAY_SECONDS": "0.1",
        "APPROVAL_TIMEOUT_SECONDS": "120",
        "PUSH_FIRST_RETRY_MILLISECONDS": "200",
        "PUSH_MAX_ATTEMPTS": "4",
        "LOCAL_FUNCTION_KEY": FUNCTION_KEY,
    }
    env.update(overrides)
    return env


@pytest.fixture(scope="module")
def module_hub(request: pytest.FixtureRequest) -> str:
    """A task hub name for this test module alone."""
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    tag = re.sub(r"[^a-z]", "", name.lower())
    return unique_hub(tag[-10:])


@pytest.fixture(scope="module")
def start_host(azurite: AzuriteProcess, module_fcm: FcmEmulator, module_hub: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostStarter]:
    """``start_host(storage=..., hub=..., visibility_timeout=..., **settings)``: a host child.

    Storage defaults to the session Azurite, the hub to the module's; ``settings`` override
    the app settings of ``host_environment``. Every host started is stopped afterwards.
    """
    log_dir = tmp_path_factory.mktemp("hosts")
    started: list[HostProcess] = []

    def start(storage: str | None = None, hub: str | None = None,
              visibility_timeout: float = 3.0, **settings: Any) -> HostProcess:
        host = HostProcess(storage or azurite.connection_string, hub or module_hub, log_dir,
                           host_environment(module_fcm.host_port, **settings),
                           visibility_timeout=visibility_timeout)
        started.append(host)
        return host.start()

    try:
        yield start
    finally:
        for host in started:
            host.stop()
