"""Large payloads, the size limit both hubs share, and storage that never meets Durable
Task's own: the task hub's side of running next to ``func start`` on one storage account.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from azure.storage.queue.aio import QueueClient

from devhost.app.loader import import_state_kept, load_app
from devhost.clock import SystemClock
from devhost.engine import protocol
from devhost.engine.runtime import DurableRuntime
from devhost.errors import PayloadTooLarge
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.common import StorageNames
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import ActivityTask, Commit, Message, RuntimeStatus, TaskHub
from devhost.taskhub.limits import MAX_PAYLOAD_BYTES
from tests.host.taskhub.test_contract import (
    WORK_WAIT,
    create,
    fetch,
    make_record,
    new_id,
    start_message,
)
from tests.support.backends import FAST_POLL, Backend

APP_DIR = Path(__file__).parent / "apps" / "payloads"
FIVE_MB = 5 * 1000 * 1000
OVER = MAX_PAYLOAD_BYTES + 1


@pytest.fixture(scope="module")
def payload_app() -> Any:
    """The payload test app's function index."""
    with import_state_kept():
        return load_app(APP_DIR)


@pytest.fixture
async def runtime(hub: TaskHub, payload_app: Any) -> AsyncIterator[DurableRuntime]:
    """A running durable runtime over the payload app on the backend's hub."""
    running = DurableRuntime(hub, payload_app.orchestrators, payload_app.activities)
    await running.start()
    yield running
    await running.stop()


async def run(runtime: DurableRuntime, name: str, value: int) -> str:
    """Start ``name`` with ``value`` as input; its instance id."""
    return await runtime.client.start_new(name, new_id(name), json.dumps(value))


# The size limit, the same on both hubs ----------------------------------------------------

async def test_hub_refuses_a_value_over_the_limit_and_writes_nothing(
        hub: TaskHub, backend: Backend) -> None:
    """Every hub refuses an input, a message, a commit and an activity result over the limit
    with PayloadTooLarge, writes nothing, keeps the work leased, and takes exactly the limit."""
    big = '"' + "x" * (OVER - 2) + '"'
    record = make_record(backend, new_id(), input=big)
    with pytest.raises(PayloadTooLarge, match="over the task hub's limit"):
        await hub.create_instance(record, start_message(backend, make_record(
            backend, record.instance_id)))
    assert await hub.get_instance(record.instance_id) is None

    record, start = await create(hub, backend)
    with pytest.raises(PayloadTooLarge):
        await hub.send([Message(record.instance_id,
                                protocol.event_raised("paid", big, backend.now()))])
    item = await fetch(hub)
    task = ActivityTask(record.instance_id, 0, "render_receipt", None)
    running = replace(record, runtime_status=RuntimeStatus.RUNNING)
    with pytest.raises(PayloadTooLarge, match="the output"):
        await hub.complete_orchestration_work(item, Commit(
            replace(running, output=big), new_history=[start.event], activities=[task]))
    assert (await hub.get_instance(record.instance_id)).runtime_status == RuntimeStatus.PENDING
    assert await hub.get_history(record.instance_id) == []
    assert await hub.fetch_activity_work(0.2) is None
    # Still leased: the same item commits once its state fits, at the limit exactly.
    at_limit = '"' + "x" * (MAX_PAYLOAD_BYTES - 2) + '"'
    await hub.complete_orchestration_work(item, Commit(
        replace(running, output=at_limit), new_history=[start.event], activities=[task]))
    assert (await hub.get_instance(record.instance_id)).output == at_limit

    work = await hub.fetch_activity_work(WORK_WAIT)
    assert work is not None
    with pytest.raises(PayloadTooLarge, match="an activity result"):
        await hub.complete_activity_work(work, Message(
            record.instance_id, protocol.task_completed(0, big, backend.now())))
    small = Message(record.instance_id, protocol.task_completed(0, '"ok"', backend.now()))
    await hub.complete_activity_work(work, small)
    assert (await fetch(hub)).messages[0].event == small.event


async def test_result_over_the_limit_fails_only_its_instance(
        runtime: DurableRuntime) -> None:
    """An activity result over the limit fails its orchestration with the reason; another
    orchestration on the same runtime completes."""
    other = await run(runtime, "small_steps", 5)
    failing = await run(runtime, "big_result", OVER)
    failed = await runtime.client.wait_for(failing, timeout=60)
    assert failed.runtime_status == RuntimeStatus.FAILED
    assert "make_text" in (failed.output or "")
    assert "over the task hub's limit" in (failed.output or "")
    done = await runtime.client.wait_for(other, timeout=30)
    assert (done.runtime_status, done.output) == (RuntimeStatus.COMPLETED, "10")


async def test_state_over_the_limit_fails_only_its_instance(
        runtime: DurableRuntime) -> None:
    """An orchestration whose state cannot be committed (its output is over the limit) ends
    Failed with the reason, and the runtime keeps serving other instances."""
    failing = await run(runtime, "big_output", OVER)
    failed = await runtime.client.wait_for(failing, timeout=60)
    assert failed.runtime_status == RuntimeStatus.FAILED
    assert "state cannot be stored" in (failed.output or "")
    assert "the output" in (failed.output or "")
    history = await runtime.client.get_history(failing)
    assert history[-2]["EventType"] == protocol.EventType.EXECUTION_FAILED
    after = await run(runtime, "small_steps", 3)
    done = await runtime.client.wait_for(after, timeout=30)
    assert (done.runtime_status, done.output) == (RuntimeStatus.COMPLETED, "3")


# Large payloads on Azure Storage ----------------------------------------------------------

@pytest.mark.azurite
async def test_five_mb_result_completes_on_azurite_beside_other_work(
        azurite: AzuriteProcess, payload_app: Any) -> None:
    """A 5 MB activity result travels through a blob, the orchestration completes with it,
    an orchestration started beside it completes too, and purging removes its blobs."""
    hub = AzureStorageTaskHub(azurite.connection_string, f"big{uuid.uuid4().hex[:10]}",
                              visibility_timeout=10, **FAST_POLL)
    runtime = DurableRuntime(hub, payload_app.orchestrators, payload_app.activities)
    await runtime.start()
    try:
        other = await run(runtime, "small_steps", 20)
        big = await run(runtime, "big_result", FIVE_MB)
        record = await runtime.client.wait_for(big, timeout=60)
        assert record.runtime_status == RuntimeStatus.COMPLETED
        assert record.output == json.dumps("x" * FIVE_MB)
        history = await runtime.client.get_history(big)
        completed = [e for e in history if e["EventType"] == protocol.EventType.TASK_COMPLETED]
        assert len(completed[0]["Result"]) == FIVE_MB + 2
        assert await hub._blobs.names(big)  # kept as blobs, not in rows or messages
        done = await runtime.client.wait_for(other, timeout=30)
        assert (done.runtime_status, done.output) == (RuntimeStatus.COMPLETED, "190")
        await runtime.client.purge(big)
        assert await hub._blobs.names(big) == []
    finally:
        await runtime.stop()


# Storage names and foreign messages -------------------------------------------------------

def durable_task_names(hub_name: str) -> set[str]:
    """What Durable Task's Azure Storage provider names its storage for ``hub_name``."""
    lower = hub_name.lower()
    return ({f"{hub_name}{table}" for table in ("Instances", "History", "Partitions")}
            | {f"{lower}-control-{n:02d}" for n in range(16)}
            | {f"{lower}-{suffix}" for suffix in
               ("workitems", "leases", "applease", "largemessages")})


def host_names(hub_name: str) -> set[str]:
    """This host's table, queue and container names for ``hub_name``."""
    names = StorageNames.for_hub(hub_name)
    return {names.instances_table, names.control_queue, names.work_item_queue,
            names.payloads_container}


HUB_NAMES = ["TestHubName", "MyHub", "myhub", "OrderFlowHub", "abc", "MyHubDevhost",
             "Devhost", "H" + "x" * 44]


def test_storage_names_never_match_durable_tasks() -> None:
    """For any pair of valid hub names, no name of this host equals (ignoring case) a name
    Durable Task's provider uses, and each fits Azure's naming rules."""
    theirs = {name.lower() for hub_name in HUB_NAMES for name in durable_task_names(hub_name)}
    for hub_name in HUB_NAMES:
        ours = host_names(hub_name)
        assert not {name.lower() for name in ours} & theirs, hub_name
        names = StorageNames.for_hub(hub_name)
        assert names.instances_table.isalnum() and len(names.instances_table) <= 63
        for name in (names.control_queue, names.work_item_queue, names.payloads_container):
            assert name == name.lower() and 3 <= len(name) <= 63 and "--" not in name


@pytest.mark.parametrize("hub_name", ["My-Hub", "my_hub", "1hub", "ab", "H" + "x" * 45, ""])
def test_invalid_hub_names_are_refused_not_rewritten(hub_name: str) -> None:
    """A hub name Azure refuses is refused with a clear message, not reduced to another."""
    with pytest.raises(ValueError, match="task hub name"):
        StorageNames.for_hub(hub_name)


@pytest.mark.azurite
async def test_messages_the_host_did_not_write_stay_in_its_queues(
        azurite: AzuriteProcess) -> None:
    """Messages of another writer in the host's queues are left there, and the hub still
    works its own messages."""
    backend = Backend("azurite", SystemClock(), azurite)
    hub = await backend.new_hub()
    assert isinstance(hub, AzureStorageTaskHub)
    foreign = ["not json at all", json.dumps({"instanceId": "x", "messageId": "y",
                                              "event": {"EventType": 0}})]
    queues = [QueueClient.from_connection_string(azurite.connection_string, name)
              for name in (hub.names.control_queue, hub.names.work_item_queue)]
    try:
        for queue in queues:
            for text in foreign:
                await queue.send_message(text)
        record, start = await create(hub, backend)
        item = await fetch(hub)
        assert [m.message_id for m in item.messages] == [start.message_id]
        await hub.complete_orchestration_work(item, Commit(
            replace(record, runtime_status=RuntimeStatus.COMPLETED),
            new_history=[start.event]))
        assert await hub.fetch_activity_work(0.3) is None
        await hub.close()
        await asyncio.sleep(0.2)
        for queue in queues:
            left = [message.content async for message in queue.receive_messages(
                messages_per_page=32, visibility_timeout=1)]
            assert sorted(left) == sorted(foreign), queue.queue_name
    finally:
        for queue in queues:
            await queue.close()
        await hub.close()
