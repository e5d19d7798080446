"""Suspend and resume on both task hubs: a suspended instance runs nothing and keeps what
arrives, then continues with it (DurableTask.Core TaskOrchestrationExecutor)."""

from __future__ import annotations

import json

import pytest

from devhost.engine.protocol import EventType
from devhost.errors import InstanceEnded, InstanceNotFound
from devhost.taskhub.base import RuntimeStatus
from tests.support.engine import of_kind

E = EventType


def suspended(record):
    """The wait condition: the instance is suspended."""
    return record.runtime_status == RuntimeStatus.SUSPENDED


async def test_events_wait_while_suspended_and_arrive_on_resume(either):
    """An event raised while suspended is not delivered; on resume it is, once."""
    instance = await either.client.start_new("wait_event", None, None)
    await either.client.wait_for(instance, lambda r: r.custom_status == '"waiting"')
    await either.client.suspend(instance, "hold on")
    await either.client.wait_for(instance, suspended)
    await either.client.raise_event(instance, "go", json.dumps("later"))
    with pytest.raises(TimeoutError):
        await either.client.wait_for(instance, timeout=1.0)
    await either.client.resume(instance, "go on")
    record = await either.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.COMPLETED
    assert json.loads(record.output or "null") == "later"
    history = await either.client.get_history(instance)
    delivered = [e for e in of_kind(history, E.EVENT_RAISED) if not e.get("Held")]
    assert len(delivered) == 1
    assert [e["Reason"] for e in of_kind(history, E.EXECUTION_SUSPENDED)] == ["hold on"]


async def test_resume_of_a_running_instance_changes_nothing(either):
    """Resuming an instance that is not suspended records the event and runs on."""
    instance = await either.client.start_new("wait_event", None, None)
    await either.client.wait_for(instance, lambda r: r.custom_status == '"waiting"')
    await either.client.resume(instance, None)
    await either.client.raise_event(instance, "go", json.dumps(1))
    assert json.loads((await either.client.wait_for(instance)).output or "null") == 1


async def test_suspend_needs_a_live_instance(either):
    """Suspending an unknown instance raises InstanceNotFound, an ended one InstanceEnded."""
    with pytest.raises(InstanceNotFound):
        await either.client.suspend("nobody", None)
    done = await either.client.start_new("sequence", None, None)
    await either.client.wait_for(done)
    with pytest.raises(InstanceEnded):
        await either.client.suspend(done, None)


async def test_terminate_ends_a_suspended_instance(either):
    """A suspended instance can still be terminated."""
    instance = await either.client.start_new("wait_event", None, None)
    await either.client.wait_for(instance, lambda r: r.custom_status == '"waiting"')
    await either.client.suspend(instance, None)
    await either.client.wait_for(instance, suspended)
    await either.client.terminate(instance, "closing")
    record = await either.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.TERMINATED
