"""Entities through the real host and the SDK's own client and replay, on both task hubs."""

from __future__ import annotations

import json

from devhost.engine.protocol import EventType
from devhost.entities.state import SchedulerState
from devhost.taskhub.base import RuntimeStatus
from tests.host.entities.conftest import WAIT_SECONDS, CounterApp, unique_key


async def test_client_signals_and_reads_through_the_sdk(counter_app: CounterApp) -> None:
    """``signal_entity`` and ``read_entity_state`` of the SDK's client: an entity nobody has
    signalled does not exist; two signals add up."""
    key = unique_key("client")
    unread = await counter_app.call("GET", f"/api/counters/{key}")
    assert unread.body == {"exists": False, "state": None}
    for amount in (5, 7):
        signalled = await counter_app.call("POST", f"/api/counters/{key}/add", json_body=amount)
        assert signalled.status == 202, signalled.text
    await counter_app.value(key, 12)
    read = await counter_app.call("GET", f"/api/counters/{key}")
    assert read.body == {"exists": True, "state": 12}


async def test_orchestration_signals_and_calls_in_order(counter_app: CounterApp) -> None:
    """Signals sent before the calls are applied first, each call answers with the value
    after it, one operation at a time: answers are the running sums."""
    key = unique_key("order")
    record = await counter_app.run("call_and_signal",
                                   {"key": key, "signals": [1, 2], "calls": [10, 20]})
    assert record.runtime_status == RuntimeStatus.COMPLETED, record.output
    assert json.loads(record.output or "null") == {"answers": [13, 33], "final": 33}


async def test_signals_of_one_orchestration_apply_in_the_order_sent(
        counter_app: CounterApp) -> None:
    """Five signals in one episode, then a call: ``shift`` (state * 10 + digit) shows the
    order they were applied in."""
    key = unique_key("shift")
    record = await counter_app.run("call_and_signal", {
        "key": key, "signals": [1, 2, 3, 4, 5], "signal_operation": "shift"})
    assert json.loads(record.output or "null") == {"answers": [], "final": 12345}


async def test_history_records_event_sent_and_the_answer(counter_app: CounterApp) -> None:
    """The caller's history holds an EventSent per call or signal (task ids in order) and
    each call's answer as an EventRaised named after the request id, as the SDK reads them
    (TaskOrchestrationExecutor: EVENT_SENT maps the task id to the request's ``id``)."""
    key = unique_key("history")
    record = await counter_app.run("call_and_signal", {"key": key, "signals": [1],
                                                       "calls": [2]})
    assert counter_app.host.runtime is not None
    history = await counter_app.host.runtime.client.get_history(record.instance_id)
    sent = [e for e in history if e["EventType"] == EventType.EVENT_SENT]
    assert [e["EventId"] for e in sent] == [0, 1, 2]
    assert {e["InstanceId"] for e in sent} == {f"@counter@{key}"}
    requests = [json.loads(e["Input"] or "") for e in sent]
    assert [r["op"] for r in requests] == ["add", "add", "get"]
    assert [r.get("signal", False) for r in requests] == [True, False, False]
    assert [r["seq"] for r in requests] == [1, 2, 3]  # this execution's 1st, 2nd, 3rd to it
    assert requests[0]["input"] == json.dumps("1")  # the SDK's JSON text, serialized again
    answers = {e["Name"]: json.loads(e["Input"] or "") for e in history
               if e["EventType"] == EventType.EVENT_RAISED}
    assert answers == {requests[1]["id"]: {"result": "3"}, requests[2]["id"]: {"result": "3"}}


async def test_failed_operation_raises_in_the_caller_and_keeps_state(
        counter_app: CounterApp) -> None:
    """An operation that raises answers the call with its error (``call_entity`` raises
    ``Exception(message)``), and the state stays what it was."""
    key = unique_key("fail")
    await counter_app.call("POST", f"/api/counters/{key}/add", json_body=5)
    await counter_app.value(key, 5)
    record = await counter_app.run("call_failing", {"key": key, "operation": "fail"})
    assert record.runtime_status == RuntimeStatus.COMPLETED, record.output
    assert json.loads(record.output or "null") == {"error": "refused at 5", "final": 5}


async def test_state_set_before_raising_is_kept_as_on_azure(counter_app: CounterApp) -> None:
    """The SDK returns one state per batch and the extension's out-of-proc path applies it
    (TaskEntityShim.ExecuteOutOfProcBatch has no per-operation rollback): a state set before
    the operation raised stays, while the caller still gets the error."""
    key = unique_key("setfail")
    record = await counter_app.run("call_failing", {"key": key, "operation": "set_then_fail"})
    assert json.loads(record.output or "null") == {"error": "failed after set_state",
                                                   "final": 1000}


async def test_unknown_entity_fails_the_orchestration(counter_app: CounterApp) -> None:
    """A call to an entity the app does not have fails the orchestration outside user code,
    with ThrowIfFunctionDoesNotExist's message (GetInvalidEntityFunctionMessage)."""
    record = await counter_app.run("call_missing_entity", {})
    assert record.runtime_status == RuntimeStatus.FAILED
    assert json.loads(record.output or "null") == (
        "Orchestrator function 'call_missing_entity' failed: The function 'nosuchentity' "
        "doesn't exist, is disabled, or is not an entity function. Additional info: The "
        "following are the known entity functions: 'Counter'.")


async def test_many_entities_answer_one_orchestration(counter_app: CounterApp) -> None:
    """Calls to several entities at once (task_all) each get their own answer."""
    keys = [unique_key(f"many{n}") for n in range(4)]
    record = await counter_app.run("call_many", {"keys": keys, "times": 3})
    assert record.runtime_status == RuntimeStatus.COMPLETED, record.output
    assert json.loads(record.output or "null") == [3, 3, 3, 3]
    for key in keys:
        await counter_app.value(key, 3)


async def test_entity_ids_lower_case_the_name_only(counter_app: CounterApp) -> None:
    """The entity ``Counter`` with key ``MixedKey`` lives at ``@counter@MixedKey``."""
    key = unique_key("MixedKey")
    await counter_app.call("POST", f"/api/counters/{key}/add", json_body=1)
    await counter_app.value(key, 1)
    assert counter_app.host.runtime is not None
    record = await counter_app.host.runtime.client.get_instance(f"@counter@{key}")
    assert record is not None and record.name == "counter"
    assert await counter_app.host.runtime.client.get_instance(f"@Counter@{key}") is None


async def test_delete_operation_makes_the_entity_not_exist(counter_app: CounterApp) -> None:
    """``destruct_on_exit`` deletes the state: reads find nothing, a later add starts anew."""
    key = unique_key("delete")
    await counter_app.call("POST", f"/api/counters/{key}/add", json_body=4)
    await counter_app.value(key, 4)
    await counter_app.call("POST", f"/api/counters/{key}/delete")
    await counter_app.settled(key, lambda s: not s.exists)
    assert (await counter_app.call("GET", f"/api/counters/{key}")).body == {
        "exists": False, "state": None}
    await counter_app.call("POST", f"/api/counters/{key}/add", json_body=2)
    state = await counter_app.value(key, 2)
    assert isinstance(state, SchedulerState)


async def test_replay_calling_another_entity_is_non_deterministic(
        in_process_app: CounterApp) -> None:
    """A replay that calls another entity than history's EventSent names fails the
    instance, naming the task and the entity it now calls."""
    counter_app = in_process_app
    assert counter_app.host.runtime is not None and counter_app.host.index is not None
    handle = counter_app.host.index.orchestrators["fickle_caller"].handle
    switch = getattr(handle, "orchestrator_function").__globals__["FICKLE_SWITCH"]  # noqa: B009
    client = counter_app.host.runtime.client
    started = await counter_app.call("POST", "/api/start/fickle_caller", json_body={})
    instance_id = started.body["id"]
    try:
        await client.wait_for(instance_id, lambda r: r.custom_status == '"waiting"',
                              timeout=WAIT_SECONDS)
        switch["key"] = "second"
        await client.raise_event(instance_id, "go", None)
        record = await client.wait_for(instance_id, timeout=WAIT_SECONDS)
    finally:
        switch["key"] = "first"
    assert record.runtime_status == RuntimeStatus.FAILED
    message = json.loads(record.output or "null")
    assert "Non-deterministic workflow detected: task 0 was an operation on entity " \
           "'@counter@first' in history" in message
    assert "'@counter@second'" in message
