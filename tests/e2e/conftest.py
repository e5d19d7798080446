"""Fixtures for the end-to-end tests: Azurite on disk, the FCM emulator, hosts as children.

Everything started here is stopped here, also when a test fails: Azurite by SIGTERM to its
own process group (AzuriteProcess), hosts by SIGTERM (then SIGKILL) to theirs, the emulator
by stopping its thread's server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_support import HostProcess, HostStarter, host_environment, unique_hub

from devhost.local.azurite import AzuriteProcess
from fcm_emulator import FcmEmulator


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteProcess]:
    """One Azurite for the session, on disk in a temporary folder, on free ports."""
    with AzuriteProcess(tmp_path_factory.mktemp("azurite")) as process:
        yield process


@pytest.fixture(scope="module")
def fcm() -> Iterator[FcmEmulator]:
    """The FCM emulator on its own thread; pushes are told apart by token.

    Per module rather than per session: a session-long "fcm-emulator" thread would still be
    running when tests/unit checks that the emulator's thread helper leaves none behind.
    """
    with FcmEmulator.running_in_thread() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def module_hub(request: pytest.FixtureRequest) -> str:
    """A task hub name for this test module alone."""
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_e2e_")
    tag = re.sub(r"[^a-z]", "", name.lower())
    return unique_hub(tag[-10:])


@pytest.fixture(scope="module")
def start_host(azurite: AzuriteProcess, fcm: FcmEmulator, module_hub: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostStarter]:
    """``start_host(storage=..., hub=..., **settings)``: a running host as a child process.

    Storage defaults to the session Azurite, the hub to the module's; ``settings`` override
    the app settings of ``host_environment``. Every host started is stopped afterwards.
    """
    log_dir = tmp_path_factory.mktemp("hosts")
    started: list[HostProcess] = []

    def start(storage: str | None = None, hub: str | None = None,
              visibility_timeout: float = 3.0, **settings: Any) -> HostProcess:
        host = HostProcess(storage or azurite.connection_string, hub or module_hub, log_dir,
                           host_environment(fcm.host_port, **settings),
                           visibility_timeout=visibility_timeout)
        started.append(host)
        return host.start()

    try:
        yield start
    finally:
        for host in started:
            host.stop()
