"""Fixtures for the trigger tests: the small timer and queue apps, hosted in this process."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from devhost.host import LocalHost
from devhost.taskhub.base import TaskHub
from tests.support.process_state import forget_sdk_session, process_state_kept

APPS = Path(__file__).resolve().parent / "apps"
TIMER_APP = APPS / "timer_app"
QUEUE_APP = APPS / "queue_app"
WAIT_SECONDS = 30.0

# start_local(app_dir, hub, **settings) -> a started LocalHost
LocalStarter = Callable[..., Awaitable[LocalHost]]


@pytest.fixture
async def start_local() -> AsyncIterator[LocalStarter]:
    """Host app folders in this process as ``make run`` does (free port); every host is
    stopped and the environment, sys.path and function_app are put back afterwards."""
    hosts: list[LocalHost] = []
    with process_state_kept():

        async def start(app_dir: Path, hub: TaskHub, **settings: str) -> LocalHost:
            os.environ.update(settings)
            forget_sdk_session()
            host = LocalHost(app_dir, lambda _settings: hub, port=0)
            await host.start()
            hosts.append(host)
            return host

        try:
            yield start
        finally:
            for host in reversed(hosts):
                await host.stop()


async def inputs_of(hub: TaskHub, orchestrator: str) -> list[dict[str, Any]]:
    """The inputs of every instance of ``orchestrator`` on the hub, oldest first."""
    records = sorted((r for r in await hub.query_instances() if r.name == orchestrator),
                     key=lambda r: r.created_at)
    return [json.loads(r.input or "null") for r in records]


async def wait_for_inputs(hub: TaskHub, orchestrator: str, count: int,
                          timeout: float = WAIT_SECONDS) -> list[dict[str, Any]]:
    """Wait (wall clock) until ``count`` instances of ``orchestrator`` exist; their inputs."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await inputs_of(hub, orchestrator)
        if len(found) >= count:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"{len(found)} of {count} {orchestrator} instances: {found}")
        await asyncio.sleep(0.02)


async def settle(seconds: float = 0.3) -> None:
    """Give the host's loops a moment of wall time (to show that nothing more happens)."""
    await asyncio.sleep(seconds)
