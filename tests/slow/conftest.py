"""Fixtures for the slow trials: Azurite on disk, the FCM emulator, hosts as child processes.

The hosts are the end-to-end suite's ``HostProcess`` (tests/e2e/e2e_support.py, put on
``sys.path`` here). Everything started here is stopped here, also when a test fails.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

E2E_DIR = Path(__file__).resolve().parents[1] / "e2e"
if str(E2E_DIR) not in sys.path:
    sys.path.insert(0, str(E2E_DIR))

from e2e_support import HostProcess, HostStarter, host_environment, unique_hub  # noqa: E402
from slow_support import FIGURES  # noqa: E402

from devhost.local.azurite import AzuriteProcess  # noqa: E402
from fcm_emulator import FcmEmulator  # noqa: E402


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteProcess]:
    """One Azurite for the slow trials, on disk in a temporary folder, on free ports."""
    with AzuriteProcess(tmp_path_factory.mktemp("slow-azurite")) as process:
        yield process


@pytest.fixture(scope="module")
def fcm() -> Iterator[FcmEmulator]:
    """The FCM emulator on its own thread; each order's pushes go to its own token."""
    with FcmEmulator.running_in_thread() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def start_host(azurite: AzuriteProcess, fcm: FcmEmulator,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostStarter]:
    """``start_host(storage=..., hub=..., visibility_timeout=..., **settings)``: a host child.

    Storage defaults to the slow trials' Azurite, the hub to a new one per call; every host
    started is stopped afterwards.
    """
    log_dir = tmp_path_factory.mktemp("slow-hosts")
    started: list[HostProcess] = []

    def start(storage: str | None = None, hub: str | None = None,
              visibility_timeout: float = 3.0, **settings: Any) -> HostProcess:
        host = HostProcess(storage or azurite.connection_string, hub or unique_hub("slow"),
                           log_dir, host_environment(fcm.host_port, **settings),
                           visibility_timeout=visibility_timeout)
        started.append(host)
        return host.start()

    try:
        yield start
    finally:
        for host in started:
            host.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeat the trials' figures (crashes survived, throughput, memory) at the end."""
    if not FIGURES:
        return
    terminalreporter.section("slow trials: figures")
    for line in FIGURES:
        terminalreporter.write_line(line)
