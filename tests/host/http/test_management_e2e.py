"""The management API against the SDK's own DurableOrchestrationClient, on Azurite.

The host runs in this process (``LocalHost``) so the client can be built from its binding
JSON, exactly as the app's own functions get theirs. The SDK keeps one aiohttp session per
process, tied to the loop that first used it, so every test here runs on the module's loop
and the fixture starts from a fresh session.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import azure.functions as func
import pytest
import pytest_asyncio
from azure.durable_functions import DurableOrchestrationClient, OrchestrationRuntimeStatus

from devhost.app.settings import HostSettings
from devhost.host import LocalHost
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import InstanceRecord, TaskHub
from fcm_emulator import FcmEmulator
from tests.support.host_process import APP_DIR, FUNCTION_KEY, host_environment
from tests.support.process_state import forget_sdk_session, process_state_kept

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

ORCHESTRATOR = "OrderOrchestrator"
WAIT = 20.0
Running = OrchestrationRuntimeStatus.Running
Completed = OrchestrationRuntimeStatus.Completed
Terminated = OrchestrationRuntimeStatus.Terminated


@pytest.fixture(scope="module")
def app_environment(module_fcm: FcmEmulator) -> Iterator[None]:
    """The app settings in this process's environment; env, sys.path and modules put back."""
    with process_state_kept(host_environment(module_fcm.host_port)):
        yield


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def host(app_environment: None, azurite: AzuriteProcess,
               module_hub: str) -> AsyncIterator[LocalHost]:
    """The app hosted in this process on the session Azurite, on the module's hub."""
    def task_hub(settings: HostSettings) -> TaskHub:
        return AzureStorageTaskHub(azurite.connection_string, module_hub,
                                   visibility_timeout=3.0)

    forget_sdk_session()
    async with LocalHost(APP_DIR, task_hub, port=0) as local:
        yield local


@pytest.fixture
def client(host: LocalHost) -> DurableOrchestrationClient:
    """The SDK client built from the host's durable-client binding JSON."""
    assert host.frontend is not None
    return DurableOrchestrationClient(host.frontend.client_binding_json())


def order_input(order_id: str, approval_timeout: int = 120) -> dict[str, Any]:
    """An OrderOrchestrator input, as the PlaceOrder starter builds it."""
    return {"orderId": order_id, "regId": f"device-{order_id}",
            "items": [{"name": "Margherita", "quantity": 2}],
            "approvalTimeoutSeconds": approval_timeout,
            "pushRetry": {"maxAttempts": 2, "firstRetryMilliseconds": 100}}


def new_id(tag: str) -> str:
    """An instance id no other test uses."""
    return f"mgmt-{tag}-{uuid.uuid4().hex[:12]}"


def stage_of(record: InstanceRecord) -> str | None:
    """The order stage in a record's custom status."""
    if record.custom_status is None:
        return None
    stage: str = json.loads(record.custom_status)["stage"]
    return stage


async def wait_for_stage(host: LocalHost, instance_id: str, stage: str) -> InstanceRecord:
    """Wait (bounded) until the orchestration publishes ``stage``."""
    assert host.runtime is not None
    return await host.runtime.client.wait_for(instance_id, lambda r: stage_of(r) == stage,
                                       timeout=WAIT)


async def wait_until_ended(host: LocalHost, instance_id: str) -> InstanceRecord:
    """Wait (bounded) until the instance completed, failed or was terminated."""
    assert host.runtime is not None
    return await host.runtime.client.wait_for(instance_id, timeout=WAIT)


async def start_waiting_order(host: LocalHost, client: DurableOrchestrationClient,
                              tag: str) -> str:
    """Start an order and wait until it waits for approval (for two minutes)."""
    instance_id = await client.start_new(ORCHESTRATOR, new_id(tag), order_input("x"))
    await wait_for_stage(host, instance_id, "awaiting_approval")
    return instance_id


async def http(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    """One plain HTTP request (not through the SDK); status and JSON body (or None)."""
    async with aiohttp.ClientSession() as session, session.request(method, url,
                                                                   **kwargs) as reply:
        text = await reply.text()
        return reply.status, json.loads(text) if text else None


def with_code(url: str, code: str | None) -> str:
    """``url`` with its ``code=`` replaced by ``code`` (or removed when None)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "code"]
    if code is not None:
        query.append(("code", code))
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_start_new_and_running_status(host: LocalHost,
                                            client: DurableOrchestrationClient) -> None:
    """start_new returns the id; a running instance's status has status, custom status, and
    the input as the JSON text the SDK sent (DurableClient.cs, ParseToJToken)."""
    instance_id = new_id("run")
    wanted = order_input(instance_id)
    assert await client.start_new(ORCHESTRATOR, instance_id, wanted) == instance_id
    await wait_for_stage(host, instance_id, "awaiting_approval")

    status = await client.get_status(instance_id, show_input=True)
    assert status
    assert status.name == ORCHESTRATOR
    assert status.instance_id == instance_id
    assert status.runtime_status == Running
    assert status.custom_status["stage"] == "awaiting_approval"
    assert [e["seq"] for e in status.custom_status["timeline"]] == [1, 2, 3]
    assert status.input_ == json.dumps(wanted)
    assert status.output is None
    assert status.created_time is not None and status.last_updated_time is not None
    assert status.created_time <= status.last_updated_time

    url = client.create_http_management_payload(instance_id)["statusQueryGetUri"]
    code, body = await http("GET", url)
    assert code == 202
    assert body["runtimeStatus"] == "Running"
    assert "historyEvents" not in body


async def test_start_new_without_id_and_of_unknown_orchestrator(
        host: LocalHost, client: DurableOrchestrationClient) -> None:
    """start_new makes an id when given none, and raises for an orchestrator that does not exist."""
    made = await client.start_new(ORCHESTRATOR, None, order_input("generated"))
    assert made
    assert (await client.get_status(made)).instance_id == made

    unknown = new_id("unknown")
    with pytest.raises(Exception, match="doesn't exist") as raised:
        await client.start_new("NoSuchOrchestrator", unknown, {"a": 1})
    assert "NoSuchOrchestrator" in str(raised.value)
    assert not await client.get_status(unknown)
    await client.terminate(made, "test cleanup")


async def test_completed_status_has_output_and_history(
        host: LocalHost, client: DurableOrchestrationClient) -> None:
    """A completed instance: 200, output, final custom status, and its history when asked,
    each TaskScheduled folded into its completion (DurableClient.cs, history conversion)."""
    instance_id = new_id("done")
    await client.start_new(ORCHESTRATOR, instance_id, order_input(instance_id, 1))
    await wait_until_ended(host, instance_id)

    status = await client.get_status(instance_id, show_history=True, show_history_output=True)
    assert status.runtime_status == Completed
    assert [r["stage"] for r in status.output] == [
        "received", "processing", "awaiting_approval", "expired"]
    assert status.custom_status["stage"] == "expired"
    # Like the Functions host, the history comes as historyEvents (the SDK keeps unknown
    # fields as attributes; its .history property stays None).
    events = status.historyEvents  # type: ignore[attr-defined]
    kinds = [e["EventType"] for e in events]
    assert kinds[0] == "ExecutionStarted" and events[0]["FunctionName"] == ORCHESTRATOR
    assert kinds[-1] == "ExecutionCompleted"
    assert events[-1]["OrchestrationStatus"] == "Completed"
    assert "TaskScheduled" not in kinds and kinds.count("TaskCompleted") == 4
    assert {"TimerCreated", "TimerFired"} <= set(kinds)
    assert "OrchestratorStarted" not in kinds
    completed = [e for e in events if e["EventType"] == "TaskCompleted"]
    assert [e["Result"]["seq"] for e in completed] == [1, 2, 3, 4]
    assert all({"FunctionName", "ScheduledTime", "Input"} <= set(e) for e in completed)
    assert all("TaskScheduledId" not in e and "TimerId" not in e and "EventId" not in e
               for e in events)

    plain = await client.get_status(instance_id)
    assert not hasattr(plain, "historyEvents")
    url = client.create_http_management_payload(instance_id)["statusQueryGetUri"]
    code, body = await http("GET", url)
    assert code == 200
    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == status.output


async def test_status_queries_filter(host: LocalHost,
                                     client: DurableOrchestrationClient) -> None:
    """get_status_all lists every instance; get_status_by filters by status, time and prefix."""
    prefix = new_id("query")
    early, late = f"{prefix}-early", f"{prefix}-late"
    await client.start_new(ORCHESTRATOR, early, order_input(early, 1))
    await wait_until_ended(host, early)
    # A few milliseconds clear of both creations: Azurite compares times only to the
    # millisecond (see test_created_time_filters_are_exact).
    between = datetime.now(timezone.utc) - timedelta(milliseconds=5)
    await client.start_new(ORCHESTRATOR, late, order_input(late))
    await wait_for_stage(host, late, "awaiting_approval")

    def ids(statuses: list[Any]) -> set[str]:
        return {s.instance_id for s in statuses} & {early, late}

    assert ids(await client.get_status_all()) == {early, late}
    assert ids(await client.get_status_by(runtime_status=[Running])) == {late}
    assert ids(await client.get_status_by(runtime_status=[Completed])) == {early}
    assert ids(await client.get_status_by(runtime_status=[Completed, Running])) == {early, late}
    assert ids(await client.get_status_by(created_time_from=between)) == {late}
    assert ids(await client.get_status_by(created_time_to=between)) == {early}
    prefixed = await client.get_status_by(instance_id_prefix=prefix)
    assert {s.instance_id for s in prefixed} == {early, late}
    by_id = {s.instance_id: s for s in prefixed}
    assert by_id[early].runtime_status == Completed
    assert by_id[late].custom_status["stage"] == "awaiting_approval"
    await client.terminate(late, "test cleanup")


async def test_created_time_filters_are_exact(host: LocalHost,
                                              client: DurableOrchestrationClient) -> None:
    """createdTimeTo/From just before/after an instance's creation leave it out."""
    instance_id = await start_waiting_order(host, client, "exact")
    assert host.runtime is not None
    record = await host.runtime.client.get_instance(instance_id)
    assert record is not None
    created = record.created_at
    try:
        if created.microsecond % 1000:
            # A cut 1 us before the creation, in the same millisecond.
            cut = created - timedelta(microseconds=1)
            found = await client.get_status_by(created_time_to=cut)
        else:
            # Created on a millisecond boundary: cut 1 us after it instead.
            cut = created + timedelta(microseconds=1)
            found = await client.get_status_by(created_time_from=cut)
        assert instance_id not in {s.instance_id for s in found}, (created, cut)
    finally:
        await client.terminate(instance_id, "test cleanup")


async def test_raise_event(host: LocalHost, client: DurableOrchestrationClient) -> None:
    """raise_event reaches a waiting instance; unknown (404) and ended (410) ones raise."""
    instance_id = await start_waiting_order(host, client, "event")
    await client.raise_event(instance_id, "Approval", {"approved": True, "note": "ok"})
    record = await wait_until_ended(host, instance_id)
    assert stage_of(record) == "finished"
    status = await client.get_status(instance_id)
    assert status.custom_status["approval"]["outcome"] == "approved"

    with pytest.raises(Exception, match="is gone"):
        await client.raise_event(instance_id, "Approval", {"approved": False})
    with pytest.raises(Exception, match="No instance"):
        await client.raise_event(new_id("nobody"), "Approval", {"approved": True})


async def test_terminate(host: LocalHost, client: DurableOrchestrationClient) -> None:
    """terminate ends a running instance as Terminated with the reason as output."""
    instance_id = await start_waiting_order(host, client, "term")
    await client.terminate(instance_id, "customer walked out")
    await wait_until_ended(host, instance_id)
    status = await client.get_status(instance_id)
    assert status.runtime_status == Terminated
    assert status.output == "customer walked out"

    await client.terminate(instance_id, "again")  # 410: the SDK takes it quietly
    assert (await client.get_status(instance_id)).output == "customer walked out"
    with pytest.raises(Exception, match="No instance"):
        await client.terminate(new_id("nobody"), "no such order")


async def test_purge_instance_history(host: LocalHost,
                                      client: DurableOrchestrationClient) -> None:
    """Purging an ended instance forgets it (then 404); a running one is purged too
    (HttpApiHandler.cs, HandleDeleteHistoryByIdRequestAsync)."""
    running = await start_waiting_order(host, client, "purgerun")
    assert (await client.purge_instance_history(running)).instances_deleted == 1
    assert not await client.get_status(running)
    with pytest.raises(Exception, match="No instance"):
        await client.raise_event(running, "Approval", {"approved": True})

    instance_id = new_id("purge")
    await client.start_new(ORCHESTRATOR, instance_id, order_input(instance_id, 1))
    await wait_until_ended(host, instance_id)
    assert (await client.purge_instance_history(instance_id)).instances_deleted == 1
    assert not await client.get_status(instance_id)
    code, _ = await http("GET",
                         client.create_http_management_payload(instance_id)["statusQueryGetUri"])
    assert code == 404
    assert (await client.purge_instance_history(instance_id)).instances_deleted == 0


# The "Ping" event raised below is one nobody waits for: the SDK keeps it and warns.
@pytest.mark.filterwarnings("ignore:Potential duplicate Task completion:UserWarning")
async def test_check_status_urls_work_only_with_their_key(
        host: LocalHost, client: DurableOrchestrationClient) -> None:
    """Every URL create_check_status_response hands out works with its key, 401 without."""
    instance_id = await start_waiting_order(host, client, "links")
    request = func.HttpRequest("POST", f"{host.base_url}/api/orders", body=b"")
    response = client.create_check_status_response(request, instance_id)
    assert response.status_code == 202
    links: dict[str, str] = json.loads(response.get_body())
    assert response.headers["Location"] == links["statusQueryGetUri"]
    assert links["id"] == instance_id
    urls = {name: url.replace("{eventName}", "Ping").replace("{text}", "by%20staff")
            for name, url in links.items() if name != "id"}
    methods = {"statusQueryGetUri": "GET", "purgeHistoryDeleteUri": "DELETE"}
    assert host.keys is not None
    for name, url in urls.items():
        assert url.startswith(f"{host.base_url}/runtime/webhooks/durabletask/instances/")
        method = methods.get(name, "POST")
        for wrong in (None, FUNCTION_KEY, host.keys.system_key + "x"):
            code, _ = await http(method, with_code(url, wrong), json={})
            assert code == 401, (name, wrong is None)
    # None of the refused calls did anything.
    assert (await client.get_status(instance_id)).runtime_status == Running

    assert (await http("GET", urls["statusQueryGetUri"]))[0] == 202
    assert (await http("POST", urls["sendEventPostUri"], json={"hello": 1}))[0] == 202
    # Suspend and resume work through their URLs with the key they carry; rewind reaches
    # its handler with that key, which refuses a live instance (Azure's 500).
    for name in ("suspendPostUri", "resumePostUri"):
        code, body = await http("POST", urls[name], json={})
        assert code == 202, (name, body)
    if "rewindPostUri" in urls:
        code, body = await http("POST", urls["rewindPostUri"], json={})
        assert code == 500 and "only supported on failed" in body["ExceptionMessage"], body
    assert (await http("POST", urls["terminatePostUri"]))[0] == 202
    await wait_until_ended(host, instance_id)
    code, body = await http("GET", urls["statusQueryGetUri"])
    assert (code, body["runtimeStatus"], body["output"]) == (200, "Terminated", "by staff")
    assert await http("DELETE", urls["purgeHistoryDeleteUri"]) == (200, {"instancesDeleted": 1})
    assert (await http("GET", urls["statusQueryGetUri"]))[0] == 404


async def test_start_over_a_running_id_raises(host: LocalHost,
                                             client: DurableOrchestrationClient) -> None:
    """A start over a running id is Azure's 500 (OrchestrationAlreadyExistsException in
    HttpApiHandler.cs's catch-all), which the SDK's start_new raises; the order runs on."""
    instance_id = await start_waiting_order(host, client, "taken")
    try:
        with pytest.raises(Exception, match="already exists"):
            await client.start_new(ORCHESTRATOR, instance_id, order_input(instance_id))
        code, body = await http("POST", f"{host.base_url}/runtime/webhooks/durabletask/"
                                f"orchestrators/{ORCHESTRATOR}/{instance_id}",
                                params={"code": host.keys.system_key if host.keys else ""},
                                json=order_input(instance_id))
        assert code == 500
        assert body["ExceptionType"].endswith("OrchestrationAlreadyExistsException")
        assert (await client.get_status(instance_id)).runtime_status == Running
    finally:
        await client.terminate(instance_id, "test cleanup")


async def test_query_pages_and_matches_status_exactly(
        host: LocalHost, client: DurableOrchestrationClient) -> None:
    """A query pages at 100 without top, with x-ms-continuation-token
    (OrchestrationStatusQueryCondition.cs), and runtimeStatus values match case-sensitively
    (HttpApiHandler.cs, Enum.TryParse)."""
    assert host.keys is not None and host.runtime is not None
    prefix = new_id("page")
    for n in range(101):
        await host.runtime.client.start_new(ORCHESTRATOR, f"{prefix}-{n:03d}",
                                            json.dumps(order_input(f"{prefix}-{n:03d}", 1)))
    url = f"{host.base_url}/runtime/webhooks/durabletask/instances/"
    query = {"code": host.keys.system_key, "instanceIdPrefix": prefix}
    async with aiohttp.ClientSession() as session:
        async with session.get(url, params=query) as reply:
            first = await reply.json()
            token = reply.headers["x-ms-continuation-token"]
        async with session.get(url, params=query,
                               headers={"x-ms-continuation-token": token}) as reply:
            rest = await reply.json()
    assert len(first) == 100 and len(rest) == 1
    assert {s["instanceId"] for s in first + rest} == {f"{prefix}-{n:03d}" for n in range(101)}
    await wait_until_ended(host, f"{prefix}-100")
    code, lower = await http("GET", url, params={**query, "runtimeStatus": "completed",
                                                  "top": "200"})
    assert code == 200 and len(lower) == 101  # no status named: no filter
    code, exact = await http("GET", url, params={**query, "runtimeStatus": "Completed",
                                                  "top": "200"})
    assert code == 200 and {s["runtimeStatus"] for s in exact} == {"Completed"}
