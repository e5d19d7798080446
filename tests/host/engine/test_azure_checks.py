"""Checks Azure's host applies to what an orchestrator asks for, failing it as Azure does.

Each test names the Durable extension (or DurableTask) source it matches. The checks that
need no waiting run on both task hubs: the engine applies them, whatever the storage.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from devhost.engine.protocol import (
    LONG_RUNNING_TIMER_INTERVAL,
    MAXIMUM_SHORT_TIMER_DURATION,
    EventType,
    orchestration_context,
    parse_iso,
)
from devhost.errors import InvalidInstanceId, UnknownOrchestrator
from devhost.taskhub.base import InstanceRecord, RuntimeStatus
from tests.support.engine import history_has, of_kind

E = EventType
SAME_ID = ("Orchestrator function 'child_id' failed: The instance ID of a sub-orchestration "
           "must be different than the instance ID of a parent orchestration.")


def output(record: InstanceRecord) -> Any:
    """The instance's output as a value."""
    return json.loads(record.output or "null")


async def test_a_missing_sub_orchestrator_fails_the_orchestration(either):
    """Calling an orchestrator the app lacks fails the caller past its try/except
    (DurableTaskExtension.ThrowIfFunctionDoesNotExist, GetInvalidOrchestratorFunctionMessage)."""
    instance = await either.client.start_new("missing_child", None, None)
    record = await either.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.FAILED
    assert output(record).startswith(
        "Orchestrator function 'missing_child' failed: The function 'no_such_orchestrator' "
        "doesn't exist, is disabled, or is not an orchestrator function. Additional info: "
        "The following are the known orchestrator functions: 'sequence', ")
    history = await either.client.get_history(instance)
    assert of_kind(history, E.SUB_ORCHESTRATION_CREATED) == []


@pytest.mark.parametrize("wanted", ["self", "SELF"])
async def test_a_child_under_its_own_id_fails_the_orchestration(either, wanted):
    """A sub-orchestration whose id equals its caller's, ignoring case, fails the caller
    uncaught (DurableOrchestrationContext.CallDurableTaskFunctionAsync)."""
    instance = f"Kid-{uuid.uuid4().hex[:8]}"
    chosen = instance if wanted == "self" else instance.upper()
    await either.client.start_new("child_id", instance, json.dumps(chosen))
    record = await either.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.FAILED
    assert output(record) == SAME_ID
    history = await either.client.get_history(instance)
    assert of_kind(history, E.SUB_ORCHESTRATION_CREATED) == []


async def test_a_child_under_its_parent_s_id_fails_the_orchestration(either):
    """A sub-orchestration started under the id of its caller's parent fails the caller, and
    the parent sees that failure (DurableOrchestrationContext.CallDurableTaskFunctionAsync)."""
    parent = f"top-{uuid.uuid4().hex[:8]}"
    await either.client.start_new("parent_of_child_id", parent, json.dumps("parent"))
    record = await either.client.wait_for(parent)
    assert record.runtime_status == RuntimeStatus.FAILED
    middle = await either.client.get_instance(f"{parent}-mid")
    assert middle is not None and middle.runtime_status == RuntimeStatus.FAILED
    assert output(middle) == SAME_ID


async def test_a_child_id_starting_with_at_fails_the_orchestration(either):
    """An explicit sub-orchestration id starting with @ (an entity's) fails the caller with
    .NET's ArgumentException text (DurableOrchestrationContext.CallDurableTaskFunctionAsync)."""
    instance = await either.client.start_new("child_id", None, json.dumps("@counter@one"))
    record = await either.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.FAILED
    assert output(record) == ("Orchestrator function 'child_id' failed: instanceId "
                              "(Parameter 'Orchestration instance ids must not start with @')")


@pytest.mark.parametrize(("chars", "fails"), [(8_703, False), (8_704, True)])
async def test_a_custom_status_over_16_kb_fails_the_orchestration(either, chars, fails):
    """A custom status whose UTF-16 JSON is over 16 whole KB fails the orchestration and is
    not kept; 17 KB less a byte still passes (MessagePayloadDataConverter.Serialize)."""
    instance = await either.client.start_new("big_status", None, json.dumps(chars - 2))
    await either.client.wait_for(instance, lambda r: r.custom_status == '"small"')
    await either.client.raise_event(instance, "go", None)
    record = await either.client.wait_for(instance)
    if not fails:
        assert record.runtime_status == RuntimeStatus.COMPLETED
        assert len(json.loads(record.custom_status or "null")) == chars - 2
        return
    assert record.runtime_status == RuntimeStatus.FAILED
    assert output(record) == (
        "Orchestrator function 'big_status' failed: The UTF-16 size of the JSON-serialized "
        "payload must not exceed 16 KB. The current payload size is 17 KB.")
    assert record.custom_status == '"small"'
    history = await either.client.get_history(instance)
    assert of_kind(history, E.TASK_SCHEDULED) == []  # the episode's actions were refused


# Memory hub only: these wait on the virtual clock. -----------------------------------------

async def test_a_retried_child_keeps_its_explicit_id(runtime, unique):
    """Every attempt of a retried sub-orchestration with an explicit id runs under that id
    (DurableTask.Core RetryInterceptor calls CreateSubOrchestrationInstance with it again)."""
    spec = {"key": unique, "fail_times": 1, "attempts": 3, "interval_ms": 1000}
    parent = f"{unique}-p"
    await runtime.client.start_new("named_retry", parent, json.dumps(spec))
    await history_has(runtime.hub, parent, E.TIMER_CREATED)
    await runtime.advance(seconds=1)
    record = await runtime.client.wait_for(parent)
    assert output(record) == f"{unique} ok on attempt 2"
    created = of_kind(await runtime.client.get_history(parent), E.SUB_ORCHESTRATION_CREATED)
    assert [c["InstanceId"] for c in created] == [f"{parent}-kid", f"{parent}-kid"]


async def test_a_ten_day_timer_is_split_as_on_azure_storage(runtime):
    """A timer longer than six days runs as three-day timers until six days or less are left
    (AzureStorageDurabilityProvider's limits, sent in the orchestration context)."""
    instance = await runtime.client.start_new("long_nap", None, json.dumps(10))
    await history_has(runtime.hub, instance, E.TIMER_CREATED)
    started = runtime.hub.clock.now()
    for count in (2, 3):
        await runtime.advance(days=3, seconds=1)
        await history_has(runtime.hub, instance, E.TIMER_CREATED, count)
    await runtime.advance(days=4)
    record = await runtime.client.wait_for(instance)
    assert output(record) == 10
    created = of_kind(await runtime.client.get_history(instance), E.TIMER_CREATED)
    spans = [parse_iso(t["FireAt"]) - parse_iso(t["Timestamp"]) for t in created]
    assert spans[:2] == [timedelta(days=3), timedelta(days=3)]
    assert parse_iso(created[-1]["FireAt"]) == started + timedelta(days=10)
    assert len(created) == 3


def test_the_context_carries_the_azure_storage_timer_limits():
    """Episodes get the extension's timer fields, as .NET TimeSpan text
    (OrchestrationTriggerAttributeBindingProvider.OrchestrationContextToString)."""
    context = json.loads(orchestration_context("i", [], None))
    assert context["maximumShortTimerDuration"] == MAXIMUM_SHORT_TIMER_DURATION == "6.00:00:00"
    assert context["longRunningTimerIntervalDuration"] == LONG_RUNNING_TIMER_INTERVAL
    assert context["defaultHttpAsyncRequestSleepTimeMillseconds"] == 30000


@pytest.mark.parametrize(("instance_id", "message"), [
    ("@counter@one", "instanceId (Parameter 'Orchestration instance ids must not start "
                     "with @.')"),
    ("a/b", "instanceId (Parameter 'Orchestration instance ids must not contain /, \\, #, "
            "?, or control characters.')"),
    ("tab\there", "instanceId (Parameter 'Orchestration instance ids must not contain /, "
                  "\\, #, ?, or control characters.')"),
    ("x" * 257, "Instance ID lengths must not exceed 256 characters."),
])
async def test_the_client_refuses_instance_ids_azure_refuses(runtime, instance_id, message):
    """Starting under an id Azure's client refuses raises its message and creates nothing
    (DurableClient.StartNewAsync: @, /, \\, #, ?, control characters, over 256)."""
    with pytest.raises(InvalidInstanceId) as refused:
        await runtime.client.start_new("sequence", instance_id, None)
    assert str(refused.value) == message
    assert await runtime.client.query() == []


async def test_the_client_takes_a_256_character_id(runtime):
    """An id of exactly 256 characters is Azure's limit, and is accepted."""
    instance = await runtime.client.start_new("sequence", "y" * 256, None)
    assert (await runtime.client.wait_for(instance)).runtime_status == RuntimeStatus.COMPLETED


async def test_starting_an_unknown_orchestrator_lists_the_known_ones(runtime):
    """The refusal names the known orchestrators in the app's order, as Azure's does
    (DurableTaskExtension.GetInvalidOrchestratorFunctionMessage)."""
    with pytest.raises(UnknownOrchestrator) as refused:
        await runtime.client.start_new("nope", None, None)
    assert str(refused.value).startswith(
        "The function 'nope' doesn't exist, is disabled, or is not an orchestrator function. "
        "Additional info: The following are the known orchestrator functions: 'sequence', "
        "'fan_out', ")
