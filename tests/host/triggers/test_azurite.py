"""Timer and queue triggers on Azurite: the task hub's storage account holds the queues and
the timers' schedule status, written and read as Azure Storage does."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob.aio import ContainerClient
from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient

from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.triggers.schedule_status import status_container
from tests.host.triggers.conftest import (
    QUEUE_APP,
    TIMER_APP,
    LocalStarter,
    wait_for_inputs,
)
from tests.support.backends import FAST_POLL

pytestmark = pytest.mark.azurite


def unique(tag: str) -> str:
    """A hub or queue name of this test's own."""
    return f"{tag}{uuid.uuid4().hex[:10]}"


def azure_hub(azurite: AzuriteProcess, name: str) -> AzureStorageTaskHub:
    """A task hub on the session's Azurite."""
    return AzureStorageTaskHub(azurite.connection_string, name, visibility_timeout=5.0,
                               **FAST_POLL)


@pytest.fixture
async def queue_client(azurite: AzuriteProcess) -> AsyncIterator[QueueClient]:
    """A client for the test's own jobs queue, base64 as the trigger expects."""
    client = QueueClient.from_connection_string(
        azurite.connection_string, unique("jobs"),
        message_encode_policy=TextBase64EncodePolicy(),
        message_decode_policy=TextBase64DecodePolicy())
    await client.create_queue()
    try:
        yield client
    finally:
        await client.close()


async def contents(azurite: AzuriteProcess, queue: str) -> list[str]:
    """The decoded messages of a queue (peeked, so left in place)."""
    async with QueueClient.from_connection_string(
            azurite.connection_string, queue,
            message_decode_policy=TextBase64DecodePolicy()) as client:
        try:
            return [m.content for m in await client.peek_messages(max_messages=32)]
        except ResourceNotFoundError:
            return []  # not created yet


async def eventually(probe, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    """Await ``probe()`` until it is truthy; its value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached in {timeout} s: {value!r}")
        await asyncio.sleep(0.05)


async def test_a_queue_message_starts_an_orchestration_and_queues_a_reply(
        start_local: LocalStarter, azurite: AzuriteProcess, queue_client: QueueClient) -> None:
    """A base64 message sent with the storage SDK starts one orchestration that sees
    Azurite's id, times and pop receipt; the reply lands in the output queue."""
    hub = azure_hub(azurite, unique("jobs"))
    queue = queue_client.queue_name
    await start_local(QUEUE_APP, hub, JOBS_QUEUE=queue, JOBS_HUB=hub.hub_name)
    sent = await queue_client.send_message("hello azurite")
    (started,) = await wait_for_inputs(hub, "job", 1)
    assert started["body"] == "hello azurite"
    assert started["id"] == sent.id
    assert started["dequeue_count"] == 1
    inserted = datetime.fromisoformat(started["insertion_time"])
    assert inserted == sent.inserted_on
    assert datetime.fromisoformat(started["expiration_time"]) - inserted == timedelta(days=7)
    (record,) = await hub.query_instances()
    assert await eventually(lambda: contents(azurite, f"{queue}-done")) == [
        f"started {record.instance_id}"]
    assert await eventually(lambda: _empty(azurite, queue))


async def _empty(azurite: AzuriteProcess, queue: str) -> bool:
    async with QueueClient.from_connection_string(azurite.connection_string, queue) as client:
        properties = await client.get_queue_properties()
        return properties.approximate_message_count == 0


async def test_a_failing_message_is_retried_then_poisoned(
        start_local: LocalStarter, azurite: AzuriteProcess, queue_client: QueueClient) -> None:
    """A flaky message succeeds on its second delivery; one that always fails is moved to
    ``{queue}-poison`` after ``maxDequeueCount`` (3) deliveries, its content unchanged."""
    hub = azure_hub(azurite, unique("jobs"))
    queue = queue_client.queue_name
    await start_local(QUEUE_APP, hub, JOBS_QUEUE=queue, JOBS_HUB=hub.hub_name)
    await queue_client.send_message("flaky:2")
    await queue_client.send_message("fail")
    (started,) = await wait_for_inputs(hub, "job", 1)
    assert (started["body"], started["dequeue_count"]) == ("flaky:2", 2)
    assert await eventually(lambda: contents(azurite, f"{queue}-poison")) == ["fail"]
    assert len(await hub.query_instances()) == 1


async def test_the_timer_runs_and_keeps_its_status_in_a_blob(
        start_local: LocalStarter, azurite: AzuriteProcess) -> None:
    """A timer every second runs on the wall clock; its schedule status is the JSON blob
    ``tick/status`` (Last, Next, LastUpdated) in the hub's timer container."""
    hub = azure_hub(azurite, unique("timers"))
    await start_local(TIMER_APP, hub, TICK_SCHEDULE="*/1 * * * * *", TIMER_HUB=hub.hub_name)
    runs = [i for i in await wait_for_inputs(hub, "record_tick", 4) if i["source"] == "tick"]
    assert runs and not any(r["past_due"] for r in runs)
    async with ContainerClient.from_connection_string(
            azurite.connection_string, status_container(hub.hub_name)) as container:
        blob = await (await container.download_blob("tick/status")).readall()
    status = json.loads(blob)
    last, following = (datetime.fromisoformat(status[k]) for k in ("Last", "Next"))
    # Last is the invocation time (a little after the due second, as Azure records it);
    # Next is the schedule's following second.
    assert timedelta(0) < following - last <= timedelta(seconds=1)
    assert following.microsecond == 0 and following.tzinfo == timezone.utc
    assert status["LastUpdated"] == status["Last"]
