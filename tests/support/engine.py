"""Helpers for the engine tests: app indexing, a hand-cranked engine, history checks.

The local indexer reads ``app.get_functions()`` the way the worker does; once
``devhost.app.loader.load_app`` exists the fixtures use it instead.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func

from devhost.engine.activities import run_activity
from devhost.engine.executor import Episodes
from devhost.engine.protocol import SCHEDULING_EVENTS, EventType
from devhost.taskhub.base import Commit, TaskHub

COMPLETION_OF = {
    EventType.TASK_COMPLETED: ("TaskScheduledId", EventType.TASK_SCHEDULED),
    EventType.TASK_FAILED: ("TaskScheduledId", EventType.TASK_SCHEDULED),
    EventType.SUB_ORCHESTRATION_COMPLETED: ("TaskScheduledId",
                                            EventType.SUB_ORCHESTRATION_CREATED),
    EventType.SUB_ORCHESTRATION_FAILED: ("TaskScheduledId", EventType.SUB_ORCHESTRATION_CREATED),
    EventType.TIMER_FIRED: ("TimerId", EventType.TIMER_CREATED),
}
ENDINGS = frozenset({EventType.EXECUTION_COMPLETED, EventType.EXECUTION_FAILED,
                     EventType.EXECUTION_TERMINATED})


# Indexing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IndexedOrchestrator:
    """An orchestrator as the worker sees it: the SDK's ``handle``."""

    name: str
    handle: Callable[[Any], str]


@dataclass(frozen=True)
class IndexedActivity:
    """An activity: the user's function and the name of its input parameter."""

    name: str
    func: Callable[..., Any]
    input_param: str
    is_async: bool


@dataclass
class LocalIndex:
    """What the local indexer found in one app module."""

    module: ModuleType
    orchestrators: dict[str, IndexedOrchestrator] = field(default_factory=dict)
    activities: dict[str, IndexedActivity] = field(default_factory=dict)


def import_under_unique_name(path: Path, module_name: str) -> ModuleType:
    """Import ``path`` as ``module_name`` so it never collides with another function_app."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def index_module(module: ModuleType) -> LocalIndex:
    """Index the module's one FunctionRegister like the worker: by trigger type."""
    apps = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    assert len(apps) == 1, f"{module.__name__} holds {len(apps)} function apps"
    index = LocalIndex(module)
    for function in apps[0].get_functions():
        trigger = function.get_trigger()
        user = function.get_user_function()
        if trigger.type == "orchestrationTrigger":
            name = trigger.orchestration or function.get_function_name()
            index.orchestrators[name] = IndexedOrchestrator(name, user)
        elif trigger.type == "activityTrigger":
            name = trigger.activity or function.get_function_name()
            index.activities[name] = IndexedActivity(
                name, user, trigger.name, inspect.iscoroutinefunction(user))
    return index


def sample_globals(orchestrators: Any) -> dict[str, Any]:
    """The sample app module's globals, reached through one of its orchestrators.

    Works whatever loaded the app: the SDK keeps the generator on ``handle``.
    """
    handle = orchestrators["fickle"].handle
    return handle.orchestrator_function.__globals__


# History checks ------------------------------------------------------------------------------

def kinds(history: list[dict[str, Any]]) -> list[EventType]:
    """The event types of a history, in order."""
    return [EventType(e["EventType"]) for e in history]


def of_kind(history: list[dict[str, Any]], kind: EventType) -> list[dict[str, Any]]:
    """The events of one type."""
    return [e for e in history if e["EventType"] == kind]


def episodes(history: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The history cut at each OrchestratorStarted."""
    cut: list[list[dict[str, Any]]] = []
    for item in history:
        if item["EventType"] == EventType.ORCHESTRATOR_STARTED or not cut:
            cut.append([])
        cut[-1].append(item)
    return cut


def assert_durable_shape(history: list[dict[str, Any]], ended: bool = True) -> None:
    """Check the Durable Task shape of one execution's history.

    Each episode is OrchestratorStarted ... OrchestratorCompleted; the first holds the
    ExecutionStarted; scheduling ids run 0, 1, 2 ... in order; every completion names
    an earlier task of the matching kind, and no task completes twice; an ended
    execution's last episode closes with its ending.
    """
    assert history, "empty history"
    cuts = episodes(history)
    for index, episode in enumerate(cuts):
        assert episode[0]["EventType"] == EventType.ORCHESTRATOR_STARTED, index
        assert episode[-1]["EventType"] == EventType.ORCHESTRATOR_COMPLETED, index
        inner = kinds(episode[1:-1])
        assert EventType.ORCHESTRATOR_STARTED not in inner
        assert EventType.ORCHESTRATOR_COMPLETED not in inner
    assert cuts[0][1]["EventType"] == EventType.EXECUTION_STARTED
    assert kinds(history).count(EventType.EXECUTION_STARTED) == 1

    scheduled: dict[int, EventType] = {}
    completed: set[int] = set()
    for item in history:
        kind = EventType(item["EventType"])
        if kind in SCHEDULING_EVENTS:
            assert item["EventId"] == len(scheduled), f"id {item['EventId']} out of order"
            scheduled[item["EventId"]] = kind
        elif kind in COMPLETION_OF:
            key, scheduling_kind = COMPLETION_OF[kind]
            task_id = item[key]
            assert scheduled.get(task_id) == scheduling_kind, f"{kind.name} for {task_id}"
            assert task_id not in completed, f"task {task_id} completed twice"
            completed.add(task_id)
            assert item["EventId"] == -1
        else:
            assert item["EventId"] == -1

    endings = [e for e in history if e["EventType"] in ENDINGS]
    if ended:
        assert len(endings) == 1
        assert history[-2] is endings[0], "the ending closes the last episode"
    else:
        assert not endings


# Waiting -------------------------------------------------------------------------------------

async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll ``check`` until it holds; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def history_has(hub: TaskHub, instance_id: str, kind: EventType, count: int = 1,
                      timeout: float = 10.0) -> list[dict[str, Any]]:
    """Wait until the instance's history holds ``count`` events of ``kind``; return it."""
    async def enough() -> bool:
        return len(of_kind(await hub.get_history(instance_id), kind)) >= count
    await until(enough, timeout)
    return await hub.get_history(instance_id)


# A hand-cranked engine -------------------------------------------------------------------------

class Crank:
    """Runs the engine one work item at a time over a hub, without background workers.

    It does what the runtime's workers do, but the test decides when, so it controls
    which messages arrive together in one work item.
    """

    def __init__(self, hub: TaskHub, orchestrators: Any, activities: Any) -> None:
        """Drive ``hub`` with the app's functions."""
        self.hub = hub
        self.orchestrators = orchestrators
        self.activities = activities
        self.pool = ThreadPoolExecutor(max_workers=4)

    async def episode(self) -> Commit | None:
        """Fetch one orchestration work item, run it and commit it."""
        item = await self.hub.fetch_orchestration_work(0.05)
        assert item is not None, "no orchestration work"
        commit = Episodes(item, self.orchestrators, self.hub.clock.now(), self.activities).run()
        if commit is None:
            await self.hub.abandon_orchestration_work(item)
        elif commit.record is None:
            await self.hub.complete_orchestration_work(item, Commit(None))
        else:
            await self.hub.complete_orchestration_work(item, commit)
        return commit

    async def run_activities(self, count: int) -> None:
        """Run the next ``count`` activity tasks and deliver their results."""
        for _ in range(count):
            item = await self.hub.fetch_activity_work(0.05)
            assert item is not None, "no activity work"
            result = await run_activity(item.task, self.activities, self.pool,
                                        self.hub.clock.now)
            await self.hub.complete_activity_work(item, result)

    async def no_orchestration_work(self) -> bool:
        """True when no instance has visible messages (leases nothing)."""
        item = await self.hub.fetch_orchestration_work(0.01)
        if item is None:
            return True
        await self.hub.abandon_orchestration_work(item)
        return False

    def close(self) -> None:
        """Stop the activity threads."""
        self.pool.shutdown(wait=False)

