"""Fixtures: a small app whose flow the tests change, run on a memory hub to record histories.

``flow_source(...)`` writes the app's orchestrator with parts swapped in; ``run_app`` hosts
an app folder's current code on a runtime over a memory hub and a virtual clock, and
forgets its modules afterwards, so the same folder can be changed and run again.
"""

from __future__ import annotations

import contextlib
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devhost.app.loader import import_state_kept, load_app
from devhost.clock import VirtualClock
from devhost.engine.runtime import DurableRuntime
from devhost.history.replay import fresh_imports
from devhost.taskhub.memory import MemoryTaskHub

# The flow as first deployed: two steps, then wait for "Go" or 30 minutes, then a last step.
FIRST_STEPS = '''
    first = yield context.call_activity("Step", "a")
    second = yield context.call_activity("Step", "b")
'''
WAIT = '''
    decision = context.wait_for_external_event("Go")
    deadline = context.create_timer(context.current_utc_datetime + timedelta(minutes=30))
    winner = yield context.task_any([decision, deadline])
    if winner is decision:
        deadline.cancel()
'''
LAST_STEP = '''
    last = yield context.call_activity("Step", "c")
    return [first, second, last]
'''

APP = '''
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
FLAKY_CALLS = {{}}


@app.orchestration_trigger(context_name="context")
def Flow(context: df.DurableOrchestrationContext):
{flow}


@app.orchestration_trigger(context_name="context")
def Retried(context: df.DurableOrchestrationContext):
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)
    value = yield context.call_activity_with_retry("{flaky}", retry, context.get_input())
    return value


@app.activity_trigger(input_name="name")
def Step(name: str) -> str:
    return name.upper()


@app.activity_trigger(input_name="key")
def Flaky(key: str) -> str:
    FLAKY_CALLS[key] = FLAKY_CALLS.get(key, 0) + 1
    if FLAKY_CALLS[key] < 3:
        raise ValueError(f"attempt {{FLAKY_CALLS[key]}} fails")
    return key


@app.activity_trigger(input_name="key")
def Steady(key: str) -> str:
    return key
'''


def flow_source(first: str = FIRST_STEPS, wait: str = WAIT, last: str = LAST_STEP,
                flaky: str = "Flaky") -> str:
    """The app's function_app.py with the flow's parts (each an indented block) given."""
    return APP.format(flow=textwrap.indent(textwrap.dedent(first + wait + last), "    "),
                      flaky=flaky)


def write_flow(folder: Path, **parts: str) -> Path:
    """Write (or rewrite) the app in ``folder``; returns the folder."""
    folder.mkdir(exist_ok=True)
    (folder / "function_app.py").write_text(flow_source(**parts), encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def _no_bytecode_of_edited_apps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps edited and imported again within a second: no stale bytecode may stand in."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)


@pytest.fixture
def flow_dir(tmp_path: Path) -> Path:
    """The flow app as first deployed, in a folder of its own."""
    return write_flow(tmp_path / "flow")


@contextlib.contextmanager
def app_loaded_fresh(folder: Path) -> Iterator[None]:
    """Around a block that imports the app in ``folder``: its modules fresh from the folder,
    what was imported before under the same names put back afterwards."""
    with fresh_imports(folder), import_state_kept():
        yield


@contextlib.asynccontextmanager
async def run_app(folder: Path, hub: MemoryTaskHub | None = None
                  ) -> AsyncIterator[DurableRuntime]:
    """The app's current code running on ``hub`` (a new memory hub on a virtual clock)."""
    with app_loaded_fresh(folder):
        index = load_app(folder)
        runtime = DurableRuntime(hub or MemoryTaskHub(VirtualClock()), index.orchestrators,
                                 index.activities)
        await runtime.start()
        try:
            yield runtime
        finally:
            await runtime.stop()
