"""Every orchestration feature of the sample app, run by the runtime over a memory hub."""

import asyncio
import json
from datetime import timedelta

import pytest

from devhost.engine.protocol import (
    ATTEMPT,
    RETRY_FOR,
    RETRY_OF,
    RETRY_POLICY,
    EventType,
    iso,
    parse_iso,
)
from devhost.taskhub.base import RuntimeStatus
from tests.support.engine import (
    assert_durable_shape,
    episodes,
    history_has,
    kinds,
    of_kind,
    sample_globals,
)

E = EventType
OS, OC = E.ORCHESTRATOR_STARTED, E.ORCHESTRATOR_COMPLETED


def output(record):
    """The record's output, decoded from JSON text."""
    return json.loads(record.output) if record.output is not None else None


def custom_status_is(value):
    """A wait_for condition: the custom status equals ``value``."""
    return lambda record: record.custom_status == json.dumps(value)


async def settle():
    """Give the workers a moment of real time (for 'nothing happened' assertions)."""
    await asyncio.sleep(0.15)


# Activities ----------------------------------------------------------------------------------

async def test_sequence_runs_activities_one_after_another(runtime):
    """Three activities in order; one episode per completion, ids 0, 1, 2."""
    instance = await runtime.client.start_new("sequence", None, None)
    record = await runtime.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.COMPLETED
    assert output(record) == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    history = await runtime.client.get_history(instance)
    assert kinds(history) == [
        OS, E.EXECUTION_STARTED, E.TASK_SCHEDULED, OC,
        OS, E.TASK_COMPLETED, E.TASK_SCHEDULED, OC,
        OS, E.TASK_COMPLETED, E.TASK_SCHEDULED, OC,
        OS, E.TASK_COMPLETED, E.EXECUTION_COMPLETED, OC,
    ]
    assert [e["Input"] for e in of_kind(history, E.TASK_SCHEDULED)] == [
        '"Tokyo"', '"Seattle"', '"London"']
    assert_durable_shape(history)


async def test_fan_out_fan_in_with_async_activity(runtime, samples):
    """Five async activities scheduled in one episode as ids 0-4; their sum comes back."""
    assert samples.activities["double"].is_async
    assert not samples.activities["hello"].is_async
    instance = await runtime.client.start_new("fan_out", None, "5")
    record = await runtime.client.wait_for(instance)
    assert output(record) == {"results": [0, 2, 4, 6, 8], "sum": 20}
    history = await runtime.client.get_history(instance)
    first = episodes(history)[0]
    assert [e["EventId"] for e in of_kind(first, E.TASK_SCHEDULED)] == [0, 1, 2, 3, 4]
    assert sorted(e["TaskScheduledId"] for e in of_kind(history, E.TASK_COMPLETED)) == [
        0, 1, 2, 3, 4]
    assert_durable_shape(history)


async def test_failing_activity_is_task_failed_with_reason_and_details(runtime):
    """An activity that raises fails its task as Azure words it (TaskActivityShim.RunAsync):
    the reason names the exception type, the details are the exception as JSON."""
    instance = await runtime.client.start_new("catch_failure", None, json.dumps("bad input"))
    record = await runtime.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.COMPLETED
    assert output(record).startswith(
        "caught: Activity function 'explode' failed:  ValueError: bad input \n {")
    history = await runtime.client.get_history(instance)
    [failed] = of_kind(history, E.TASK_FAILED)
    assert failed["TaskScheduledId"] == 0
    assert failed["Reason"] == "Activity function 'explode' failed:  ValueError: bad input"
    details = json.loads(failed["Details"])
    assert details["$type"] == "System.Exception, System.Private.CoreLib"
    assert details["Message"] == " ValueError: bad input"
    inner = details["InnerException"]
    assert inner["Message"].startswith("Result: Failure\nException: ValueError: bad input\n"
                                       "Stack: Traceback")
    assert "raise ValueError(message)" in inner["RemoteStackTraceString"]
    assert_durable_shape(history)


async def test_failure_text_parses_as_it_does_on_azure(runtime):
    """What an orchestrator catches splits into reason and JSON details on the first line
    break, as apps written against Azure parse it (durable-extension issue 2990)."""
    instance = await runtime.client.start_new("catch_failure", None, json.dumps("bad input"))
    caught = output(await runtime.client.wait_for(instance)).removeprefix("caught: ")
    details = json.loads(caught.split("\n")[1])
    assert details["Message"].split(":", 1)[1].lstrip() == "bad input"


async def test_unknown_activity_fails_the_orchestration_uncaught(runtime):
    """Calling an activity the app lacks fails the whole orchestration, past the user's
    try/except (DurableTaskExtension.ThrowIfFunctionDoesNotExist, outside user code)."""
    instance = await runtime.client.start_new("call_missing", None, None)
    record = await runtime.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.FAILED
    reason = output(record)
    assert reason.startswith("Orchestrator function 'call_missing' failed: The function "
                             "'no_such_activity' doesn't exist, is disabled, or is not an "
                             "activity function. Additional info: The following are the known "
                             "activity functions: '")
    assert "'hello'" in reason and "'explode'" in reason
    history = await runtime.client.get_history(instance)
    assert of_kind(history, E.TASK_SCHEDULED) == [] and of_kind(history, E.TASK_FAILED) == []


# Retries -------------------------------------------------------------------------------------

async def test_retry_waits_the_interval_on_the_virtual_clock(runtime, unique):
    """Fail twice, succeed on attempt 3; each retry timer fires only once its time has come."""
    spec = {"key": unique, "fail_times": 2, "attempts": 3, "interval_ms": 60_000}
    start = runtime.hub.clock.now()
    instance = await runtime.client.start_new("retry", None, json.dumps(spec))

    history = await history_has(runtime.hub, instance, E.TIMER_CREATED)
    [timer] = of_kind(history, E.TIMER_CREATED)
    assert parse_iso(timer["FireAt"]) == start + timedelta(seconds=60)
    await runtime.advance(seconds=59)
    await settle()
    history = await runtime.client.get_history(instance)
    assert not of_kind(history, E.TIMER_FIRED)
    assert len(of_kind(history, E.TASK_SCHEDULED)) == 1

    await runtime.advance(seconds=1)
    await history_has(runtime.hub, instance, E.TIMER_CREATED, 2)
    await runtime.advance(seconds=60)
    record = await runtime.client.wait_for(instance)
    assert output(record) == f"{unique} ok on attempt 3"

    history = await runtime.client.get_history(instance)
    steps = [e for e in history if e["EventType"] in (
        E.TASK_SCHEDULED, E.TASK_FAILED, E.TASK_COMPLETED, E.TIMER_CREATED, E.TIMER_FIRED)]
    assert [(EventType(e["EventType"]), e["EventId"], e.get("TaskScheduledId", e.get("TimerId")))
            for e in steps] == [
        (E.TASK_SCHEDULED, 0, None), (E.TASK_FAILED, -1, 0),
        (E.TIMER_CREATED, 1, None), (E.TIMER_FIRED, -1, 1),
        (E.TASK_SCHEDULED, 2, None), (E.TASK_FAILED, -1, 2),
        (E.TIMER_CREATED, 3, None), (E.TIMER_FIRED, -1, 3),
        (E.TASK_SCHEDULED, 4, None), (E.TASK_COMPLETED, -1, 4),
    ]
    first, second, third = of_kind(history, E.TASK_SCHEDULED)
    assert first[RETRY_POLICY] == {"firstRetryIntervalInMilliseconds": 60_000,
                                   "maxNumberOfAttempts": 3}
    assert (second[RETRY_OF], second[ATTEMPT], third[RETRY_OF], third[ATTEMPT]) == (0, 2, 0, 3)
    assert [t[RETRY_FOR] for t in of_kind(history, E.TIMER_CREATED)] == [0, 2]
    assert [parse_iso(t["FireAt"]) for t in of_kind(history, E.TIMER_CREATED)] == [
        start + timedelta(seconds=60), start + timedelta(seconds=120)]
    assert_durable_shape(history)


async def test_retry_exhaustion_takes_one_more_timer_then_raises(runtime, samples, unique):
    """After the last failed attempt Azure still makes a retry timer, due at once, so the
    error reaches the orchestrator without another interval (RetryInterceptor.Invoke)."""
    spec = {"key": unique, "fail_times": 99, "attempts": 2, "interval_ms": 1000}
    instance = await runtime.client.start_new("retry", None, json.dumps(spec))
    await history_has(runtime.hub, instance, E.TIMER_CREATED, 1)
    await runtime.advance(seconds=1)
    record = await runtime.client.wait_for(instance)  # no second interval passes
    timers = of_kind(await runtime.client.get_history(instance), E.TIMER_CREATED)
    assert len(timers) == 2
    assert parse_iso(timers[1]["FireAt"]) == parse_iso(timers[1]["Timestamp"])
    assert record.runtime_status == RuntimeStatus.COMPLETED
    assert f"{unique} attempt 2 failed" in output(record)["error"]
    history = await runtime.client.get_history(instance)
    assert len(of_kind(history, E.TASK_SCHEDULED)) == 2
    assert len(of_kind(history, E.TIMER_FIRED)) == 2
    assert kinds(history)[-4:] == [OS, E.TIMER_FIRED, E.EXECUTION_COMPLETED, OC]
    assert sample_globals(samples.orchestrators)["ATTEMPTS"][unique] == 2
    assert_durable_shape(history)


async def test_retried_fan_out_gets_the_right_results(runtime, unique):
    """Three retried activities failing at once still finish with their own results."""
    specs = [{"key": f"{unique}-{i}", "fail_times": n, "attempts": 4, "interval_ms": 1000}
             for i, n in enumerate((1, 2, 2))]
    instance = await runtime.client.start_new("retry_fan_out", None, json.dumps(specs))
    for _ in range(50):  # tick the clock until the run ends, whatever the batching
        if (await runtime.client.get_instance(instance)).runtime_status.has_ended:
            break
        await asyncio.sleep(0.05)
        await runtime.advance(seconds=1)
    record = await runtime.client.wait_for(instance)
    assert output(record) == [f"{unique}-0 ok on attempt 2", f"{unique}-1 ok on attempt 3",
                              f"{unique}-2 ok on attempt 3", "Hello after!"]
    assert_durable_shape(await runtime.client.get_history(instance))


# Sub-orchestrations ----------------------------------------------------------------------------

async def test_sub_orchestrations_plain_named_and_retried(runtime, unique):
    """Children run as instances of their own, named by default after the parent's execution
    id and task id, as DurableTask.Core names them; a retried child runs again under a new id."""
    spec = {"key": unique, "fail_times": 1, "attempts": 3, "interval_ms": 1000}
    parent = f"{unique}-parent"
    await runtime.client.start_new("parent", parent, json.dumps(spec))
    await history_has(runtime.hub, parent, E.TIMER_CREATED)
    await runtime.advance(seconds=1)
    record = await runtime.client.wait_for(parent)
    assert record.runtime_status == RuntimeStatus.COMPLETED
    execution = record.execution_id
    assert output(record) == {
        "plain": {"greeting": "Hello plain!", "instance": f"{execution}:0", "parent": parent},
        "named": {"greeting": "Hello named!", "instance": f"{parent}-named", "parent": parent},
        "retried": f"{unique} ok on attempt 2",
    }
    history = await runtime.client.get_history(parent)
    created = of_kind(history, E.SUB_ORCHESTRATION_CREATED)
    assert [(c["EventId"], c["InstanceId"]) for c in created] == [
        (0, f"{execution}:0"), (1, f"{parent}-named"), (2, f"{execution}:2"),
        (4, f"{execution}:4")]
    assert (created[3][RETRY_OF], created[3][ATTEMPT]) == (2, 2)
    [failed] = of_kind(history, E.SUB_ORCHESTRATION_FAILED)
    assert failed["TaskScheduledId"] == 2
    assert of_kind(history, E.TIMER_CREATED)[0][RETRY_FOR] == 2
    assert_durable_shape(history)

    children = {c["InstanceId"]: await runtime.client.get_instance(
        c["InstanceId"]) for c in created}
    assert [c.runtime_status for c in children.values()] == [
        RuntimeStatus.COMPLETED, RuntimeStatus.COMPLETED, RuntimeStatus.FAILED,
        RuntimeStatus.COMPLETED]
    assert children[f"{execution}:0"].parent.instance_id == parent
    for child_id in children:
        assert_durable_shape(await runtime.client.get_history(child_id))


async def test_parent_sees_a_failed_sub_orchestration(runtime, unique):
    """A child that raises fails; its parent catches the failure with the child's message."""
    parent, child = f"{unique}-parent", f"{unique}-child"
    await runtime.client.start_new("parent_of_raiser", parent, json.dumps(child))
    record = await runtime.client.wait_for(parent)
    assert output(record).startswith(
        f"child failed: Orchestrator function 'raiser' failed: kaboom in {child}")
    child_record = await runtime.client.get_instance(child)
    assert child_record.runtime_status == RuntimeStatus.FAILED
    assert_durable_shape(await runtime.client.get_history(parent))
    assert_durable_shape(await runtime.client.get_history(child))


# Orchestrator failures -----------------------------------------------------------------------

async def test_orchestrator_exception_fails_and_keeps_its_actions(idle_runtime, unique):
    """The orchestrator raises in the episode that scheduled an activity: both are recorded."""
    instance = await idle_runtime.client.start_new("raiser", unique, None)
    await idle_runtime.client.raise_event(instance, "boom", None)
    await idle_runtime.start()
    record = await idle_runtime.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.FAILED
    assert output(record) == f"Orchestrator function 'raiser' failed: kaboom in {unique}"
    history = await idle_runtime.client.get_history(instance)
    assert kinds(history) == [OS, E.EXECUTION_STARTED, E.EVENT_RAISED, E.TASK_SCHEDULED,
                              E.EXECUTION_FAILED, OC]
    assert history[3]["Name"] == "hello"
    assert_durable_shape(history)


async def test_non_determinism_fails_naming_task_and_both_names(runtime, samples, unique):
    """A replay that yields another activity than history recorded fails the instance."""
    switch = sample_globals(samples.orchestrators)["FICKLE_SWITCH"]
    instance = await runtime.client.start_new("fickle", unique, None)
    try:
        await runtime.client.wait_for(instance, custom_status_is("waiting"))
        switch["activity"] = "double"
        await runtime.client.raise_event(instance, "go", None)
        record = await runtime.client.wait_for(instance)
    finally:
        switch["activity"] = "hello"
    assert record.runtime_status == RuntimeStatus.FAILED
    message = output(record)
    assert "Non-deterministic" in message
    assert "task 0" in message
    assert "'hello'" in message and "'double'" in message
    assert_durable_shape(await runtime.client.get_history(instance))


@pytest.mark.parametrize(("name", "text"), [
    ("entity_caller", "'counter' doesn't exist, is disabled, or is not an entity function"),
    ("http_caller", "call_http is not supported"),
])
async def test_unsupported_features_fail_clearly(runtime, name, text):
    """An entity the app does not have and call_http fail the instance, saying why."""
    instance = await runtime.client.start_new(name, None, None)
    record = await runtime.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.FAILED
    assert text in output(record)
    history = await runtime.client.get_history(instance)
    assert not of_kind(history, E.TASK_SCHEDULED)
    assert_durable_shape(history)


# continue_as_new ---------------------------------------------------------------------------------

async def test_continue_as_new_counts_up_with_a_fresh_history(runtime):
    """Each generation replaces the history; the last one holds only its own episodes."""
    instance = await runtime.client.start_new("counter", None, json.dumps({"n": 0, "stop": 3}))
    record = await runtime.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.COMPLETED
    assert output(record) == 3
    assert json.loads(record.input) == {"n": 3, "stop": 3}
    history = await runtime.client.get_history(instance)
    assert kinds(history) == [OS, E.EXECUTION_STARTED, E.TASK_SCHEDULED, OC,
                              OS, E.TASK_COMPLETED, E.EXECUTION_COMPLETED, OC]
    assert json.loads(history[1]["Input"]) == {"n": 3, "stop": 3}
    assert_durable_shape(history)


async def test_continued_instance_runs_as_running(runtime, unique):
    """After continue_as_new the next generation is Running while it waits, and finishes."""
    instance = await runtime.client.start_new("counter_then_wait", unique, "0")
    record = await runtime.client.wait_for(instance, custom_status_is("waiting"))
    assert record.runtime_status == RuntimeStatus.RUNNING
    assert_durable_shape(await runtime.client.get_history(instance), ended=False)
    await runtime.client.raise_event(instance, "finish", json.dumps("done"))
    record = await runtime.client.wait_for(instance)
    assert (record.runtime_status, output(record)) == (RuntimeStatus.COMPLETED, "done")


async def test_old_generation_timer_does_not_fire_in_the_new_one(runtime, unique):
    """A timer cancelled before continue_as_new fires later without touching the next run."""
    instance = await runtime.client.start_new("monitor", unique, "5")
    await runtime.client.wait_for(instance, custom_status_is("waiting 5"))
    await runtime.client.raise_event(instance, "tick", None)
    await runtime.client.wait_for(instance, custom_status_is("waiting 10"))
    await runtime.advance(minutes=5)
    await settle()
    assert (await runtime.client.get_instance(instance)).runtime_status == RuntimeStatus.RUNNING
    assert not of_kind(await runtime.client.get_history(instance), E.TIMER_FIRED)
    await runtime.advance(minutes=5)
    record = await runtime.client.wait_for(instance)
    assert output(record) == "timed out after 10 minutes"
    assert_durable_shape(await runtime.client.get_history(instance))


# External events, timers, custom status ------------------------------------------------

async def test_external_event_is_delivered_to_its_wait(runtime):
    """An event raised while the orchestrator waits is its result."""
    instance = await runtime.client.start_new("wait_event", None, None)
    await runtime.client.wait_for(instance, custom_status_is("waiting"))
    await runtime.client.raise_event(instance, "go", json.dumps({"x": 1}))
    record = await runtime.client.wait_for(instance)
    assert output(record) == {"x": 1}
    history = await runtime.client.get_history(instance)
    [raised] = of_kind(history, E.EVENT_RAISED)
    assert raised["Name"] == "go"
    assert_durable_shape(history)


async def test_event_raised_while_pending_is_kept(idle_runtime):
    """An event raised before the first episode ran is delivered once the instance starts."""
    instance = await idle_runtime.client.start_new("wait_event", None, None)
    assert (await idle_runtime.client.get_instance(
        instance)).runtime_status == RuntimeStatus.PENDING
    await idle_runtime.client.raise_event(instance, "go", json.dumps("early"))
    await idle_runtime.start()
    record = await idle_runtime.client.wait_for(instance)
    assert output(record) == "early"


async def test_durable_timer_fires_when_the_clock_gets_there(runtime):
    """A ten-minute timer does not fire at nine minutes, and does at ten."""
    start = runtime.hub.clock.now()
    instance = await runtime.client.start_new("timer", None, None)
    history = await history_has(runtime.hub, instance, E.TIMER_CREATED)
    assert parse_iso(of_kind(history, E.TIMER_CREATED)[0]["FireAt"]) == start + timedelta(
        minutes=10)
    await runtime.advance(minutes=9)
    await settle()
    assert (await runtime.client.get_instance(instance)).runtime_status == RuntimeStatus.RUNNING
    await runtime.advance(minutes=1)
    record = await runtime.client.wait_for(instance)
    assert output(record) == [start.isoformat(), (start + timedelta(minutes=10)).isoformat()]
    history = await runtime.client.get_history(instance)
    [fired] = of_kind(history, E.TIMER_FIRED)
    assert (fired["TimerId"], fired["FireAt"]) == (0, iso(start + timedelta(minutes=10)))
    assert_durable_shape(history)


async def test_event_beats_timer_and_the_cancelled_timer_changes_nothing(runtime):
    """task_any of an event and a timer: the event wins; the timer firing later is dropped."""
    instance = await runtime.client.start_new("approval", None, None)
    await history_has(runtime.hub, instance, E.TIMER_CREATED)
    await runtime.client.raise_event(instance, "approve", json.dumps("yes"))
    record = await runtime.client.wait_for(instance)
    assert output(record) == {"approved": "yes"}
    before = await runtime.client.get_history(instance)
    await runtime.advance(minutes=5)
    await settle()
    assert await runtime.client.get_history(instance) == before
    assert_durable_shape(before)


async def test_timer_beats_event(runtime):
    """With no event in five minutes the timer wins."""
    instance = await runtime.client.start_new("approval", None, None)
    await history_has(runtime.hub, instance, E.TIMER_CREATED)
    await runtime.advance(minutes=5)
    record = await runtime.client.wait_for(instance)
    assert output(record) == "timed out"


async def test_custom_status_follows_the_orchestrator(runtime):
    """The custom status is what the latest episode set, and stays after completion."""
    instance = await runtime.client.start_new("status", None, None)
    await runtime.client.wait_for(
        instance, custom_status_is({"step": 2, "greeting": "Hello status!"}))
    await runtime.client.raise_event(instance, "done", json.dumps(42))
    record = await runtime.client.wait_for(instance)
    assert output(record) == 42
    assert json.loads(record.custom_status) == {"step": 2, "greeting": "Hello status!"}
