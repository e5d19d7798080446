"""Every method of the SDK's DurableOrchestrationClient against this host, on both task hubs.

The client is the SDK's own, built from the host's durable-client binding JSON; it speaks
HTTP to the management API exactly as it speaks to the Functions host (REFERENCE §4). Each
test runs on the memory hub and on Azurite, so an answer that differs between the two, or
from what the SDK parses, fails here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import azure.functions as func
import pytest
from azure.durable_functions import DurableOrchestrationClient, OrchestrationRuntimeStatus

from devhost.clock import SystemClock
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import InstanceRecord, RuntimeStatus
from tests.support.backends import FAST_POLL
from tests.support.front_end import AppServer, AppWriter, ServedApp

Status = OrchestrationRuntimeStatus

CONFORMANCE_APP = '''
import azure.durable_functions as df
import aiohttp
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
RUNS = {}


@app.orchestration_trigger(context_name="context", orchestration="Waiter")
def waiter(context: df.DurableOrchestrationContext):
    context.set_custom_status({"version": context.version})
    data = yield context.wait_for_external_event("Go")
    return {"data": data, "version": context.version, "input": context.get_input()}


@app.orchestration_trigger(context_name="context", orchestration="FlakyOnce")
def flaky_once(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("FailFirst", context.get_input()))


@app.activity_trigger(input_name="key", activity="FailFirst")
def fail_first(key: str) -> str:
    RUNS[key] = RUNS.get(key, 0) + 1
    if RUNS[key] == 1:
        raise RuntimeError(f"{key} first run fails")
    return f"{key} run {RUNS[key]}"


@app.orchestration_trigger(context_name="context", orchestration="Echo")
def echo(context: df.DurableOrchestrationContext):
    return context.get_input()
    yield
'''

EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
FAR = datetime(2100, 1, 1, tzinfo=timezone.utc)

Served = tuple[DurableOrchestrationClient, ServedApp]


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
async def served(request: pytest.FixtureRequest, write_app: AppWriter,
                 serve_app: AppServer) -> AsyncIterator[Served]:
    """The conformance app served on the memory hub, then on Azurite; the SDK's client."""
    options: dict[str, Any] = {}
    if request.param == "azurite":
        azurite: AzuriteProcess = request.getfixturevalue("azurite")
        options["hub"] = AzureStorageTaskHub(
            azurite.connection_string, f"sdk{uuid.uuid4().hex[:12]}", SystemClock(),
            visibility_timeout=5.0, **FAST_POLL)
    app = await serve_app(write_app(CONFORMANCE_APP), **options)
    yield DurableOrchestrationClient(app.front_end.client_binding_json()), app


def waiting(record: InstanceRecord) -> bool:
    """The first episode ran: the Waiter waits for its event."""
    return record.runtime_status == RuntimeStatus.RUNNING and record.custom_status is not None


async def test_start_new_with_a_version_reaches_the_orchestrator(served: Served) -> None:
    """start_new(version=) sends ?version=; context.version and the status show it. The
    status input is JSON text, as Azure answers for an SDK-started instance; the event's
    data reaches the orchestrator as the JSON text the SDK sent (it encodes it once more)."""
    client, app = served
    instance = await client.start_new("Waiter", None, {"dish": "soup"}, version="2.0")
    await app.client.wait_for(instance, waiting)
    status = await client.get_status(instance)
    assert status.runtime_status == Status.Running
    assert status.custom_status == {"version": "2.0"}
    assert json.loads(status.input_) == {"dish": "soup"}
    await client.raise_event(instance, "Go", {"ok": True})
    await app.client.wait_for(instance)
    done = await client.get_status(instance, show_history=True, show_history_output=True)
    assert done.runtime_status == Status.Completed
    assert done.output == {"data": json.dumps({"ok": True}), "version": "2.0",
                           "input": {"dish": "soup"}}
    kinds = [event["EventType"] for event in done.historyEvents]
    assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionCompleted"
    assert "EventRaised" in kinds


async def test_get_status_of_an_unknown_instance(served: Served) -> None:
    """The SDK turns the bare 404 into a status without a runtime status."""
    client, _ = served
    status = await client.get_status("nobody-here")
    assert status.runtime_status is None


async def test_status_queries_all_and_by_filter(served: Served) -> None:
    """get_status_all and get_status_by (created time, runtime status) see what started."""
    client, app = served
    echoed = await client.start_new("Echo", None, 1)
    waiter = await client.start_new("Waiter", None, None)
    await app.client.wait_for(echoed)
    await app.client.wait_for(waiter, waiting)
    every = {status.instance_id for status in await client.get_status_all()}
    assert {echoed, waiter} <= every
    running = await client.get_status_by(EPOCH, FAR, [Status.Running])
    assert [s.instance_id for s in running] == [waiter]
    completed = await client.get_status_by(EPOCH, FAR, [Status.Completed])
    assert [s.instance_id for s in completed] == [echoed]
    assert await client.get_status_by(FAR, FAR + timedelta(days=1), None) == []


async def test_raise_event_to_an_ended_or_unknown_instance_raises(served: Served) -> None:
    """410 and 404 come back as the SDK's exceptions."""
    client, app = served
    ended = await client.start_new("Echo", None, 1)
    await app.client.wait_for(ended)
    with pytest.raises(Exception, match="is gone"):
        await client.raise_event(ended, "Go", 1)
    with pytest.raises(Exception, match="No instance with ID"):
        await client.raise_event("nobody-here", "Go", 1)


async def test_terminate(served: Served) -> None:
    """terminate ends a running instance with the reason as its output."""
    client, app = served
    instance = await client.start_new("Waiter", None, None)
    await app.client.wait_for(instance, waiting)
    await client.terminate(instance, "closing time")
    await app.client.wait_for(instance)
    status = await client.get_status(instance)
    assert (status.runtime_status, status.output) == (Status.Terminated, "closing time")


async def test_suspend_and_resume(served: Served) -> None:
    """suspend shows Suspended and holds the event; resume delivers it."""
    client, app = served
    instance = await client.start_new("Waiter", None, None)
    await app.client.wait_for(instance, waiting)
    await client.suspend(instance, "hold")
    await app.client.wait_for(instance, lambda r: r.runtime_status == RuntimeStatus.SUSPENDED)
    assert (await client.get_status(instance)).runtime_status == Status.Suspended
    await client.raise_event(instance, "Go", "held")
    await client.resume(instance, "go on")
    await app.client.wait_for(instance)
    status = await client.get_status(instance)
    assert status.runtime_status == Status.Completed and status.output["data"] == json.dumps("held")


async def test_restart_under_a_new_and_the_same_id(served: Served) -> None:
    """restart runs the original input again, under a new id by default."""
    client, app = served
    first = await client.start_new("Echo", None, {"n": 1})
    await app.client.wait_for(first)
    again = (await client.restart(first))["id"]
    assert again != first
    assert (await app.client.wait_for(again)).output == json.dumps({"n": 1})
    same = await client.restart(first, restart_with_new_instance_id=False)
    assert same["id"] == first
    assert (await app.client.wait_for(first)).runtime_status == RuntimeStatus.COMPLETED


async def test_rewind_of_a_failed_instance(served: Served) -> None:
    """rewind runs the failed activity again and the instance completes; rewinding a
    completed one raises the SDK's 410 message."""
    client, app = served
    key = uuid.uuid4().hex
    instance = await client.start_new("FlakyOnce", None, key)
    await app.client.wait_for(instance)
    assert (await client.get_status(instance)).runtime_status == Status.Failed
    await client.rewind(instance, "service fixed")
    await app.client.wait_for(instance)
    status = await client.get_status(instance)
    assert (status.runtime_status, status.output) == (Status.Completed, f"{key} run 2")
    with pytest.raises(Exception, match="only supported on failed"):
        await client.rewind(instance, "again")
    with pytest.raises(Exception, match="No instance with ID"):
        await client.rewind("nobody-here", "x")


async def test_rewind_of_a_running_instance_raises(served: Served) -> None:
    """A live instance: RewindAsync's InvalidOperationException, answered 500."""
    client, app = served
    instance = await client.start_new("Waiter", None, None)
    await app.client.wait_for(instance, waiting)
    with pytest.raises(Exception, match="only supported on failed orchestration"):
        await client.rewind(instance, "x")
    assert (await client.get_status(instance)).runtime_status == Status.Running


async def test_purge_one_and_by_filter(served: Served) -> None:
    """purge_instance_history deletes one instance; purge_instance_history_by the ended
    ones of the filter."""
    client, app = served
    one = await client.start_new("Echo", None, 1)
    two = await client.start_new("Echo", None, 2)
    live = await client.start_new("Waiter", None, None)
    await app.client.wait_for(one)
    await app.client.wait_for(two)
    await app.client.wait_for(live, waiting)
    assert (await client.purge_instance_history(one)).instances_deleted == 1
    assert (await client.get_status(one)).runtime_status is None
    purged = await client.purge_instance_history_by(EPOCH, FAR, [Status.Completed])
    assert purged.instances_deleted == 1
    assert (await client.get_status(two)).runtime_status is None
    assert (await client.get_status(live)).runtime_status == Status.Running


async def test_wait_for_completion_or_create_check_status_response(served: Served) -> None:
    """An instance that ends in time answers 200 with its output; one that does not, 202
    with the management URLs."""
    client, app = served
    request = func.HttpRequest("POST", f"{app.front_end.base_url}/api/x", body=b"")
    done = await client.start_new("Echo", None, {"n": 3})
    response = await client.wait_for_completion_or_create_check_status_response(
        request, done, timeout_in_milliseconds=10_000, retry_interval_in_milliseconds=100)
    assert response.status_code == 200 and json.loads(response.get_body()) == {"n": 3}
    waiting_id = await client.start_new("Waiter", None, None)
    response = await client.wait_for_completion_or_create_check_status_response(
        request, waiting_id, timeout_in_milliseconds=300, retry_interval_in_milliseconds=100)
    assert response.status_code == 202
    assert json.loads(response.get_body())["id"] == waiting_id


async def test_a_plain_json_start_shows_its_input_as_the_value(served: Served) -> None:
    """A start posted by hand with a JSON object shows that object as its status input on
    both hubs, while the SDK's start shows the JSON text it sent."""
    client, app = served
    url = f"{app.front_end.base_url}/runtime/webhooks/durabletask/orchestrators/Echo"
    async with aiohttp.ClientSession() as session, session.post(
            url, json={"n": 5}, params={"code": app.keys.system_key}) as reply:
        started = await reply.json()
    await app.client.wait_for(started["id"])
    assert (await client.get_status(started["id"])).input_ == {"n": 5}
    by_sdk = await client.start_new("Echo", None, {"n": 5})
    await app.client.wait_for(by_sdk)
    assert (await client.get_status(by_sdk)).input_ == json.dumps({"n": 5})
