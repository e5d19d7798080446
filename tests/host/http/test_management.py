"""The management API, driven by the SDK's own DurableOrchestrationClient and by plain HTTP."""

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import azure.functions as func
import pytest
from azure.durable_functions import DurableOrchestrationClient, OrchestrationRuntimeStatus

from devhost.engine.protocol import (
    EventType,
    execution_started,
    task_failed,
    task_scheduled,
    timer_created,
    timer_fired,
)
from devhost.errors import StorageUnavailable
from devhost.http.keys import HostKeys
from devhost.http.management.bodies import history_json, net_time
from devhost.http.server import HttpFrontEnd
from devhost.taskhub.base import InstanceRecord, Message, RuntimeStatus
from devhost.taskhub.limits import MAX_PAYLOAD_BYTES
from tests.support.engine import of_kind
from tests.support.front_end import CLOCK_START, ServedApp

Frame = tuple[HttpFrontEnd, DurableOrchestrationClient, ServedApp, HostKeys]


@pytest.fixture
def frame(served_sample: ServedApp) -> Frame:
    """A running front end, an SDK client built from its binding JSON, the served sample
    (its durable runtime and task hub), the keys."""
    front_end = served_sample.front_end
    client = DurableOrchestrationClient(front_end.client_binding_json())
    return front_end, client, served_sample, served_sample.keys


def running(record: InstanceRecord) -> bool:
    """A ``wait_for`` condition: the first episode ran and the instance waits."""
    return record.runtime_status == RuntimeStatus.RUNNING


def decoded(text: str | None) -> Any:
    """The value of JSON text (None stays None)."""
    return None if text is None else json.loads(text)


async def raised(served: ServedApp, instance_id: str) -> list[tuple[str, Any]]:
    """The EventRaised events in the instance's history: (name, data value)."""
    history = await served.client.get_history(instance_id)
    return [(e["Name"], decoded(e["Input"])) for e in of_kind(history, EventType.EVENT_RAISED)]


async def call(method: str, url: str, **kwargs: Any) -> tuple[int, Any, Any]:
    """One request; returns status, headers and the body (JSON when it is JSON)."""
    async with aiohttp.ClientSession() as session, session.request(method, url,
                                                                   **kwargs) as response:
        text = await response.text()
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = text
        return response.status, response.headers, body


def links(front_end: HttpFrontEnd, client: DurableOrchestrationClient,
          instance_id: str) -> dict[str, str]:
    """The URLs create_check_status_response hands an HTTP caller."""
    request = func.HttpRequest("POST", f"{front_end.base_url}/api/start/Hello", body=b"")
    response = client.create_check_status_response(request, instance_id)
    assert response.status_code == 202
    return json.loads(response.get_body())


class TestBinding:
    """The durable-client binding JSON."""

    async def test_binding_has_the_hosts_keys(self, frame: Frame) -> None:
        """The binding carries the keys the Functions host sends, with code=<system key>."""
        front_end, _, _, keys = frame
        binding = json.loads(front_end.client_binding_json())
        assert set(binding) == {"taskHubName", "creationUrls", "managementUrls", "baseUrl",
                                "requiredQueryStringParameters", "rpcBaseUrl", "httpBaseUrl"}
        assert binding["taskHubName"] == "TestHubName"
        assert binding["requiredQueryStringParameters"] == f"code={keys.system_key}"
        assert binding["baseUrl"] == f"{front_end.base_url}/runtime/webhooks/durabletask"
        assert binding["managementUrls"]["id"] == "INSTANCEID"
        assert binding["rpcBaseUrl"].startswith(front_end.base_url)
        assert binding["rpcBaseUrl"].endswith("/")
        for url in binding["managementUrls"].values():
            assert url == "INSTANCEID" or f"code={keys.system_key}" in url

    async def test_rpc_secret_is_not_handed_to_http_callers(self, frame: Frame) -> None:
        """Nothing an HTTP starter returns (body or headers) contains the RPC base."""
        front_end, _, _, _ = frame
        rpc_base = json.loads(front_end.client_binding_json())["rpcBaseUrl"]
        secret = rpc_base.rstrip("/").split("/")[-2]
        _, headers, body = await call("POST", f"{front_end.base_url}/api/start/Hello",
                                      json={"x": 1})
        assert secret not in json.dumps(body) + json.dumps(dict(headers))

    async def test_wrong_rpc_secret_is_not_found(self, frame: Frame) -> None:
        """A guessed RPC path is a plain 404, with or without keys."""
        front_end, _, _, keys = frame
        status, _, _ = await call(
            "GET", f"{front_end.base_url}/_devhost/rpc/guess/durabletask/instances/",
            params={"code": keys.master_key})
        assert status == 404

    async def test_access_log_hides_secret_and_keys(self, frame: Frame,
                                                    caplog: pytest.LogCaptureFixture) -> None:
        """Access log lines name the path without the RPC secret or the code= key."""
        front_end, client, _, keys = frame
        rpc_base = json.loads(front_end.client_binding_json())["rpcBaseUrl"]
        with caplog.at_level(logging.INFO, logger="devhost.access"):
            instance_id = await client.start_new("Hello", None, {"a": 1})
            await call("GET", links(front_end, client, instance_id)["statusQueryGetUri"])
        text = "\n".join(r.getMessage() for r in caplog.records)
        assert "/_devhost/rpc/***/durabletask/orchestrators/Hello" in text
        assert f"/runtime/webhooks/durabletask/instances/{instance_id}" in text
        assert rpc_base.split("/")[-3] not in text
        assert keys.system_key not in text


class TestStart:
    """start_new."""

    async def test_start_new_passes_the_input_as_json_text(self, frame: Frame) -> None:
        """The SDK's double-encoded input arrives as the input's own JSON text, and the
        orchestrator gets that value."""
        _, client, served, _ = frame
        instance_id = await client.start_new("Echo", None, {"city": "Tokyo", "n": [1, 2]})
        record = await served.client.wait_for(instance_id)
        assert record.name == "Echo"
        assert json.loads(record.input or "") == {"city": "Tokyo", "n": [1, 2]}
        assert record.runtime_status == RuntimeStatus.COMPLETED
        assert json.loads(record.output or "") == {"city": "Tokyo", "n": [1, 2]}

    @pytest.mark.parametrize("value", ["Tokyo", 42, [1, "x"], None, "{\"not\": \"parsed\"}"])
    async def test_start_new_input_round_trips(self, frame: Frame, value: Any) -> None:
        """Strings, numbers, lists and None reach the instance as JSON of the same value,
        and the orchestrator gets that value back."""
        _, client, served, _ = frame
        instance_id = await client.start_new("Echo", None, value)
        record = await served.client.wait_for(instance_id)
        assert decoded(record.input) == value
        assert record.runtime_status == RuntimeStatus.COMPLETED
        assert decoded(record.output) == value

    async def test_start_with_id_and_conflict(self, frame: Frame) -> None:
        """An explicit id is used; starting it again while it runs is refused (409), and
        once it ended the id starts a new instance."""
        _, client, served, _ = frame
        assert await client.start_new("AwaitApproval", "order-1", None) == "order-1"
        with pytest.raises(Exception, match="already exists"):
            await client.start_new("AwaitApproval", "order-1", None)
        await served.client.raise_event("order-1", "Approval", '"done"')
        first = await served.client.wait_for("order-1")
        assert (first.runtime_status, first.output) == (RuntimeStatus.COMPLETED, '"done"')
        assert await client.start_new("AwaitApproval", "order-1", None) == "order-1"
        again = await served.client.wait_for("order-1", running)
        assert again.execution_id != first.execution_id and again.output is None

    async def test_unknown_orchestrator_message(self, frame: Frame) -> None:
        """An unknown name is a 400 whose ExceptionMessage the SDK raises."""
        _, client, _, _ = frame
        with pytest.raises(Exception, match="The function 'Nope' doesn't exist"):
            await client.start_new("Nope", None, None)

    async def test_bad_instance_id_is_refused(self, frame: Frame) -> None:
        """Instance ids with characters storage refuses are a 400."""
        front_end, _, _, keys = frame
        status, _, body = await call(
            "POST", f"{front_end.base_url}/runtime/webhooks/durabletask/orchestrators/Hello/"
                    "a%23b", params={"code": keys.system_key})
        assert status == 400 and "instance ids" in body["ExceptionMessage"]

    async def test_creation_url_starts_with_plain_json(self, frame: Frame) -> None:
        """The public creation URL takes a plain JSON body and answers 202 + links."""
        front_end, _, served, _ = frame
        url = json.loads(front_end.client_binding_json())["creationUrls"][
            "createNewInstancePostUri"].replace("{functionName}[/{instanceId}]", "Hello/x-1")
        status, headers, body = await call("POST", url, json={"city": "Oslo"})
        assert status == 202
        assert body["id"] == "x-1"
        assert headers["Location"] == body["statusQueryGetUri"]
        record = await served.client.get_instance("x-1")
        assert record is not None and record.name == "Hello"
        assert json.loads(record.input or "") == {"city": "Oslo"}

    async def test_create_and_wait_returns_output(self, frame: Frame) -> None:
        """With timeout and pollingInterval, an ended instance's output comes back (200)."""
        front_end, _, _, keys = frame
        status, _, body = await call(
            "POST", f"{front_end.base_url}/runtime/webhooks/durabletask/orchestrators/Echo",
            params={"code": keys.system_key, "timeout": "5", "pollingInterval": "0.01"},
            json={"ok": True})
        assert (status, body) == (200, {"ok": True})


class TestRaiseEvent:
    """raise_event."""

    async def test_raise_event_accepted(self, frame: Frame) -> None:
        """202: the instance gets the event with the JSON the SDK sent (a JSON string) and
        completes with it."""
        _, client, served, _ = frame
        instance_id = await client.start_new("AwaitApproval", None, None)
        await client.raise_event(instance_id, "Approval", {"approved": True})
        record = await served.client.wait_for(instance_id)
        # The SDK encodes twice; like Azure, the orchestrator then receives a string.
        sent = json.dumps({"approved": True})
        assert await raised(served, instance_id) == [("Approval", sent)]
        assert record.runtime_status == RuntimeStatus.COMPLETED
        assert json.loads(record.output or "") == sent

    async def test_raise_event_unknown_instance(self, frame: Frame) -> None:
        """404 becomes the SDK's 'No instance' exception."""
        _, client, _, _ = frame
        with pytest.raises(Exception, match="No instance with ID nope found"):
            await client.raise_event("nope", "Approval", {})

    async def test_raise_event_ended_instance(self, frame: Frame,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
        """410 becomes the SDK's 'is gone' exception and nothing is sent to the instance."""
        _, client, served, _ = frame
        instance_id = await client.start_new("Echo", None, "done")
        ended = await served.client.wait_for(instance_id)
        history = await served.client.get_history(instance_id)
        sent: list[Message] = []
        send = served.hub.send

        async def recorded_send(messages: list[Message]) -> None:
            sent.extend(messages)
            await send(messages)

        monkeypatch.setattr(served.hub, "send", recorded_send)
        with pytest.raises(Exception, match="is gone"):
            await client.raise_event(instance_id, "Approval", {})
        assert sent == []
        assert await served.client.get_instance(instance_id) == ended
        assert await served.client.get_history(instance_id) == history

    @pytest.mark.parametrize(("content_type", "data"), [
        ("text/plain", b'{"a": 1}'), ("application/json", b"{not json")])
    async def test_raise_event_needs_json(self, frame: Frame, content_type: str,
                                          data: bytes) -> None:
        """A non-JSON content type or body is a 400 and nothing is delivered: the next good
        event is the only one the instance gets."""
        front_end, client, served, _ = frame
        instance_id = await client.start_new("AwaitApproval", None, None)
        await served.client.wait_for(instance_id, running)
        url = links(front_end, client, instance_id)["sendEventPostUri"].replace(
            "{eventName}", "Approval")
        status, _, _ = await call("POST", url, data=data, headers={"Content-Type": content_type})
        assert status == 400
        assert (await call("POST", url, json="good"))[0] == 202
        record = await served.client.wait_for(instance_id)
        assert (record.runtime_status, decoded(record.output)) == (RuntimeStatus.COMPLETED,
                                                                   "good")
        assert await raised(served, instance_id) == [("Approval", "good")]


class TestStatus:
    """get_status, get_status_by, get_status_all."""

    async def test_status_of_running_instance(self, frame: Frame) -> None:
        """The input as the JSON text the SDK sent, custom status as a JSON value, times
        parsed, status Running."""
        _, client, served, _ = frame
        await served.runtime.advance(minutes=1)
        instance_id = await client.start_new("AwaitApproval", None, {"city": "Tokyo"})
        await served.client.wait_for(instance_id, running)
        status = await client.get_status(instance_id)
        assert status.runtime_status == OrchestrationRuntimeStatus.Running
        assert (status.name, status.instance_id) == ("AwaitApproval", instance_id)
        assert status.input_ == json.dumps({"city": "Tokyo"})
        assert status.custom_status == {"stage": "cooking"}
        assert status.created_time == CLOCK_START + timedelta(minutes=1)
        assert status.output is None

    async def test_status_of_unknown_instance_is_falsy(self, frame: Frame) -> None:
        """404 gives the SDK's empty status, which is falsy."""
        _, client, _, _ = frame
        assert not await client.get_status("missing")

    async def test_status_codes(self, frame: Frame) -> None:
        """202 with Location while pending or running, 200 once ended, 404 unknown; ISO Z
        times."""
        front_end, client, served, _ = frame
        served.hub.hold_episodes()  # Pending until released
        await served.runtime.advance(minutes=1)
        instance_id = await client.start_new("AwaitApproval", None, None)
        url = links(front_end, client, instance_id)["statusQueryGetUri"]
        status, headers, body = await call("GET", url)
        assert (status, body["runtimeStatus"]) == (202, "Pending")
        assert headers["Location"] == url and headers["Retry-After"] == "5"
        assert body["createdTime"] == "2024-05-01T12:01:00Z"
        served.hub.release_episodes()
        await served.client.wait_for(instance_id, running)
        status, headers, body = await call("GET", url)
        assert (status, body["runtimeStatus"]) == (202, "Running")
        assert headers["Location"] == url and headers["Retry-After"] == "5"
        event_url = links(front_end, client, instance_id)["sendEventPostUri"]
        assert (await call("POST", event_url.replace("{eventName}", "Approval"),
                           json=["a", 1]))[0] == 202
        await served.client.wait_for(instance_id)
        status, headers, body = await call("GET", url)
        assert (status, body["output"], body["runtimeStatus"]) == (200, ["a", 1], "Completed")
        assert "Location" not in headers
        status, _, _ = await call("GET", url.replace(instance_id, "unknown-id"))
        assert status == 404

    @pytest.mark.parametrize(("ended", "output"), [
        (RuntimeStatus.FAILED, "Orchestrator function 'Fail' failed: RuntimeError: it broke"),
        (RuntimeStatus.TERMINATED, "it broke")])
    async def test_failed_and_terminated_are_200(self, frame: Frame, ended: RuntimeStatus,
                                                 output: str) -> None:
        """Failed and Terminated count as ended: 200 (500 for Failed only when asked)."""
        front_end, client, served, _ = frame
        if ended == RuntimeStatus.FAILED:  # Fail raises its input
            instance_id = await client.start_new("Fail", None, "it broke")
        else:
            instance_id = await client.start_new("AwaitApproval", None, None)
            await client.terminate(instance_id, "it broke")
        assert (await served.client.wait_for(instance_id)).runtime_status == ended
        url = links(front_end, client, instance_id)["statusQueryGetUri"]
        assert (await call("GET", url))[0] == 200
        asked = (await call("GET", url + "&returnInternalServerErrorOnFailure=true"))[0]
        assert asked == (500 if ended == RuntimeStatus.FAILED else 200)
        status = await client.get_status(instance_id)
        assert status.runtime_status == OrchestrationRuntimeStatus(ended.value)
        assert status.output == output

    async def test_history_only_when_asked(self, frame: Frame) -> None:
        """historyEvents appear with show_history, inputs (JSON text) with them; results only
        with show_history_output (DurableClient.cs, history conversion)."""
        _, client, served, _ = frame
        instance_id = await client.start_new("Hello", None, "Tokyo")
        await served.client.wait_for(instance_id)
        plain = await client.get_status(instance_id)
        assert not hasattr(plain, "historyEvents")
        with_history = await client.get_status(instance_id, show_history=True)
        events = with_history.historyEvents  # type: ignore[attr-defined]
        assert [e["EventType"] for e in events] == [
            "ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]
        assert events[1]["FunctionName"] == "SayHello"
        assert all("Result" not in e for e in events)
        assert (events[0]["Input"], events[1]["Input"]) == ('"Tokyo"', '"Tokyo"')
        full = await client.get_status(instance_id, show_history=True, show_history_output=True)
        events = full.historyEvents  # type: ignore[attr-defined]
        assert events[0]["Input"] == '"Tokyo"'
        assert events[1]["Result"] == "Hello Tokyo"
        assert events[2]["Result"] == "Hello Tokyo"

    async def test_input_hidden_with_show_input_false(self, frame: Frame) -> None:
        """Input is shown by default (as in Azure) and hidden with showInput=false."""
        front_end, client, _, _ = frame
        instance_id = await client.start_new("Hello", None, {"secret": "x"})
        sent = json.dumps({"secret": "x"})
        assert (await client.get_status(instance_id, show_input=True)).input_ == sent
        url = links(front_end, client, instance_id)["statusQueryGetUri"]
        _, _, body = await call("GET", url + "&showInput=false")
        assert body["input"] is None
        _, _, body = await call("GET", url)
        assert body["input"] == sent

    async def test_status_by_filters(self, frame: Frame) -> None:
        """Runtime status and creation time filters select the matching instances."""
        _, client, served, _ = frame
        first = await client.start_new("AwaitApproval", "first", None)
        await served.runtime.advance(minutes=1)
        second = await client.start_new("AwaitApproval", "second", None)
        await served.runtime.advance(minutes=1)
        third = await client.start_new("Echo", "third", "done")
        for waiting in (first, second):
            await served.client.wait_for(waiting, running)
        await served.client.wait_for(third)
        live = await client.get_status_by(
            runtime_status=[OrchestrationRuntimeStatus.Running,
                            OrchestrationRuntimeStatus.Pending])
        assert [s.instance_id for s in live] == [first, second]
        completed = await client.get_status_by(
            runtime_status=[OrchestrationRuntimeStatus.Completed,
                            OrchestrationRuntimeStatus.Pending])
        assert [s.instance_id for s in completed] == [third]
        minute = CLOCK_START + timedelta(minutes=1)
        later = await client.get_status_by(created_time_from=minute)
        assert [s.instance_id for s in later] == [second, third]
        window = await client.get_status_by(created_time_from=minute, created_time_to=minute)
        assert [s.instance_id for s in window] == [second]

    async def test_status_all(self, frame: Frame) -> None:
        """get_status_all lists every instance, oldest first, inputs included (as the JSON
        text the SDK sent)."""
        _, client, served, _ = frame
        ids = []
        for n in range(3):  # a minute apart: oldest first is creation order
            ids.append(await client.start_new("Echo", None, n))
            await served.runtime.advance(minutes=1)
        statuses = await client.get_status_all()
        assert [s.instance_id for s in statuses] == ids
        assert [s.input_ for s in statuses] == ["0", "1", "2"]

    async def test_query_pages_with_top(self, frame: Frame) -> None:
        """``top`` pages the list; the continuation header fetches the next page."""
        front_end, client, served, keys = frame
        ids = []
        for _ in range(3):  # a minute apart: oldest first is creation order
            ids.append(await client.start_new("Echo", None, None))
            await served.runtime.advance(minutes=1)
        url = f"{front_end.base_url}/runtime/webhooks/durabletask/instances/"
        status, headers, page = await call("GET", url, params={"code": keys.system_key,
                                                               "top": "2"})
        assert status == 200 and [s["instanceId"] for s in page] == ids[:2]
        token = headers["x-ms-continuation-token"]
        _, headers, page = await call("GET", url, params={"code": keys.system_key, "top": "2"},
                                      headers={"x-ms-continuation-token": token})
        assert [s["instanceId"] for s in page] == ids[2:]
        assert "x-ms-continuation-token" not in headers

    async def test_bad_time_filter_is_ignored(self, frame: Frame) -> None:
        """A malformed createdTimeFrom is left out of the query, as DateTime.TryParse leaves
        it in HttpApiHandler.cs: every instance is listed."""
        front_end, client, served, keys = frame
        instance_id = await client.start_new("Echo", None, None)
        await served.client.wait_for(instance_id)
        status, _, body = await call(
            "GET", f"{front_end.base_url}/runtime/webhooks/durabletask/instances",
            params={"code": keys.system_key, "createdTimeFrom": "yesterday"})
        assert status == 200 and [s["instanceId"] for s in body] == [instance_id]


class TestTerminateAndPurge:
    """terminate and purge_instance_history."""

    async def test_terminate(self, frame: Frame) -> None:
        """202 terminates with the reason; an ended instance is 410 (the SDK accepts it)."""
        front_end, client, served, _ = frame
        instance_id = await client.start_new("AwaitApproval", None, None)
        await served.client.wait_for(instance_id, running)
        await client.terminate(instance_id, "customer cancelled & left")
        record = await served.client.wait_for(instance_id)
        assert record.runtime_status == RuntimeStatus.TERMINATED
        assert decoded(record.output) == "customer cancelled & left"
        history = await served.client.get_history(instance_id)
        (terminated,) = of_kind(history, EventType.EXECUTION_TERMINATED)
        assert decoded(terminated["Input"]) == "customer cancelled & left"
        await client.terminate(instance_id, "again")
        url = links(front_end, client, instance_id)["terminatePostUri"]
        assert (await call("POST", url.replace("{text}", "again")))[0] == 410
        assert await served.client.get_instance(instance_id) == record
        assert await served.client.get_history(instance_id) == history

    async def test_terminate_unknown_raises(self, frame: Frame) -> None:
        """404 becomes the SDK's 'No instance' exception."""
        _, client, _, _ = frame
        with pytest.raises(Exception, match="No instance with ID 'nope' found"):
            await client.terminate("nope", "why")

    async def test_purge(self, frame: Frame) -> None:
        """An ended instance is purged (1), an unknown one gives 0, and a running one is
        purged too (HttpApiHandler.cs deletes whatever the status)."""
        _, client, served, _ = frame
        running_id = await client.start_new("AwaitApproval", None, None)
        await served.client.wait_for(running_id, running)
        assert (await client.purge_instance_history(running_id)).instances_deleted == 1
        assert await served.client.get_instance(running_id) is None
        instance_id = await client.start_new("AwaitApproval", None, None)
        await served.client.raise_event(instance_id, "Approval", None)
        await served.client.wait_for(instance_id)
        assert (await client.purge_instance_history(instance_id)).instances_deleted == 1
        assert await served.client.get_instance(instance_id) is None
        assert await served.client.get_history(instance_id) == []
        assert (await client.purge_instance_history(instance_id)).instances_deleted == 0

    async def test_purge_by_filter(self, frame: Frame) -> None:
        """Purging by filter with an ended status removes the instances in it created in the
        window; without a status (or with live ones only) it removes every instance in the
        window, running ones too, as the Azure Storage provider's purge does."""
        _, client, served, _ = frame
        kept = await client.start_new("AwaitApproval", None, None)
        gone = await client.start_new("Echo", None, None)
        await served.client.wait_for(kept, running)
        await served.client.wait_for(gone)
        result = await client.purge_instance_history_by(
            created_time_from=CLOCK_START,
            runtime_status=[OrchestrationRuntimeStatus.Completed])
        assert result.instances_deleted == 1
        assert [r.instance_id for r in await served.client.query()] == [kept]
        result = await client.purge_instance_history_by(
            created_time_from=CLOCK_START, runtime_status=[OrchestrationRuntimeStatus.Running])
        assert result.instances_deleted == 1
        assert await served.client.query() == []


class TestCheckStatusUrls:
    """The URLs create_check_status_response returns, used as returned."""

    async def test_urls_work_with_the_system_key(self, frame: Frame) -> None:
        """Status, raise event, terminate and purge all work from the returned links."""
        front_end, client, served, _ = frame
        approved = await client.start_new("AwaitApproval", None, {"city": "Rome"})
        stopped = await client.start_new("AwaitApproval", None, None)
        urls = links(front_end, client, approved)
        status, _, body = await call("GET", urls["statusQueryGetUri"])
        assert (status, body["input"]) == (202, json.dumps({"city": "Rome"}))
        status, _, _ = await call("POST", urls["sendEventPostUri"].replace(
            "{eventName}", "Approval"), json={"ok": 1})
        assert status == 202
        record = await served.client.wait_for(approved)
        assert (record.runtime_status, decoded(record.output)) == (RuntimeStatus.COMPLETED,
                                                                   {"ok": 1})
        stop_url = links(front_end, client, stopped)["terminatePostUri"]
        status, _, _ = await call("POST", stop_url.replace("{text}", "stop"))
        assert status == 202
        record = await served.client.wait_for(stopped)
        assert (record.runtime_status, decoded(record.output)) == (RuntimeStatus.TERMINATED,
                                                                   "stop")
        status, _, body = await call("DELETE", urls["purgeHistoryDeleteUri"])
        assert (status, body) == (200, {"instancesDeleted": 1})
        assert await served.client.get_instance(approved) is None

    async def test_urls_need_the_key(self, frame: Frame) -> None:
        """Without code=, or with the function key, every management URL is 401 and does
        nothing: the instance stays, and the next event is the only one it gets."""
        front_end, client, served, keys = frame
        instance_id = await client.start_new("AwaitApproval", None, None)
        await served.client.wait_for(instance_id, running)
        urls = links(front_end, client, instance_id)
        for name, method in [("statusQueryGetUri", "GET"), ("sendEventPostUri", "POST"),
                             ("terminatePostUri", "POST"), ("purgeHistoryDeleteUri", "DELETE")]:
            bare = urls[name].split("?")[0].replace("{eventName}", "E")
            assert (await call(method, bare, json={}))[0] == 401, name
            assert (await call(method, bare, json={},
                               params={"code": keys.function_key}))[0] == 401, name
        record = await served.client.get_instance(instance_id)
        assert record is not None and record.runtime_status == RuntimeStatus.RUNNING
        await served.client.raise_event(instance_id, "Approval", '"last"')
        record = await served.client.wait_for(instance_id)
        assert (record.runtime_status, decoded(record.output)) == (RuntimeStatus.COMPLETED,
                                                                   "last")
        assert await raised(served, instance_id) == [("Approval", "last")]

    async def test_master_key_header_opens_management(self, frame: Frame) -> None:
        """The master key in x-functions-key is accepted too."""
        front_end, client, _, keys = frame
        instance_id = await client.start_new("AwaitApproval", None, None)
        bare = links(front_end, client, instance_id)["statusQueryGetUri"].split("?")[0]
        status, _, _ = await call("GET", bare, headers={"x-functions-key": keys.master_key})
        assert status == 202

    async def test_unknown_management_route_still_needs_a_key(self, frame: Frame) -> None:
        """Even a path that does not exist is 401 without a key, 404 with one."""
        front_end, _, _, keys = frame
        url = f"{front_end.base_url}/runtime/webhooks/durabletask/nothing"
        assert (await call("GET", url))[0] == 401
        assert (await call("GET", url, params={"code": keys.system_key}))[0] == 404

    async def test_the_operation_urls_reach_their_handlers(self, frame: Frame) -> None:
        """The suspend, resume and restart URLs a check-status response hands out work (202);
        rewind reaches its handler too, which refuses a live instance as Azure's catch-all
        answers RewindAsync's InvalidOperationException (500)."""
        front_end, client, served, _ = frame
        instance_id = await client.start_new("AwaitApproval", None, None)
        await served.client.wait_for(instance_id, running)
        urls = links(front_end, client, instance_id)
        for name in ("suspendPostUri", "resumePostUri", "restartPostUri"):
            assert (await call("POST", urls[name].replace("{text}", "x")))[0] == 202, name
        rewind = urls["suspendPostUri"].replace("/suspend?", "/rewind?").replace("{text}", "x")
        status, _, body = await call("POST", rewind)
        assert status == 500
        assert body["ExceptionType"] == "System.InvalidOperationException"
        assert "only supported on failed" in body["ExceptionMessage"]


class TestPayloadCap:
    """A start or an event whose value is over the task hub's cap (devhost.taskhub.limits):
    413 with the reason, and nothing written."""

    async def test_a_start_over_the_cap_is_refused_and_creates_nothing(self, frame: Frame):
        """The start answers 413 and no instance exists afterwards."""
        front_end, _, served, keys = frame
        body = json.dumps("x" * (MAX_PAYLOAD_BYTES + 1))
        url = f"{front_end.base_url}/runtime/webhooks/durabletask/orchestrators/Echo/big-one"
        status, _, reply = await call("POST", url, params={"code": keys.system_key},
                                      data=body, headers={"Content-Type": "application/json"})
        assert status == 413
        assert "over the task hub's limit" in reply["Message"]
        assert await served.client.get_instance("big-one") is None

    async def test_an_event_over_the_cap_is_refused_and_the_instance_runs_on(self, frame):
        """The event answers 413; the instance still takes a small one and completes."""
        front_end, client, served, keys = frame
        instance_id = await client.start_new("AwaitApproval", None, None)
        await served.client.wait_for(instance_id, running)
        url = (f"{front_end.base_url}/runtime/webhooks/durabletask/instances/{instance_id}"
               "/raiseEvent/Approval")
        status, _, reply = await call("POST", url, params={"code": keys.system_key},
                                      data=json.dumps("x" * (MAX_PAYLOAD_BYTES + 1)),
                                      headers={"Content-Type": "application/json"})
        assert status == 413 and "over the task hub's limit" in reply["Message"]
        await client.raise_event(instance_id, "Approval", "small")
        record = await served.client.wait_for(instance_id)
        assert record.runtime_status == RuntimeStatus.COMPLETED


class TestServiceFailures:
    """Failures inside the durable service: its task hub's storage failing under the client."""

    @pytest.mark.parametrize(("error", "expected"), [
        (StorageUnavailable("table down"), 503), (RuntimeError("bug: secret detail"), 500)])
    async def test_service_errors_answer_json(self, frame: Frame, error: Exception,
                                              expected: int,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
        """Storage outages are 503, anything else 500; both JSON and without internals."""
        front_end, client, served, _ = frame
        instance_id = await client.start_new("AwaitApproval", None, None)
        await served.client.wait_for(instance_id, running)
        url = links(front_end, client, instance_id)["statusQueryGetUri"]

        async def failing(instance_id: str) -> None:
            raise error

        monkeypatch.setattr(served.hub, "get_instance", failing)
        status, headers, body = await call("GET", url)
        assert status == expected
        assert headers["Content-Type"].startswith("application/json")
        assert "secret detail" not in json.dumps(body)


class TestAzureAnswers:
    """Answers checked against the Durable extension's source, one difference each."""

    @staticmethod
    def base(front_end: HttpFrontEnd) -> str:
        """The management API's public base URL."""
        return f"{front_end.base_url}/runtime/webhooks/durabletask"

    async def test_query_without_top_pages_at_100(self, frame: Frame) -> None:
        """Without top a query answers 100 instances and an x-ms-continuation-token for the
        rest (OrchestrationStatusQueryCondition.cs, PageSize = 100); the SDK's
        get_status_all reads the first page only."""
        front_end, client, served, keys = frame
        served.hub.hold_episodes()
        ids = [await served.client.start_new("Echo", f"page-{n:03d}", None)
               for n in range(101)]
        url = f"{self.base(front_end)}/instances/"
        status, headers, page = await call("GET", url, params={"code": keys.system_key})
        assert status == 200 and [s["instanceId"] for s in page] == ids[:100]
        token = headers["x-ms-continuation-token"]
        _, headers, page = await call("GET", url, params={"code": keys.system_key},
                                      headers={"x-ms-continuation-token": token})
        assert [s["instanceId"] for s in page] == ids[100:]
        assert "x-ms-continuation-token" not in headers
        assert len(await client.get_status_all()) == 100

    async def test_runtime_status_matches_exactly(self, frame: Frame) -> None:
        """runtimeStatus values match case-sensitively, as Enum.TryParse reads them in
        HttpApiHandler.cs: 'running' is no status (no filter), a .NET enum number is one,
        and every runtimeStatus parameter counts."""
        front_end, client, served, keys = frame
        live = await client.start_new("AwaitApproval", "live", None)
        done = await client.start_new("Echo", "done", None)
        await served.client.wait_for(live, running)
        await served.client.wait_for(done)

        async def ids(*statuses: str) -> list[str]:
            query = [("code", keys.system_key)] + [("runtimeStatus", s) for s in statuses]
            _, _, body = await call("GET", f"{self.base(front_end)}/instances", params=query)
            return [s["instanceId"] for s in body]

        assert await ids("Running") == [live]
        assert await ids("running") == [live, done]
        assert await ids("RUNNING,completed") == [live, done]
        assert await ids("1") == [done]
        assert await ids("Running", "Completed") == [live, done]
        assert await ids("Canceled") == []
        by_sdk = await client.get_status_by(runtime_status=[OrchestrationRuntimeStatus.Completed])
        assert [s.instance_id for s in by_sdk] == [done]

    async def test_purge_of_a_running_instance_deletes_it(self, frame: Frame) -> None:
        """DELETE of a running instance answers 200 {"instancesDeleted": 1} and the instance
        is gone, its later work dropped (HttpApiHandler.cs, HandleDeleteHistoryByIdRequestAsync
        checks only that it exists)."""
        front_end, client, served, _ = frame
        instance_id = await client.start_new("AwaitApproval", None, None)
        await served.client.wait_for(instance_id, running)
        url = links(front_end, client, instance_id)["purgeHistoryDeleteUri"]
        assert (await call("DELETE", url))[:3:2] == (200, {"instancesDeleted": 1})
        assert await served.client.get_instance(instance_id) is None
        assert (await call("DELETE", url))[0] == 404
        with pytest.raises(Exception, match="No instance"):
            await client.raise_event(instance_id, "Approval", "late")
        await served.runtime.advance(minutes=5)
        assert await served.client.get_instance(instance_id) is None
        assert await served.client.get_history(instance_id) == []

    async def test_start_over_a_running_id_is_500(self, frame: Frame) -> None:
        """A start over a live id answers 500: OrchestrationAlreadyExistsException falls into
        HttpApiHandler.cs's catch-all; the SDK's start_new raises with that body."""
        front_end, client, served, keys = frame
        await client.start_new("AwaitApproval", "taken", None)
        await served.client.wait_for("taken", running)
        status, _, body = await call(
            "POST", f"{self.base(front_end)}/orchestrators/AwaitApproval/taken",
            params={"code": keys.system_key}, json=None)
        assert status == 500
        assert body == {
            "Message": "Something went wrong while processing your request",
            "ExceptionMessage": "An Orchestration instance with the status Running already "
                                "exists.",
            "ExceptionType": "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException"}
        with pytest.raises(Exception, match="already exists"):
            await client.start_new("AwaitApproval", "taken", None)
        record = await served.client.get_instance("taken")
        assert record is not None and record.runtime_status == RuntimeStatus.RUNNING

    async def test_raise_event_with_an_empty_body_is_400(self, frame: Frame) -> None:
        """An empty event body answers 400 'Invalid JSON content' and raises nothing
        (HttpApiHandler.cs parses it with JToken.Load, which refuses it)."""
        front_end, client, served, _ = frame
        instance_id = await client.start_new("AwaitApproval", None, None)
        await served.client.wait_for(instance_id, running)
        url = links(front_end, client, instance_id)["sendEventPostUri"].replace(
            "{eventName}", "Approval")
        status, _, body = await call("POST", url, data=b"",
                                     headers={"Content-Type": "application/json"})
        assert (status, body["Message"]) == (400, "Invalid JSON content")
        assert body["ExceptionType"] == "Newtonsoft.Json.JsonReaderException"
        assert await raised(served, instance_id) == []

    async def test_status_input_is_the_json_text_the_sdk_sent(self, frame: Frame) -> None:
        """The status input of an SDK-started instance is the JSON text the SDK posted, a
        string (DurableClient.cs, ParseToJToken of the stored JSON string), while the
        orchestrator still gets the value."""
        front_end, client, served, _ = frame
        value = {"city": "Tokyo", "n": [1, 2]}
        instance_id = await client.start_new("Echo", None, value)
        record = await served.client.wait_for(instance_id)
        assert json.loads(record.output or "") == value
        _, _, body = await call("GET", links(front_end, client, instance_id)["statusQueryGetUri"])
        assert body["input"] == json.dumps(value)
        assert (await client.get_status(instance_id)).input_ == json.dumps(value)

    async def test_status_input_of_a_plain_json_start_is_the_value(self, frame: Frame) -> None:
        """A start posted with a plain JSON body (curl) keeps the input as that value, so
        its status shows the object (ParseToJToken of the stored JSON), and a restart keeps
        the shape."""
        front_end, client, served, keys = frame
        value = {"city": "Tokyo", "n": [1, 2]}
        url = f"{front_end.base_url}/runtime/webhooks/durabletask/orchestrators/Echo"
        status, _, started = await call("POST", url, params={"code": keys.system_key},
                                        json=value)
        assert status == 202
        record = await served.client.wait_for(started["id"])
        assert json.loads(record.output or "") == value
        _, _, body = await call("GET", started["statusQueryGetUri"])
        assert body["input"] == value
        again = (await client.restart(started["id"]))["id"]
        await served.client.wait_for(again)
        _, _, body = await call("GET", links(front_end, client, again)["statusQueryGetUri"])
        assert body["input"] == value

    @pytest.mark.parametrize("orchestrator", ["Hello", "Fail", "AwaitApproval"])
    async def test_history_as_the_extension_converts_it(self, frame: Frame,
                                                        orchestrator: str) -> None:
        """showHistory folds each TaskScheduled into its completion (FunctionName,
        ScheduledTime, Input), drops the ids, shows inputs unless showInput=false, and ends
        with ExecutionCompleted and its OrchestrationStatus (DurableClient.cs, history
        conversion; a termination is followed by one, as Durable Task records it)."""
        front_end, client, served, _ = frame
        at = "2024-05-01T12:00:00Z"
        instance_id = await client.start_new(orchestrator, None, "Tokyo")
        if orchestrator == "AwaitApproval":
            await served.client.wait_for(instance_id, running)
            await client.terminate(instance_id, "stop")
        await served.client.wait_for(instance_id)
        url = links(front_end, client, instance_id)["statusQueryGetUri"]
        _, _, body = await call("GET", url + "&showHistory=true&showHistoryOutput=true")
        started = {"EventType": "ExecutionStarted", "Input": '"Tokyo"', "Timestamp": at,
                   "FunctionName": orchestrator}

        def completed(status: str, result: str) -> dict[str, Any]:
            return {"EventType": "ExecutionCompleted", "OrchestrationStatus": status,
                    "Result": result, "Timestamp": at}

        assert body["historyEvents"] == {
            "Hello": [started,
                      {"EventType": "TaskCompleted", "Result": "Hello Tokyo", "Timestamp": at,
                       "ScheduledTime": at, "FunctionName": "SayHello", "Input": '"Tokyo"'},
                      completed("Completed", "Hello Tokyo")],
            "Fail": [started, completed(
                "Failed", "Orchestrator function 'Fail' failed: RuntimeError: Tokyo")],
            "AwaitApproval": [started,
                              {"EventType": "ExecutionTerminated", "Input": "stop",
                               "Timestamp": at},
                              completed("Terminated", "stop")],
        }[orchestrator]
        _, _, body = await call("GET", url + "&showHistory=true&showInput=false")
        assert all("Input" not in e and "Result" not in e for e in body["historyEvents"])
        assert body["input"] is None

    async def test_history_of_a_pending_instance_is_left_out(self, frame: Frame) -> None:
        """A Pending instance's status has no historyEvents even with showHistory
        (DurableClient.cs reads no history for Pending; StatusResponsePayload omits null)."""
        front_end, client, served, _ = frame
        served.hub.hold_episodes()
        instance_id = await client.start_new("Hello", None, "Tokyo")
        url = links(front_end, client, instance_id)["statusQueryGetUri"]
        _, _, body = await call("GET", url + "&showHistory=true")
        assert body["runtimeStatus"] == "Pending" and "historyEvents" not in body

    async def test_unknown_instances_and_routes_are_bare_404s(self, frame: Frame) -> None:
        """404s carry no body, and a verb a route does not take is a 404 too, not a 405
        (HttpApiHandler.cs answers CreateResponse(HttpStatusCode.NotFound))."""
        front_end, client, _, keys = frame
        code = {"code": keys.system_key}
        base = self.base(front_end)
        for method, path in [("GET", "instances/nope"), ("DELETE", "instances/nope"),
                             ("POST", "instances/nope/terminate"),
                             ("POST", "instances/nope/raiseEvent/E"),
                             ("GET", "orchestrators/Hello"), ("PUT", "instances/nope"),
                             ("POST", "instances/nope/unknownOperation"), ("GET", "nothing")]:
            status, _, body = await call(method, f"{base}/{path}", params=code, json={})
            assert (status, body) == (404, None), (method, path)
        assert (await client.purge_instance_history("nope")).instances_deleted == 0

    async def test_ended_instance_answers_a_bare_410(self, frame: Frame) -> None:
        """Raise event and terminate on an ended instance answer 410 without a body
        (HttpApiHandler.cs, CreateResponse(HttpStatusCode.Gone))."""
        front_end, client, served, _ = frame
        instance_id = await client.start_new("Echo", None, None)
        await served.client.wait_for(instance_id)
        urls = links(front_end, client, instance_id)
        for url in (urls["sendEventPostUri"].replace("{eventName}", "E"),
                    urls["terminatePostUri"].replace("{text}", "x")):
            assert (await call("POST", url, json={}))[:3:2] == (410, None)

    async def test_query_parameter_names_are_case_insensitive(self, frame: Frame) -> None:
        """Query parameter names match whatever their case (GetQueryNameValuePairs in
        HttpRequestMessageExtensions.cs compares them OrdinalIgnoreCase)."""
        front_end, client, served, _ = frame
        instance_id = await client.start_new("Hello", None, "Tokyo")
        await served.client.wait_for(instance_id)
        url = links(front_end, client, instance_id)["statusQueryGetUri"]
        _, _, body = await call("GET", url + "&SHOWHISTORY=true&showinput=false")
        assert "historyEvents" in body and body["input"] is None

    async def test_start_refusals_are_argument_errors(self, frame: Frame) -> None:
        """An unknown orchestrator or a bad instance id is a 400 'One or more of the
        arguments submitted is incorrect' with the ArgumentException's message; ids may
        have 256 characters (DurableClient.cs, StartNewAsync and MaxInstanceIdLength)."""
        front_end, _, _, keys = frame
        base, code = f"{self.base(front_end)}/orchestrators", {"code": keys.system_key}
        status, _, body = await call("POST", f"{base}/Nope", params=code)
        assert (status, body["Message"]) == (400, "One or more of the arguments submitted "
                                                  "is incorrect")
        assert body["ExceptionMessage"].startswith("The function 'Nope' doesn't exist")
        assert body["ExceptionType"] == "System.ArgumentException"
        for bad, message in [("x" * 257, "Instance ID lengths must not exceed 256 characters."),
                             ("%40entity", "must not start with @"),
                             ("a%C2%85b", "must not contain")]:
            status, _, body = await call("POST", f"{base}/Hello/{bad}", params=code)
            assert status == 400 and message in body["ExceptionMessage"], bad
        status, _, body = await call("POST", f"{base}/Hello/{'x' * 256}", params=code)
        assert status == 202 and body["id"] == "x" * 256

    async def test_wait_with_interval_over_timeout_is_400(self, frame: Frame) -> None:
        """A create-and-wait whose pollingInterval exceeds its timeout starts the instance,
        then answers 400 (WaitForCompletionOrCreateCheckStatusResponseAsync throws an
        ArgumentException)."""
        front_end, _, served, keys = frame
        status, _, body = await call(
            "POST", f"{self.base(front_end)}/orchestrators/Echo/waited",
            params={"code": keys.system_key, "timeout": "1", "pollingInterval": "2"}, json=1)
        assert status == 400 and "Total timeout 1" in body["ExceptionMessage"]
        assert await served.client.get_instance("waited") is not None

    async def test_purge_by_filter_needs_a_readable_created_time_from(self, frame: Frame
                                                                     ) -> None:
        """A purge by filter without a readable createdTimeFrom answers 400 with a JSON
        string body, and one that matches nothing a bare 404
        (HttpApiHandler.cs, HandleDeleteHistoryWithFiltersRequestAsync)."""
        front_end, _, _, keys = frame
        url = f"{self.base(front_end)}/instances"
        for created in ({}, {"createdTimeFrom": "yesterday"}):
            status, _, body = await call("DELETE", url,
                                         params={"code": keys.system_key, **created})
            assert (status, body) == (
                400, "Please provide value for 'createdTimeFrom' parameter.")
        status, _, body = await call("DELETE", url, params={
            "code": keys.system_key, "createdTimeFrom": "2024-05-01T00:00:00Z"})
        assert (status, body) == (404, None)


class TestNetTimestamps:
    """Times in history events, as Json.NET writes a DateTime."""

    @pytest.mark.parametrize(("moment", "text"), [
        (datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc), "2024-05-01T12:00:00Z"),
        (datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=timezone.utc), "2024-05-01T12:00:00.5Z"),
        (datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc),
         "2024-05-01T12:00:00.123456Z"),
        ("2024-05-01T12:00:00.000010Z", "2024-05-01T12:00:00.00001Z"),
    ])
    def test_fraction_to_seven_digits_without_trailing_zeros(self, moment: Any,
                                                             text: str) -> None:
        """Json.NET writes the fraction to the tick, seven digits at most, trailing zeros
        dropped and none for a whole second (what the history conversion in DurableClient.cs
        serializes)."""
        assert net_time(moment) == text

    def test_history_times_and_dropped_ids(self) -> None:
        """In historyEvents, Timestamp, ScheduledTime and FireAt are .NET times, TimerId and
        TaskScheduledId are gone, a TaskFailed gains its TaskScheduled's name, time and
        input, and TimerCreated stays (DurableClient.cs, history conversion)."""
        t0 = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=timezone.utc)
        t1 = t0 + timedelta(seconds=1, microseconds=1)
        events = [execution_started("O", "i", '"in"', t0),
                  task_scheduled(0, "Act", '"x"', t0), timer_created(1, t1, t0),
                  task_failed(0, "ValueError: boom", "details", t1), timer_fired(1, t1, t1)]
        assert history_json(events, show_output=False) == [
            {"EventType": "ExecutionStarted", "Input": '"in"',
             "Timestamp": "2024-05-01T12:00:00.25Z", "FunctionName": "O"},
            {"EventType": "TimerCreated", "FireAt": "2024-05-01T12:00:01.250001Z",
             "Timestamp": "2024-05-01T12:00:00.25Z"},
            {"EventType": "TaskFailed", "Reason": "ValueError: boom", "Details": "details",
             "Timestamp": "2024-05-01T12:00:01.250001Z",
             "ScheduledTime": "2024-05-01T12:00:00.25Z", "FunctionName": "Act",
             "Input": '"x"'},
            {"EventType": "TimerFired", "FireAt": "2024-05-01T12:00:01.250001Z",
             "Timestamp": "2024-05-01T12:00:01.250001Z"},
        ]


class TestSuspendResumeRestart:
    """suspend, resume and restart through the SDK client (HttpApiHandler's routes)."""

    async def test_a_suspended_instance_holds_its_events_until_resumed(self, frame: Frame):
        """A suspended instance shows Suspended and runs nothing; the event raised meanwhile
        waits, and on resume the instance completes with it."""
        _, client, served, _ = frame
        instance_id = await client.start_new("AwaitApproval", None, None)
        await served.client.wait_for(instance_id, running)
        await client.suspend(instance_id, "kitchen on fire")
        await served.client.wait_for(
            instance_id, lambda r: r.runtime_status == RuntimeStatus.SUSPENDED)
        status = await client.get_status(instance_id)
        assert status.runtime_status == OrchestrationRuntimeStatus.Suspended
        await client.raise_event(instance_id, "Approval", "held")
        with pytest.raises(TimeoutError):
            await served.client.wait_for(instance_id, timeout=1.0)
        held = await served.client.get_instance(instance_id)
        assert held is not None and held.runtime_status == RuntimeStatus.SUSPENDED
        await client.resume(instance_id, "fire out")
        record = await served.client.wait_for(instance_id)
        assert record.runtime_status == RuntimeStatus.COMPLETED
        assert json.loads(record.output or "null") == json.dumps("held")
        kinds = [e["EventType"] for e in await served.client.get_history(instance_id)
                 if not e.get("Held")]
        suspended = kinds.index(EventType.EXECUTION_SUSPENDED)
        assert kinds.index(EventType.EXECUTION_RESUMED) < kinds.index(EventType.EVENT_RAISED)
        assert suspended < kinds.index(EventType.EXECUTION_RESUMED)

    async def test_suspend_of_an_ended_instance_is_gone(self, frame: Frame):
        """Suspend and resume of an ended instance answer 410, of an unknown one 404."""
        front_end, client, served, keys = frame
        instance_id = await client.start_new("Hello", None, None)
        await served.client.wait_for(instance_id)
        base = f"{front_end.base_url}/runtime/webhooks/durabletask/instances"
        for operation in ("suspend", "resume"):
            ended = await call("POST", f"{base}/{instance_id}/{operation}?code={keys.system_key}")
            unknown = await call("POST", f"{base}/nope/{operation}?code={keys.system_key}")
            assert (ended[0], unknown[0]) == (410, 404)

    async def test_restart_runs_the_input_again_under_a_new_or_the_same_id(self, frame: Frame):
        """restart starts the orchestrator again with the original input: under a new id by
        default, under its own id when asked (DurableClient.RestartAsync)."""
        _, client, served, _ = frame
        first = await client.start_new("Echo", None, {"dish": "pizza"})
        done = await served.client.wait_for(first)
        # The SDK hands back the 202's body (the new instance's URLs), as against Azure.
        again = (await client.restart(first))["id"]
        assert again != first
        repeated = await served.client.wait_for(again)
        assert repeated.output == done.output and repeated.input == done.input
        same = await client.restart(first, restart_with_new_instance_id=False)
        assert same["id"] == first
        assert (await served.client.wait_for(first)).output == done.output
