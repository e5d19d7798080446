"""Rewind on both task hubs: a failed instance runs again from where it failed.

Matched against DurableTask.AzureStorage ``AzureTableTrackingStore.RewindHistoryAsync``
(failed rows become GenericEvents with "Rewound: ..." reasons, failed children rewound
in turn, the instance Pending until revived) and the extension's ``RewindAsync`` /
``HandleRewindInstanceRequestAsync`` (only a failed instance; 404, 410).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import pytest

from devhost.clock import VirtualClock
from devhost.engine.protocol import (
    EventType,
    execution_completed,
    execution_started,
    orchestrator_completed,
    orchestrator_started,
    task_failed,
    task_scheduled,
)
from devhost.engine.rewind import plan_rewind
from devhost.errors import InstanceEnded, InstanceNotFound, NotRewindable
from devhost.taskhub.base import Message, RuntimeStatus
from tests.support.engine import of_kind, sample_globals

E = EventType


async def _tick_until_ended(runtime, instance: str) -> None:
    """Let retry timers fire: skip a virtual second at a time, or wait on a real clock."""
    for _ in range(100):
        record = await runtime.client.get_instance(instance)
        if record is not None and record.runtime_status.has_ended:
            return
        if isinstance(runtime.hub.clock, VirtualClock):
            await runtime.advance(seconds=1)
        await asyncio.sleep(0.05)


async def test_a_failed_activity_runs_again_and_the_instance_completes(either, samples, unique):
    """The failed task is cleared and queued again; what completed before is not redone."""
    spec = {"key": unique, "fail_times": 1}
    instance = await either.client.start_new("steps_then_flaky", None, json.dumps(spec))
    first = await either.client.wait_for(instance)
    assert first.runtime_status == RuntimeStatus.FAILED

    await either.client.rewind(instance, "fixed the flaky service")
    assert (await either.client.get_instance(instance)).runtime_status in (
        RuntimeStatus.PENDING, RuntimeStatus.RUNNING)
    # The pair's flaky call fails on its first run too: the instance fails again there.
    again = await either.client.wait_for(instance)
    assert again.runtime_status == RuntimeStatus.FAILED
    assert f"{unique}-b attempt 1 failed" in (again.output or "")
    await either.client.rewind(instance, "and again")
    record = await either.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.COMPLETED, record.output
    assert json.loads(record.output or "null") == [
        "Hello first!", f"{unique} ok on attempt 2", f"{unique}-b ok on attempt 2",
        "Hello beside!"]

    history = await either.client.get_history(instance)
    reasons = [e.get("Reason") for e in of_kind(history, E.GENERIC)]
    assert reasons.count("Rewound: TaskFailed") == 2
    assert reasons.count("Rewound: ExecutionCompleted") == 2
    assert [e.get("Data") for e in of_kind(history, E.GENERIC) if "Data" in e] == [
        "fixed the flaky service", "and again"]
    assert of_kind(history, E.TASK_FAILED) == []
    assert len(of_kind(history, E.EXECUTION_COMPLETED)) == 1
    # The greeting before the failure ran once; each flaky call ran twice.
    hellos = [e for e in of_kind(history, E.TASK_SCHEDULED) if e["Name"] == "hello"]
    assert len(hellos) == 2
    attempts = sample_globals(samples.orchestrators)["ATTEMPTS"]
    assert attempts[unique] == 2 and attempts[f"{unique}-b"] == 2


async def test_a_retried_call_runs_its_last_attempt_again(either, samples, unique):
    """A call whose retries ran out gets one more run of its last attempt; the policy's
    count of earlier attempts is kept."""
    spec = {"key": unique, "fail_times": 2, "attempts": 2, "interval_ms": 200}
    instance = await either.client.start_new("retried_uncaught", None, json.dumps(spec))
    await _tick_until_ended(either, instance)
    assert (await either.client.get_instance(instance)).runtime_status == RuntimeStatus.FAILED
    await either.client.rewind(instance, None)
    await _tick_until_ended(either, instance)
    record = await either.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.COMPLETED, record.output
    assert json.loads(record.output or "null") == f"{unique} ok on attempt 3"
    history = await either.client.get_history(instance)
    assert len(of_kind(history, E.TASK_FAILED)) == 1  # the first attempt's stays
    assert sample_globals(samples.orchestrators)["ATTEMPTS"][unique] == 3


async def test_a_failed_child_is_rewound_and_its_parent_completes(either, unique):
    """Rewinding a parent rewinds the failed sub-orchestration (same instance id), whose
    completion then reaches the parent."""
    spec = {"key": unique, "fail_times": 1, "attempts": 1, "interval_ms": 200}
    instance = await either.client.start_new("parent", None, json.dumps(spec))
    await _tick_until_ended(either, instance)
    assert (await either.client.get_instance(instance)).runtime_status == RuntimeStatus.FAILED
    created = of_kind(await either.client.get_history(instance), E.SUB_ORCHESTRATION_CREATED)
    child = created[-1]["InstanceId"]
    assert (await either.client.get_instance(child)).runtime_status == RuntimeStatus.FAILED

    await either.client.rewind(instance, "child fixed")
    await _tick_until_ended(either, instance)
    record = await either.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.COMPLETED, record.output
    assert json.loads(record.output or "null")["retried"] == f"{unique} ok on attempt 2"
    child_record = await either.client.get_instance(child)
    assert child_record.runtime_status == RuntimeStatus.COMPLETED
    parent_history = await either.client.get_history(instance)
    assert len(of_kind(parent_history, E.SUB_ORCHESTRATION_CREATED)) == len(created)
    assert "Rewound: SubOrchestrationInstanceFailed" in [
        e.get("Reason") for e in of_kind(parent_history, E.GENERIC)]


async def test_rewind_takes_only_a_failed_instance(either):
    """Unknown: InstanceNotFound (404); completed or terminated: InstanceEnded (410);
    live: NotRewindable with RewindAsync's message."""
    with pytest.raises(InstanceNotFound):
        await either.client.rewind("nobody", None)
    done = await either.client.start_new("sequence", None, None)
    await either.client.wait_for(done)
    with pytest.raises(InstanceEnded):
        await either.client.rewind(done, None)
    live = await either.client.start_new("wait_event", None, None)
    await either.client.wait_for(live, lambda r: r.custom_status == '"waiting"')
    with pytest.raises(NotRewindable, match="only supported on failed orchestration"):
        await either.client.rewind(live, None)
    await either.client.terminate(live, None)
    await either.client.wait_for(live)
    with pytest.raises(InstanceEnded):
        await either.client.rewind(live, None)


async def test_a_rewind_message_delivered_twice_rewinds_once(runtime, samples, unique):
    """The rewind message is recorded; a second delivery of it changes nothing."""
    spec = {"key": unique, "fail_times": 5}
    instance = await runtime.client.start_new("flaky_child", None, json.dumps(spec))
    await runtime.client.wait_for(instance)
    await runtime.client.rewind(instance, "once")
    assert "attempt 2" in ((await runtime.client.wait_for(instance)).output or "")
    history = await runtime.client.get_history(instance)
    request = next(e for e in of_kind(history, E.GENERIC) if e.get("Rewind"))
    await runtime.hub.send([Message(instance, {k: v for k, v in request.items()
                                               if k != "MessageId"},
                                    message_id=request["MessageId"])])
    await asyncio.sleep(0.3)
    record = await runtime.client.get_instance(instance)
    assert record.runtime_status == RuntimeStatus.FAILED
    assert sample_globals(samples.orchestrators)["ATTEMPTS"][unique] == 2


def test_a_task_running_at_the_failure_is_named_and_left_waiting():
    """A fan-out that failed fast: the sibling still running then had its result dropped,
    so rewind re-runs only the failed task and names the sibling as stranded (on Azure its
    TaskScheduled row stays too, and nothing will complete it)."""
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    history = [orchestrator_started(at), execution_started("fan", "i", None, at),
               task_scheduled(0, "flaky", '"k"', at), task_scheduled(1, "hello", '"b"', at),
               orchestrator_completed(at), orchestrator_started(at),
               task_failed(0, "boom", None, at), execution_completed('"boom"', True, at),
               orchestrator_completed(at)]
    plan = plan_rewind(history)
    assert [(t.task_id, t.name, t.input) for t in plan.activities] == [(0, "flaky", '"k"')]
    assert plan.stranded == [1]
    assert plan.children == []
    assert len(plan.history) == len(history)
    assert [e.get("Reason") for e in plan.history if e["EventType"] == E.GENERIC] == [
        "Rewound: TaskFailed", "Rewound: ExecutionCompleted"]
    # Both scheduling events stay where they were, so task ids and positions hold.
    assert [e["EventId"] for e in plan.history if e["EventType"] == E.TASK_SCHEDULED] == [0, 1]
