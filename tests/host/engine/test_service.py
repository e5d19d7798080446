"""The runtime as a service: start, raise events, terminate, and the errors it answers."""

import asyncio
import json

import pytest

from devhost.clock import SystemClock
from devhost.engine.protocol import EventType, execution_started
from devhost.engine.runtime import DurableRuntime
from devhost.errors import InstanceEnded, InstanceExists, InstanceNotFound, UnknownOrchestrator
from devhost.taskhub.base import Commit, InstanceRecord, Message, RuntimeStatus
from devhost.taskhub.memory import MemoryTaskHub
from tests.support.engine import assert_durable_shape, history_has, kinds, of_kind

E = EventType


def waiting(record):
    """A wait_for condition: the wait_event orchestrator reached its wait."""
    return record.custom_status == json.dumps("waiting")


async def test_terminate_ends_with_the_reason_and_drops_later_messages(runtime):
    """A terminated instance reports the reason as output; its pending timer changes nothing."""
    instance = await runtime.client.start_new("timer", None, None)
    await history_has(runtime.hub, instance, E.TIMER_CREATED)
    await runtime.client.terminate(instance, "enough")
    record = await runtime.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.TERMINATED
    assert json.loads(record.output) == "enough"
    history = await runtime.client.get_history(instance)
    assert kinds(history)[-3:] == [E.ORCHESTRATOR_STARTED, E.EXECUTION_TERMINATED,
                                   E.ORCHESTRATOR_COMPLETED]
    await runtime.advance(minutes=10)
    await asyncio.sleep(0.15)
    assert await runtime.client.get_history(instance) == history
    assert (await runtime.client.get_instance(instance)).runtime_status == RuntimeStatus.TERMINATED
    assert_durable_shape(history)


async def test_terminate_while_pending_keeps_the_start_in_history(idle_runtime):
    """Terminated before its first episode: history still opens with its ExecutionStarted."""
    instance = await idle_runtime.client.start_new("wait_event", None, None)
    await idle_runtime.client.terminate(instance, "never mind")
    await idle_runtime.start()
    record = await idle_runtime.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.TERMINATED
    history = await idle_runtime.client.get_history(instance)
    assert kinds(history) == [E.ORCHESTRATOR_STARTED, E.EXECUTION_STARTED,
                              E.EXECUTION_TERMINATED, E.ORCHESTRATOR_COMPLETED]
    assert_durable_shape(history)


async def test_terminated_child_fails_its_parent(runtime, unique):
    """Terminating a sub-orchestration hands its parent a failure naming the reason."""
    parent, child = f"{unique}-parent", f"{unique}-child"
    await runtime.client.start_new("parent_of_waiter", parent, json.dumps(child))
    await runtime.client.wait_for(child, waiting)
    await runtime.client.terminate(child, "stop it")
    record = await runtime.client.wait_for(parent)
    assert json.loads(record.output).startswith("child failed: terminated: stop it")
    [failed] = of_kind(await runtime.client.get_history(parent), E.SUB_ORCHESTRATION_FAILED)
    assert failed["TaskScheduledId"] == 0


async def test_ended_instances_refuse_events_and_terminate(runtime):
    """raise_event and terminate on a completed instance answer InstanceEnded."""
    instance = await runtime.client.start_new("sequence", None, None)
    await runtime.client.wait_for(instance)
    with pytest.raises(InstanceEnded):
        await runtime.client.raise_event(instance, "go", None)
    with pytest.raises(InstanceEnded):
        await runtime.client.terminate(instance, "late")


async def test_unknown_instances_are_not_found(runtime):
    """raise_event and terminate on an id nobody started answer InstanceNotFound."""
    with pytest.raises(InstanceNotFound):
        await runtime.client.raise_event("nobody", "go", None)
    with pytest.raises(InstanceNotFound):
        await runtime.client.terminate("nobody", "why")


async def test_start_of_an_unknown_orchestrator_is_refused(runtime):
    """start_new names only indexed orchestrators; nothing is created otherwise."""
    with pytest.raises(UnknownOrchestrator, match="no_such_orchestrator"):
        await runtime.client.start_new("no_such_orchestrator", "ghost", None)
    assert await runtime.client.get_instance("ghost") is None


async def test_start_of_a_live_id_is_refused(idle_runtime, unique):
    """A Pending or Running instance cannot be started again under its id."""
    await idle_runtime.client.start_new("wait_event", unique, None)
    with pytest.raises(InstanceExists):
        await idle_runtime.client.start_new("wait_event", unique, None)
    await idle_runtime.start()
    await idle_runtime.client.wait_for(unique, waiting)
    with pytest.raises(InstanceExists):
        await idle_runtime.client.start_new("sequence", unique, None)


async def test_start_of_a_completed_id_replaces_it(runtime, unique):
    """Starting an ended id runs a new instance with a fresh history."""
    await runtime.client.start_new("wait_event", unique, None)
    await runtime.client.wait_for(unique, waiting)
    await runtime.client.raise_event(unique, "go", json.dumps("first"))
    await runtime.client.wait_for(unique)
    await runtime.client.start_new("sequence", unique, None)
    record = await runtime.client.wait_for(unique)
    assert record.name == "sequence"
    assert json.loads(record.output) == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    history = await runtime.client.get_history(unique)
    assert not of_kind(history, E.EVENT_RAISED)
    assert_durable_shape(history)


async def test_rerun_parent_starts_its_children_again(runtime, unique):
    """A parent started again under its id runs new children under the ids the old ones had."""
    spec = {"key": unique, "fail_times": 0, "attempts": 2, "interval_ms": 1000}
    for run in range(2):
        await runtime.client.start_new("parent", unique, json.dumps(spec))
        record = await runtime.client.wait_for(unique, timeout=5)
        assert record.runtime_status == RuntimeStatus.COMPLETED, run
        assert json.loads(record.output)["named"]["instance"] == f"{unique}-named"
        named = await runtime.client.get_history(f"{unique}-named")
        assert_durable_shape(named)


async def test_an_instance_whose_start_was_lost_is_started_by_the_sweep(samples):
    """A Pending record whose start message is gone is started again by the periodic sweep."""
    hub = MemoryTaskHub(SystemClock())
    now = hub.clock.now()
    record = InstanceRecord("lost-start", "sequence", RuntimeStatus.PENDING, now, now)
    await hub.create_instance(record, Message("lost-start", execution_started(
        "sequence", "lost-start", None, now)))
    item = await hub.fetch_orchestration_work(0)  # the start message is lost ...
    assert item is not None
    await hub.complete_orchestration_work(item, Commit(None))  # ... dropped unapplied
    runtime = DurableRuntime(hub, samples.orchestrators, samples.activities,
                             pending_sweep_seconds=0.2)
    await hub.start()
    runtime.client.requeue_unstarted = _only_sweeps(runtime.client.requeue_unstarted)
    await runtime.start()
    try:
        finished = await runtime.client.wait_for("lost-start", timeout=10)
    finally:
        await runtime.stop()
    assert finished.runtime_status == RuntimeStatus.COMPLETED


def _only_sweeps(requeue):
    """Skip the start-up pass, so only the periodic sweep can start the instance."""
    async def sweep_only(created_before=None):
        if created_before is not None:
            await requeue(created_before=created_before)
    return sweep_only
