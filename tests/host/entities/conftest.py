"""Fixtures: the counter app on a LocalHost over the memory hub (virtual clock) or Azurite,
with raw HTTP to its routes and to the management API."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devhost.cli import DEFAULT_REPLAY_PROCESSES
from devhost.clock import SystemClock, VirtualClock
from devhost.entities.state import SchedulerState
from devhost.host import LocalHost
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import InstanceRecord, TaskHub
from devhost.taskhub.memory import MemoryTaskHub
from tests.support.backends import FAST_POLL
from tests.support.process_state import forget_sdk_session, process_state_kept

COUNTER_APP = Path(__file__).resolve().parent / "apps" / "counter"
WEBHOOK = "/runtime/webhooks/durabletask"
# Generous: a loaded machine may take seconds for what takes milliseconds here.
WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, text and the JSON body (None when not JSON)."""

    status: int
    text: str
    body: Any
    headers: dict[str, str]


class CounterApp:
    """The counter app on a started LocalHost, over real HTTP."""

    def __init__(self, host: LocalHost, session: aiohttp.ClientSession) -> None:
        self.host = host
        self.session = session

    async def call(self, method: str, path: str, *, json_body: Any = None,
                   data: str | bytes | None = None, content_type: str | None = None,
                   headers: dict[str, str] | None = None) -> Answer:
        """``method`` on ``path`` (with its query) below the host's base URL."""
        sent = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body)
            content_type = content_type or "application/json"
        if content_type is not None:
            sent["content-type"] = content_type
        async with self.session.request(method, self.host.base_url + path, data=data,
                                        headers=sent) as reply:
            text = await reply.text()
            try:
                body = json.loads(text) if text else None
            except ValueError:
                body = None
            return Answer(reply.status, text, body, dict(reply.headers))

    async def management(self, method: str, path: str, **options: Any) -> Answer:
        """A management API call with the system key."""
        assert self.host.keys is not None
        joiner = "&" if "?" in path else "?"
        return await self.call(method, f"{WEBHOOK}/{path}{joiner}code={self.host.keys.system_key}",
                               **options)

    async def run(self, orchestrator: str, job: Any) -> InstanceRecord:
        """Start ``orchestrator`` through the app's starter and wait until it ends."""
        started = await self.call("POST", f"/api/start/{orchestrator}", json_body=job)
        assert started.status == 202, started.text
        assert self.host.runtime is not None
        return await self.host.runtime.client.wait_for(started.body["id"],
                                                       timeout=WAIT_SECONDS)

    async def settled(self, key: str, condition: Callable[[SchedulerState], bool]
                      ) -> SchedulerState:
        """Wait until counter ``key``'s stored state meets ``condition``; return it."""
        assert self.host.runtime is not None
        record = await self.host.runtime.client.wait_for(
            f"@counter@{key}", lambda r: condition(SchedulerState.of(r)), timeout=WAIT_SECONDS)
        return SchedulerState.of(record)

    async def value(self, key: str, value: int) -> SchedulerState:
        """Wait until counter ``key`` holds ``value``."""
        return await self.settled(key, lambda s: s.exists and s.state == json.dumps(value))


def unique_key(tag: str) -> str:
    """An entity key no other test uses."""
    return f"{tag}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
async def counter_app(request: pytest.FixtureRequest) -> AsyncIterator[CounterApp]:
    """The counter app hosted on the memory hub with a virtual clock, then on Azurite, as
    ``make run APP=`` hosts it (orchestrators replay in one worker process)."""
    async for app in _hosted(request, request.param, DEFAULT_REPLAY_PROCESSES):
        yield app


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
async def in_process_app(request: pytest.FixtureRequest) -> AsyncIterator[CounterApp]:
    """The counter app with its orchestrators replaying in this process (so a test can
    change the app's module state between episodes)."""
    async for app in _hosted(request, request.param, 0):
        yield app


@pytest.fixture
async def memory_app(request: pytest.FixtureRequest) -> AsyncIterator[CounterApp]:
    """The counter app on the memory hub alone (for tests sending many requests)."""
    async for app in _hosted(request, "memory", 0):
        yield app


async def _hosted(request: pytest.FixtureRequest, backend: str,
                  replay_processes: int) -> AsyncIterator[CounterApp]:
    """The counter app on the ``backend`` hub, stopped afterwards."""
    def memory_hub(_settings: Any) -> TaskHub:
        return MemoryTaskHub(VirtualClock())

    def azure_hub(_settings: Any) -> TaskHub:
        azurite: AzuriteProcess = request.getfixturevalue("azurite")
        return AzureStorageTaskHub(azurite.connection_string,
                                   f"entities{uuid.uuid4().hex[:12]}", SystemClock(),
                                   visibility_timeout=5.0, **FAST_POLL)

    factory = memory_hub if backend == "memory" else azure_hub
    if backend == "azurite":
        request.getfixturevalue("azurite")  # started before the host, outside its event loop
    with process_state_kept():
        forget_sdk_session()
        host = LocalHost(COUNTER_APP, factory, port=0, replay_processes=replay_processes)
        await host.start()
        try:
            async with aiohttp.ClientSession() as session:
                yield CounterApp(host, session)
        finally:
            await host.stop()
            forget_sdk_session()
