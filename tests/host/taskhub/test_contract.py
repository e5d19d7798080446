"""The task hub contract, run against every backend (see conftest.py).

Each test states one promise of ``devhost.taskhub.base.TaskHub``; both the in-memory hub
and the Azure Storage hub on Azurite must keep it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from devhost.engine import protocol
from devhost.errors import InstanceExists, LockLost, StorageUnavailable
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import (
    ActivityTask,
    Commit,
    InstanceRecord,
    Message,
    OrchestrationWorkItem,
    RuntimeStatus,
    TaskHub,
)
from devhost.taskhub.base import (
    InstanceQuery as Q,
)
from tests.support.backends import FAST_POLL, Backend

WORK_WAIT = 5.0  # how long a fetch may wait for work that is there or due
IDLE_WAIT = 0.3  # how long a fetch waits to show that nothing is handed out
PENDING = frozenset({RuntimeStatus.PENDING})
COMPLETED = frozenset({RuntimeStatus.COMPLETED})


# Helpers -----------------------------------------------------------------------------------

def new_id(prefix: str = "order") -> str:
    """A unique instance id."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_record(backend: Backend, instance_id: str, **changes: object) -> InstanceRecord:
    """A Pending record created now."""
    now = backend.now()
    record = InstanceRecord(instance_id=instance_id, name="order_flow",
                            runtime_status=RuntimeStatus.PENDING, created_at=now,
                            updated_at=now, input='{"order": 1}')
    return replace(record, **changes)  # type: ignore[arg-type]


def start_message(backend: Backend, record: InstanceRecord) -> Message:
    """The ExecutionStarted message for ``record``."""
    return Message(record.instance_id, protocol.execution_started(
        record.name, record.instance_id, record.input, backend.now()))


async def create(hub: TaskHub, backend: Backend, instance_id: str | None = None
                 ) -> tuple[InstanceRecord, Message]:
    """Create an instance; its record and start message."""
    record = make_record(backend, instance_id or new_id())
    start = start_message(backend, record)
    await hub.create_instance(record, start)
    return record, start


def raised(backend: Backend, instance_id: str, name: str = "paid",
           data: str | None = '"yes"') -> Message:
    """An external event message."""
    return Message(instance_id, protocol.event_raised(name, data, backend.now()))


def episode(backend: Backend, *events: dict) -> list[dict]:
    """An episode's history: OrchestratorStarted, the events, OrchestratorCompleted."""
    now = backend.now()
    return [protocol.orchestrator_started(now), *events, protocol.orchestrator_completed(now)]


async def fetch(hub: TaskHub, wait: float = WORK_WAIT) -> OrchestrationWorkItem:
    """The next orchestration work item, which must come within ``wait``."""
    item = await hub.fetch_orchestration_work(wait)
    assert item is not None, "expected an orchestration work item"
    return item


async def fetch_for(hub: TaskHub, instance_id: str) -> OrchestrationWorkItem:
    """Fetch until ``instance_id``'s item comes; items of others are held, then abandoned."""
    held: list[OrchestrationWorkItem] = []
    try:
        while True:
            item = await fetch(hub)
            if item.instance_id == instance_id:
                return item
            held.append(item)  # keeping the lease makes the next fetch pick someone else
    finally:
        for other in held:
            await hub.abandon_orchestration_work(other)


async def run_to(hub: TaskHub, item: OrchestrationWorkItem, status: RuntimeStatus,
                 **changes: object) -> tuple[InstanceRecord, list[dict]]:
    """Complete ``item`` by recording its messages' events and saving ``status``."""
    assert item.record is not None
    record = replace(item.record, runtime_status=status, **changes)  # type: ignore[arg-type]
    history = [m.event for m in item.messages]
    await hub.complete_orchestration_work(item, Commit(record, new_history=history))
    return record, history


def ids(messages: list[Message]) -> list[str]:
    """Message ids, in order."""
    return [m.message_id for m in messages]


# Instances and episodes --------------------------------------------------------------------

async def test_round_trip_appends_history_in_order_and_saves_record(
        hub: TaskHub, backend: Backend) -> None:
    """Create, fetch, complete twice: history grows episode by episode and the record is saved."""
    record, start = await create(hub, backend)
    item = await fetch(hub)
    assert item.instance_id == record.instance_id
    assert ids(item.messages) == [start.message_id]
    assert item.messages[0].event == start.event
    assert item.record == record
    assert item.history == []

    first = episode(backend, start.event)
    running = replace(record, runtime_status=RuntimeStatus.RUNNING, custom_status='"cooking"')
    await hub.complete_orchestration_work(item, Commit(running, new_history=first))
    assert await hub.get_instance(record.instance_id) == running
    assert await hub.get_history(record.instance_id) == first

    event = raised(backend, record.instance_id)
    await hub.send([event])
    item = await fetch(hub)
    assert ids(item.messages) == [event.message_id]
    assert item.history == first
    second = episode(backend, event.event)
    done = replace(running, runtime_status=RuntimeStatus.COMPLETED, output='"served"')
    await hub.complete_orchestration_work(item, Commit(done, new_history=second))
    assert await hub.get_history(record.instance_id) == first + second
    assert await hub.get_instance(record.instance_id) == done


async def test_consumed_messages_do_not_come_back(backend: Backend) -> None:
    """After a commit its messages are deleted, not merely hidden for a while."""
    hub = await backend.new_hub(visibility_timeout=1)
    record, _ = await create(hub, backend)
    await run_to(hub, await fetch(hub), RuntimeStatus.RUNNING)
    await backend.pass_time(1.5)  # past the visibility timeout
    assert await hub.fetch_orchestration_work(IDLE_WAIT) is None
    assert (await hub.get_instance(record.instance_id)).runtime_status == RuntimeStatus.RUNNING


async def test_create_refuses_an_instance_that_has_not_ended(
        hub: TaskHub, backend: Backend) -> None:
    """InstanceExists for a Pending or Running instance of the same id."""
    record, _ = await create(hub, backend)
    with pytest.raises(InstanceExists):
        await create(hub, backend, record.instance_id)
    await run_to(hub, await fetch(hub), RuntimeStatus.RUNNING)
    with pytest.raises(InstanceExists):
        await create(hub, backend, record.instance_id)


async def test_create_replaces_an_ended_instance_and_its_history(
        hub: TaskHub, backend: Backend) -> None:
    """An ended instance is replaced: new record, empty history, the new start handed out."""
    record, _ = await create(hub, backend)
    await run_to(hub, await fetch(hub), RuntimeStatus.COMPLETED)
    assert await hub.get_history(record.instance_id) != []

    again, start = await create(hub, backend, record.instance_id)
    assert await hub.get_instance(record.instance_id) == again
    assert again.execution_id != record.execution_id
    assert await hub.get_history(record.instance_id) == []
    item = await fetch(hub)
    assert ids(item.messages) == [start.message_id]
    assert item.history == []
    _, history = await run_to(hub, item, RuntimeStatus.RUNNING)
    assert await hub.get_history(record.instance_id) == history


async def test_messages_for_an_unknown_instance_come_without_record(
        hub: TaskHub, backend: Backend) -> None:
    """A message for an instance that does not exist is handed out with no record."""
    event = raised(backend, new_id("ghost"))
    await hub.send([event])
    item = await fetch(hub)
    assert item.record is None
    assert item.history == []
    assert ids(item.messages) == [event.message_id]


async def test_complete_without_record_only_deletes_messages(
        hub: TaskHub, backend: Backend) -> None:
    """With record None nothing is written and the messages are gone."""
    record, _ = await create(hub, backend)
    _, history = await run_to(hub, await fetch(hub), RuntimeStatus.COMPLETED)
    stale = raised(backend, record.instance_id)
    await hub.send([stale])
    item = await fetch(hub)
    await hub.complete_orchestration_work(item, Commit(None, new_history=[{"ignored": True}]))
    assert await hub.get_history(record.instance_id) == history
    assert (await hub.get_instance(record.instance_id)).runtime_status == RuntimeStatus.COMPLETED
    assert await hub.fetch_orchestration_work(IDLE_WAIT) is None


async def test_continue_as_new_replaces_history(hub: TaskHub, backend: Backend) -> None:
    """replace_history drops the old history; later episodes append to the new one."""
    record, start = await create(hub, backend)
    item = await fetch(hub)
    await hub.complete_orchestration_work(item, Commit(
        replace(record, runtime_status=RuntimeStatus.RUNNING), new_history=episode(backend,
        start.event)))
    await hub.send([raised(backend, record.instance_id)])
    item = await fetch(hub)
    assert item.record is not None
    fresh = episode(backend, protocol.execution_started(record.name, record.instance_id,
                                                        '"next"', backend.now()))
    await hub.complete_orchestration_work(item, Commit(
        item.record, new_history=fresh, replace_history=True))
    assert await hub.get_history(record.instance_id) == fresh

    event = raised(backend, record.instance_id, "again")
    await hub.send([event])
    item = await fetch(hub)
    assert item.history == fresh
    more = episode(backend, event.event)
    assert item.record is not None
    await hub.complete_orchestration_work(item, Commit(item.record, new_history=more))
    assert await hub.get_history(record.instance_id) == fresh + more


async def test_fetch_without_waiting_still_hands_out_queued_work(
        hub: TaskHub, backend: Backend) -> None:
    """wait_seconds=0 looks once: work already queued is handed out, none means None."""
    record, start = await create(hub, backend)
    item = await hub.fetch_orchestration_work(0)
    assert item is not None and ids(item.messages) == [start.message_id]
    task = ActivityTask(record.instance_id, 1, "notify", None)
    assert item.record is not None
    await hub.complete_orchestration_work(item, Commit(item.record, activities=[task]))
    assert await hub.fetch_orchestration_work(0) is None
    work = await hub.fetch_activity_work(0)
    assert work is not None and work.task == task


# Leases ------------------------------------------------------------------------------------

async def test_messages_arriving_during_a_lease_come_with_the_next_fetch(
        hub: TaskHub, backend: Backend) -> None:
    """An event sent while the instance is leased waits, then is handed out, not lost."""
    record, _ = await create(hub, backend)
    item = await fetch(hub)
    late = raised(backend, record.instance_id)
    await hub.send([late])
    assert await hub.fetch_orchestration_work(IDLE_WAIT) is None  # still leased
    _, history = await run_to(hub, item, RuntimeStatus.RUNNING)
    item = await fetch(hub)
    assert ids(item.messages) == [late.message_id]
    assert item.history == history


async def test_one_instance_is_never_leased_twice_at_once(
        hub: TaskHub, backend: Backend) -> None:
    """Of several concurrent fetches for one busy instance exactly one gets it."""
    record, start = await create(hub, backend)
    events = [raised(backend, record.instance_id, f"e{n}") for n in range(4)]
    await hub.send(events)
    results = await asyncio.gather(*(hub.fetch_orchestration_work(1.0) for _ in range(3)))
    items = [r for r in results if r is not None]
    assert len(items) == 1
    # Whatever the first lease did not take comes with the next one, nothing twice.
    seen = ids(items[0].messages)
    await run_to(hub, items[0], RuntimeStatus.RUNNING)
    while len(seen) < 5:
        item = await fetch(hub)
        seen += ids(item.messages)
        await run_to(hub, item, RuntimeStatus.RUNNING)
    assert sorted(seen) == sorted([start.message_id, *ids(events)])


async def test_abandon_hands_the_messages_out_again(hub: TaskHub, backend: Backend) -> None:
    """Abandoned messages come back with the next fetch; nothing was written."""
    record, start = await create(hub, backend)
    item = await fetch(hub)
    await hub.abandon_orchestration_work(item)
    again = await fetch(hub)
    assert ids(again.messages) == [start.message_id]
    assert again.record == record
    assert await hub.get_history(record.instance_id) == []


async def test_abandon_with_delay_hides_the_messages_until_then(
        hub: TaskHub, backend: Backend) -> None:
    """retry_after_seconds keeps the messages back for that long."""
    _, start = await create(hub, backend)
    await hub.abandon_orchestration_work(await fetch(hub), retry_after_seconds=2)
    assert await hub.fetch_orchestration_work(IDLE_WAIT) is None
    await backend.pass_time(2)
    assert ids((await fetch(hub)).messages) == [start.message_id]


async def test_commit_loses_to_a_second_writer(hub: TaskHub, backend: Backend) -> None:
    """LockLost when the record changed since the fetch; nothing of the loser is visible."""
    record, _ = await create(hub, backend)
    _, history = await run_to(hub, await fetch(hub), RuntimeStatus.COMPLETED)
    await hub.send([raised(backend, record.instance_id)])
    item = await fetch(hub)
    # The second writer: the ended instance is started again while the item is leased.
    newer, start = await create(hub, backend, record.instance_id)
    losing = replace(record, runtime_status=RuntimeStatus.FAILED, output='"loser"')
    with pytest.raises(LockLost):
        await hub.complete_orchestration_work(item, Commit(
            losing, new_history=episode(backend, {"loser": True})))
    assert await hub.get_history(record.instance_id) == []
    assert await hub.get_instance(record.instance_id) == newer
    # The lease is released and the new execution's start is handed out.
    handed_out: list[str] = []
    while start.message_id not in handed_out:
        next_item = await fetch(hub)
        handed_out += ids(next_item.messages)
        await hub.complete_orchestration_work(next_item, Commit(None))
    assert history  # the first execution did write something that is now gone


async def test_commit_after_purge_loses(hub: TaskHub, backend: Backend) -> None:
    """A purge during the lease counts as a change: the commit does not bring it back."""
    record, _ = await create(hub, backend)
    item = await fetch(hub)
    assert await hub.purge_instance(record.instance_id)
    with pytest.raises(LockLost):
        await run_to(hub, item, RuntimeStatus.RUNNING)
    assert await hub.get_instance(record.instance_id) is None
    assert await hub.get_history(record.instance_id) == []


# Timers ------------------------------------------------------------------------------------

async def test_timer_is_not_handed_out_early_and_is_once_due(
        hub: TaskHub, backend: Backend) -> None:
    """A message visible from a later moment waits for it; due work meanwhile flows."""
    record, _ = await create(hub, backend)
    await run_to(hub, await fetch(hub), RuntimeStatus.RUNNING)
    fire_at = backend.now() + timedelta(seconds=1.5)
    timer = Message(record.instance_id, protocol.timer_fired(0, fire_at, fire_at),
                    visible_at=fire_at)
    _, other_start = await create(hub, backend)
    await hub.send([timer])
    item = await fetch(hub)
    assert ids(item.messages) == [other_start.message_id]  # not held up by the timer
    assert await hub.fetch_orchestration_work(IDLE_WAIT) is None
    await backend.pass_time(1.5)
    item = await fetch(hub)
    assert ids(item.messages) == [timer.message_id]
    assert backend.now() >= fire_at


async def test_timer_days_away_is_accepted_and_held(hub: TaskHub, backend: Backend) -> None:
    """A timer past the queue's 7-day visibility limit is sent and not handed out."""
    far = backend.now() + timedelta(days=30)
    await hub.send([Message(new_id(), protocol.timer_fired(0, far, far), visible_at=far)])
    assert await hub.fetch_orchestration_work(IDLE_WAIT) is None


# Activities --------------------------------------------------------------------------------

async def test_activity_round_trip(hub: TaskHub, backend: Backend) -> None:
    """A scheduled task is fetched, its result goes to the instance, the task is gone."""
    record, start = await create(hub, backend)
    item = await fetch(hub)
    task = ActivityTask(record.instance_id, 1, "charge_card", '{"amount": 12}')
    await hub.complete_orchestration_work(item, Commit(
        replace(record, runtime_status=RuntimeStatus.RUNNING), new_history=episode(backend,
        start.event), activities=[task]))
    work = await hub.fetch_activity_work(WORK_WAIT)
    assert work is not None
    assert work.task == task
    assert work.dequeue_count >= 1
    result = Message(record.instance_id, protocol.task_completed(1, '"ok"', backend.now()))
    await hub.complete_activity_work(work, result)
    item = await fetch(hub)
    assert ids(item.messages) == [result.message_id]
    assert await hub.fetch_activity_work(IDLE_WAIT) is None


async def test_outbound_messages_reach_other_instances(hub: TaskHub, backend: Backend) -> None:
    """``outbound`` messages of a commit are handed out to their instances."""
    parent, _ = await create(hub, backend)
    item = await fetch(hub)
    child_id = new_id("child")
    note = raised(backend, child_id, "hello")
    assert item.record is not None
    await hub.complete_orchestration_work(item, Commit(item.record, outbound=[note]))
    child_item = await fetch(hub)
    assert child_item.instance_id == child_id
    assert ids(child_item.messages) == [note.message_id]
    assert parent.instance_id != child_id


async def test_abandoned_activity_runs_again(hub: TaskHub, backend: Backend) -> None:
    """An abandoned task is handed out again; with a delay only after it."""
    record, _ = await create(hub, backend)
    item = await fetch(hub)
    task = ActivityTask(record.instance_id, 1, "notify", None)
    assert item.record is not None
    await hub.complete_orchestration_work(item, Commit(item.record, activities=[task]))
    work = await hub.fetch_activity_work(WORK_WAIT)
    assert work is not None
    await hub.abandon_activity_work(work)
    work = await hub.fetch_activity_work(WORK_WAIT)
    assert work is not None and work.task == task
    await hub.abandon_activity_work(work, retry_after_seconds=1.5)
    assert await hub.fetch_activity_work(IDLE_WAIT) is None
    await backend.pass_time(1.5)
    work = await hub.fetch_activity_work(WORK_WAIT)
    assert work is not None and work.task == task


# Queries and purge -------------------------------------------------------------------------

async def test_query_by_status_and_created_time(hub: TaskHub, backend: Backend) -> None:
    """Filters combine; results come oldest first."""
    base = backend.now().replace(microsecond=0) - timedelta(hours=10)
    made = []
    for hours in (3, 1, 2):
        record = make_record(backend, new_id(), created_at=base + timedelta(hours=hours))
        await hub.create_instance(record, start_message(backend, record))
        made.append(record)
    late, early, middle = made
    await run_to(hub, await fetch_for(hub, middle.instance_id), RuntimeStatus.COMPLETED)

    def names(records: list[InstanceRecord]) -> list[str]:
        return [r.instance_id for r in records]

    assert names(await hub.query_instances()) == names([early, middle, late])
    assert names(await hub.query_instances(Q(statuses=PENDING))) == names([early, late])
    assert names(await hub.query_instances(Q(statuses=COMPLETED))) == names([middle])
    both = PENDING | COMPLETED
    assert names(await hub.query_instances(Q(statuses=both))) == names([early, middle, late])
    assert names(await hub.query_instances(Q(statuses=frozenset()))) == []
    assert names(await hub.query_instances(Q(
        created_from=base + timedelta(hours=2)))) == names([middle, late])
    assert names(await hub.query_instances(Q(
        created_to=base + timedelta(hours=2)))) == names([early, middle])
    assert names(await hub.query_instances(Q(
        PENDING, base + timedelta(hours=2), base + timedelta(hours=3)))
    ) == names([late])


async def test_instance_ids_are_data_not_query_text(hub: TaskHub, backend: Backend) -> None:
    """Ids with quotes, slashes and query syntax round-trip and never widen a query."""
    tricky = "o'r' or RowKey ne '' /a\\b#c?d%2F\x01"
    record, start = await create(hub, backend, tricky)
    other, _ = await create(hub, backend)
    assert await hub.get_instance(tricky) == record
    item = await fetch_for(hub, tricky)
    assert ids(item.messages) == [start.message_id]
    _, history = await run_to(hub, item, RuntimeStatus.COMPLETED)
    assert await hub.get_history(tricky) == history
    assert [r.instance_id for r in await hub.query_instances(Q(statuses=COMPLETED))] == [
        tricky]
    assert await hub.get_instance(tricky + "x") is None
    assert other.instance_id != tricky


async def test_purge_removes_record_and_history(hub: TaskHub, backend: Backend) -> None:
    """Purge forgets the instance; a second purge finds nothing."""
    record, _ = await create(hub, backend)
    await run_to(hub, await fetch(hub), RuntimeStatus.COMPLETED)
    assert await hub.purge_instance(record.instance_id) is True
    assert await hub.get_instance(record.instance_id) is None
    assert await hub.get_history(record.instance_id) == []
    assert await hub.query_instances() == []
    assert await hub.purge_instance(record.instance_id) is False


# Size limits -------------------------------------------------------------------------------

def _big_text(chars: int) -> str:
    """JSON text of about ``chars`` characters, non-ASCII included."""
    unit = "order-ü-€-😀-"
    return '"' + (unit * (chars // len(unit) + 1))[:chars] + '"'


async def test_large_history_chunk_round_trips(hub: TaskHub, backend: Backend) -> None:
    """An episode with far more than 64 KiB of events is stored and read back intact."""
    record, start = await create(hub, backend)
    item = await fetch(hub)
    events = [start.event] + [
        protocol.task_completed(n, _big_text(60_000), backend.now()) for n in range(5)]
    big = episode(backend, *events)
    assert item.record is not None
    await hub.complete_orchestration_work(item, Commit(item.record, new_history=big))
    assert await hub.get_history(record.instance_id) == big
    await hub.send([raised(backend, record.instance_id)])
    assert (await fetch(hub)).history == big


async def test_large_record_and_messages_round_trip(hub: TaskHub, backend: Backend) -> None:
    """Inputs, outputs and messages over the 64 KiB limits survive unchanged."""
    big_input = _big_text(100_000)
    record = make_record(backend, new_id(), input=big_input)
    start = start_message(backend, record)
    await hub.create_instance(record, start)
    item = await fetch(hub)
    assert item.messages[0].event == start.event
    assert item.record is not None and item.record.input == big_input
    task = ActivityTask(record.instance_id, 1, "render_receipt", big_input)
    await hub.complete_orchestration_work(item, Commit(
        replace(record, output=_big_text(70_000)), activities=[task]))
    assert (await hub.get_instance(record.instance_id)).output == _big_text(70_000)
    work = await hub.fetch_activity_work(WORK_WAIT)
    assert work is not None and work.task == task
    result = Message(record.instance_id, protocol.task_completed(1, big_input, backend.now()))
    await hub.complete_activity_work(work, result)
    assert (await fetch(hub)).messages[0].event == result.event


# At least once (Azure Storage only: memory leases never time out) --------------------------

@pytest.mark.azurite
async def test_redelivery_after_visibility_timeout(azurite: AzuriteProcess) -> None:
    """A host that fetched and died: another one gets the message once its visibility ends.

    The crashed host's late commit then loses, and only the survivor's episode is kept.
    """
    name = f"redeliver{uuid.uuid4().hex[:8]}"
    crashed = AzureStorageTaskHub(azurite.connection_string, name, visibility_timeout=1,
                                  **FAST_POLL)
    survivor = AzureStorageTaskHub(azurite.connection_string, name, visibility_timeout=1,
                                   **FAST_POLL)
    try:
        await crashed.start()
        backend = Backend("azurite", crashed.clock, azurite)
        record, start = await create(crashed, backend)
        lost = await fetch(crashed)
        began = time.monotonic()
        item = await fetch(survivor)
        assert time.monotonic() - began >= 0.5  # only after the visibility timeout
        assert ids(item.messages) == [start.message_id]
        _, history = await run_to(survivor, item, RuntimeStatus.RUNNING)
        with pytest.raises(LockLost):
            await run_to(crashed, lost, RuntimeStatus.FAILED)
        assert await survivor.get_history(record.instance_id) == history
        assert (await survivor.get_instance(record.instance_id)).runtime_status == (
            RuntimeStatus.RUNNING)
    finally:
        await crashed.close()
        await survivor.close()


@pytest.mark.azurite
async def test_storage_outage_raises_storage_unavailable_then_recovers(tmp_path) -> None:
    """With Azurite stopped calls fail fast with StorageUnavailable; after a restart on the
    same ports and folder the hub carries on with its data."""
    with AzuriteProcess(tmp_path / "azurite") as storage:
        hub = AzureStorageTaskHub(storage.connection_string, "outage", retry_total=0,
                                  **FAST_POLL)
        try:
            await hub.start()
            backend = Backend("azurite", hub.clock, storage)
            record, _ = await create(hub, backend)
            storage.stop()
            began = time.monotonic()
            with pytest.raises(StorageUnavailable):
                await hub.get_instance(record.instance_id)
            with pytest.raises(StorageUnavailable):
                await hub.fetch_orchestration_work(IDLE_WAIT)
            with pytest.raises(StorageUnavailable):
                await hub.send([raised(backend, record.instance_id)])
            assert time.monotonic() - began < 10
            storage.start()
            assert await hub.get_instance(record.instance_id) == record
            item = await fetch(hub)
            assert item.instance_id == record.instance_id
        finally:
            await hub.close()


@pytest.mark.azurite
async def test_a_host_that_missed_another_hosts_commit_loses_then_catches_up(
        azurite: AzuriteProcess) -> None:
    """Two hosts on one hub: one that remembers an old state loses its commit and then
    works from the history as stored, so no episode is lost or doubled."""
    name = f"twohosts{uuid.uuid4().hex[:8]}"
    first = AzureStorageTaskHub(azurite.connection_string, name, **FAST_POLL)
    second = AzureStorageTaskHub(azurite.connection_string, name, **FAST_POLL)
    try:
        await first.start()
        backend = Backend("azurite", first.clock, azurite)
        record, _ = await create(first, backend)
        _, one = await run_to(first, await fetch(first), RuntimeStatus.RUNNING)
        await second.send([raised(backend, record.instance_id, "a")])
        _, two = await run_to(second, await fetch(second), RuntimeStatus.RUNNING)
        await second.send([raised(backend, record.instance_id, "b")])
        stale = await fetch(first)
        assert stale.history == one  # it only knows its own commit
        with pytest.raises(LockLost):
            await run_to(first, stale, RuntimeStatus.RUNNING)
        fresh = await fetch(first)
        assert fresh.history == one + two
        _, three = await run_to(first, fresh, RuntimeStatus.COMPLETED)
        assert await second.get_history(record.instance_id) == one + two + three
    finally:
        await first.close()
        await second.close()
