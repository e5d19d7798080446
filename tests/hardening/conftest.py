"""Fixtures: the order app on a LocalHost over a memory task hub and a virtual clock.

Every host gets its own FCM emulator (on a thread), clock and free port, and everything is
stopped and put back after the test: the emulator, the host, the environment variables it
exported, ``sys.path`` and ``function_app``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from hardening_support import (
    APP_DIR,
    TRIED,
    HttpApi,
    base_settings,
)
from process_state import forget_sdk_session, process_state_kept

from devhost.app.settings import HostSettings
from devhost.clock import VirtualClock
from devhost.host import LocalHost
from devhost.taskhub.base import TaskHub
from devhost.taskhub.memory import MemoryTaskHub
from fcm_emulator import FcmEmulator


@pytest.fixture
def fcm() -> Iterator[FcmEmulator]:
    """An FCM emulator of the test's own."""
    with FcmEmulator.running_in_thread() as emulator:
        yield emulator


@pytest.fixture
def clock() -> VirtualClock:
    """The task hub's clock; it moves only when the test advances it."""
    return VirtualClock()


@pytest.fixture
def app_settings(fcm: FcmEmulator) -> dict[str, str]:
    """The settings the host starts with; a test module may override this fixture."""
    return base_settings(fcm)


@pytest.fixture
async def host(monkeypatch: pytest.MonkeyPatch, clock: VirtualClock,
               app_settings: dict[str, str]) -> AsyncIterator[LocalHost]:
    """The order app on a LocalHost (memory hub, virtual clock, free port), settings set first."""
    def task_hub(settings: HostSettings) -> TaskHub:
        return MemoryTaskHub(clock)

    with process_state_kept():
        for name, value in app_settings.items():
            monkeypatch.setenv(name, value)
        forget_sdk_session()
        async with LocalHost(APP_DIR, task_hub, port=0) as local:
            yield local


@pytest.fixture
async def api(host: LocalHost) -> AsyncIterator[HttpApi]:
    """Raw HTTP to the host."""
    async with aiohttp.ClientSession() as session:
        yield HttpApi(session, host)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report how many hostile inputs each route was sent."""
    if not TRIED:
        return
    terminalreporter.section("hostile inputs tried")
    for route, count in sorted(TRIED.items()):
        terminalreporter.write_line(f"{count:6d}  {route}")
    terminalreporter.write_line(f"{sum(TRIED.values()):6d}  in total")
