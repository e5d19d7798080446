"""Export from a task hub object, and histories of every shape replaying the same.

In flight means neither completed, failed nor terminated: running, suspended, pending with
an episode behind it.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from devhost.engine.protocol import EventType
from devhost.errors import InstanceNotFound
from devhost.history import NothingToExport, export_hub, replay
from devhost.taskhub.base import RuntimeStatus
from tests.host.history.conftest import run_app
from tests.support.engine import history_has

SHAPES_APP = '''
from datetime import timedelta

import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def Sleeper(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(days=8))
    child = yield context.call_sub_orchestrator("Child", "x")
    return child


@app.orchestration_trigger(context_name="context")
def Child(context: df.DurableOrchestrationContext):
    return context.get_input() + "!"


@app.orchestration_trigger(context_name="context")
def Breaks(context: df.DurableOrchestrationContext):
    yield context.wait_for_external_event("Go")
    raise ValueError("broken on purpose")
'''


@pytest.fixture
def shapes_dir(tmp_path: Path) -> Path:
    """An app with a long timer, a sub-orchestration and an orchestrator that fails."""
    folder = tmp_path / "shapes"
    folder.mkdir()
    (folder / "function_app.py").write_text(textwrap.dedent(SHAPES_APP))
    return folder


async def test_running_exports_what_is_in_flight_and_ids_export_anything(
        flow_dir: Path) -> None:
    """Running and suspended instances are in flight; completed and terminated ones are
    exported only by id; each record carries the hub's status and the full history."""
    async with run_app(flow_dir) as runtime:
        client = runtime.client
        for instance_id in ("running", "suspended", "terminated", "completed"):
            await client.start_new("Flow", instance_id, None)
            await history_has(runtime.hub, instance_id, EventType.TIMER_CREATED)
        await client.suspend("suspended", "hold on")
        await client.terminate("terminated", "enough")
        await client.raise_event("completed", "Go", json.dumps(1))
        for instance_id in ("suspended", "terminated", "completed"):
            await client.wait_for(instance_id, lambda r: r.runtime_status in (
                RuntimeStatus.SUSPENDED, RuntimeStatus.TERMINATED, RuntimeStatus.COMPLETED))
        in_flight = await export_hub(runtime.hub)
        assert sorted((i.instance_id, i.runtime_status) for i in in_flight) == [
            ("running", "Running"), ("suspended", "Suspended")]
        every = await export_hub(runtime.hub, ["terminated", "completed"])
        assert [i.runtime_status for i in every] == ["Terminated", "Completed"]
        for item in [*in_flight, *every]:
            assert item.history == await runtime.hub.get_history(item.instance_id)
    assert replay(flow_dir, [*in_flight, *every]).ok


async def test_unknown_and_unstarted_instances_are_refused_by_name(flow_dir: Path) -> None:
    """An id the hub does not know, or one that has not run an episode yet, is an error
    naming it; a pending instance is no instance in flight to export."""
    async with run_app(flow_dir) as runtime:
        await runtime.workers.stop()  # nothing runs: the new instance stays Pending
        await runtime.client.start_new("Flow", "pending", None)
        with pytest.raises(InstanceNotFound, match="'nobody'"):
            await export_hub(runtime.hub, ["nobody"])
        with pytest.raises(NothingToExport, match="'pending' \\(Pending\\) has not run"):
            await export_hub(runtime.hub, ["pending"])
        assert await export_hub(runtime.hub) == []


async def test_events_held_while_suspended_are_not_replayed(flow_dir: Path) -> None:
    """An event that reached a suspended instance waits in its history, marked held; the
    SDK never saw it, so replay skips it and the history replays the same."""
    async with run_app(flow_dir) as runtime:
        client = runtime.client
        await client.start_new("Flow", "held", None)
        await history_has(runtime.hub, "held", EventType.TIMER_CREATED)
        await client.suspend("held", None)
        await client.wait_for("held", lambda r: r.runtime_status == RuntimeStatus.SUSPENDED)
        await client.raise_event("held", "Go", json.dumps(1))
        history = await history_has(runtime.hub, "held", EventType.EVENT_RAISED)
        assert [e.get("Held") for e in history if e["EventType"] == EventType.EVENT_RAISED] == [
            True]
        exported = await export_hub(runtime.hub, ["held"])
    assert replay(flow_dir, exported).ok


async def test_long_timers_sub_orchestrations_and_failures_replay_the_same(
        shapes_dir: Path) -> None:
    """A timer over six days (split by the SDK into chained ones), a child's start and
    result, and an orchestration that failed: each replays to what it recorded, and a
    failure the code no longer raises is named."""
    async with run_app(shapes_dir) as runtime:
        client = runtime.client
        await client.start_new("Sleeper", "sleeper", None)
        await client.start_new("Breaks", "breaks", None)
        for timers in (1, 2):  # fires at 3 days, then the last part at 8
            await history_has(runtime.hub, "sleeper", EventType.TIMER_CREATED, count=timers)
            await runtime.advance(days=3 if timers == 1 else 5)
        sleeper = await client.wait_for("sleeper")
        assert sleeper.runtime_status == RuntimeStatus.COMPLETED, sleeper.output
        await history_has(runtime.hub, "breaks", EventType.ORCHESTRATOR_COMPLETED)
        await client.raise_event("breaks", "Go", json.dumps(1))
        failed = await client.wait_for("breaks")
        assert failed.runtime_status == RuntimeStatus.FAILED
        exported = await export_hub(runtime.hub, ["sleeper", "breaks"])
    timers = [e for e in exported[0].history if e["EventType"] == EventType.TIMER_CREATED]
    assert len(timers) == 2
    assert replay(shapes_dir, exported).ok
    source = shapes_dir / "function_app.py"
    source.write_text(source.read_text().replace('    raise ValueError("broken on purpose")\n',
                                                 '    return "fixed"\n'))
    report = replay(shapes_dir, exported)
    assert [d.instance_id for d in report.divergences] == ["breaks"]
    divergence = report.divergences[0]
    assert divergence.event["EventType"] == EventType.EXECUTION_FAILED
    assert divergence.history_holds == "ExecutionFailed: the orchestration failed"
    assert divergence.code_does == "completes, scheduling nothing more"
