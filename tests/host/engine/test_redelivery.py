"""At-least-once delivery: re-delivered and stray messages change nothing; lost locks retry.

Most tests feed the executor hand-built work items (the hub's record and history, plus the
messages a re-delivery would bring) and look at the commit it returns.
"""

import json

import pytest

from devhost.engine.executor import Episodes
from devhost.engine.protocol import (
    EventType,
    event_raised,
    execution_started,
    sub_orchestration_completed,
    task_completed,
    task_failed,
    timer_fired,
)
from devhost.errors import LockLost
from devhost.taskhub.base import Commit, Message, OrchestrationWorkItem, RuntimeStatus
from devhost.taskhub.memory import MemoryTaskHub
from tests.support.engine import assert_durable_shape, kinds, of_kind

E = EventType


class BumpingHub(MemoryTaskHub):
    """A memory hub on which a test can play "another writer got there first".

    ``bump`` moves the instance's version on, as a commit by another host would (this
    reaches into the hub's version counter: the one thing no public call changes alone).
    With ``bump_on_fetch`` set, the next fetch for that instance that brings an activity
    result is bumped right after it is leased.
    """

    bump_on_fetch: str | None = None
    bumped = 0

    def bump(self, instance_id: str) -> None:
        """Change the instance under any lease taken before now."""
        self._versions[instance_id] += 1
        self.bumped += 1

    async def fetch_orchestration_work(self, wait_seconds: float):
        """Lease as usual; bump once when armed and the item brings an activity result."""
        item = await super().fetch_orchestration_work(wait_seconds)
        if (item is not None and item.instance_id == self.bump_on_fetch
                and any(m.event["EventType"] == E.TASK_COMPLETED for m in item.messages)):
            self.bump_on_fetch = None
            self.bump(item.instance_id)
        return item


@pytest.fixture
def hub(clock):
    """The bumping memory hub (replaces the plain one for these tests)."""
    return BumpingHub(clock)


async def sequence_after_first_result(idle_runtime, crank):
    """A 'sequence' instance whose first result was applied and whose second task runs."""
    instance = await idle_runtime.client.start_new("sequence", None, None)
    await crank.episode()
    await crank.run_activities(1)
    await crank.episode()
    return instance


async def item_with(hub, instance, messages):
    """A work item holding the instance's stored record and history and ``messages``."""
    return OrchestrationWorkItem(instance, messages, await hub.get_instance(instance),
                                 await hub.get_history(instance))


def run(item, samples, hub):
    """The executor's commit for ``item`` at the hub's present time."""
    return Episodes(item, samples.orchestrators, hub.clock.now(), samples.activities).run()


def assert_changes_nothing(commit):
    """The commit only drops its messages: no record, history, messages or activities."""
    assert isinstance(commit, Commit)
    assert commit.record is None
    assert (commit.new_history, commit.outbound, commit.activities) == ([], [], [])


def bare(event):
    """A recorded event as it travelled in its message (without the engine's tag)."""
    return {k: v for k, v in event.items() if k != "MessageId"}


async def test_same_message_again_is_dropped(idle_runtime, crank, hub, samples):
    """A re-delivered message (same MessageId) whose event is already in history is dropped."""
    instance = await sequence_after_first_result(idle_runtime, crank)
    [done] = of_kind(await hub.get_history(instance), E.TASK_COMPLETED)
    again = Message(instance, bare(done), message_id=done["MessageId"])
    assert_changes_nothing(run(await item_with(hub, instance, [again]), samples, hub))


async def test_second_completion_of_a_task_is_dropped(idle_runtime, crank, hub, samples):
    """A second result for a finished task (the activity ran twice) is dropped."""
    instance = await sequence_after_first_result(idle_runtime, crank)
    now = hub.clock.now()
    twice = [Message(instance, task_completed(0, json.dumps("other"), now)),
             Message(instance, task_failed(0, "late failure", None, now))]
    assert_changes_nothing(run(await item_with(hub, instance, twice), samples, hub))


async def test_completion_of_a_task_never_scheduled_is_dropped(idle_runtime, crank, hub,
                                                                samples):
    """Results for ids this history never handed out are strays (a lost commit's)."""
    instance = await sequence_after_first_result(idle_runtime, crank)
    now = hub.clock.now()
    strays = [Message(instance, task_completed(7, '"x"', now)),
              Message(instance, timer_fired(8, now, now)),
              Message(instance, sub_orchestration_completed(9, '"y"', now))]
    assert_changes_nothing(run(await item_with(hub, instance, strays), samples, hub))


async def test_completion_of_the_wrong_kind_is_dropped(idle_runtime, crank, hub, samples):
    """A timer firing or a sub-orchestration result for an activity's id is a stray too."""
    instance = await sequence_after_first_result(idle_runtime, crank)  # task 1 is running
    now = hub.clock.now()
    strays = [Message(instance, timer_fired(1, now, now)),
              Message(instance, sub_orchestration_completed(1, '"y"', now))]
    assert_changes_nothing(run(await item_with(hub, instance, strays), samples, hub))


async def test_result_for_another_execution_is_dropped(idle_runtime, crank, hub, samples):
    """A result addressed to an earlier execution (same task id) never completes this one."""
    instance = await sequence_after_first_result(idle_runtime, crank)  # task 1 is running
    now = hub.clock.now()
    stale = {**task_completed(1, json.dumps("old"), now), "ExecutionId": "an-earlier-one"}
    assert_changes_nothing(run(await item_with(hub, instance, [Message(instance, stale)]),
                               samples, hub))


async def test_activity_tasks_are_addressed_to_their_execution(idle_runtime, crank, hub):
    """Scheduled activities carry the execution id their result must match."""
    instance = await idle_runtime.client.start_new("sequence", None, None)
    await crank.episode()
    leased = await hub.fetch_activity_work(0)
    record = await hub.get_instance(instance)
    assert leased is not None and record is not None
    assert leased.task.execution_id == record.execution_id


async def test_second_execution_started_is_dropped(idle_runtime, crank, hub, samples):
    """A start for an instance that already started changes nothing."""
    instance = await sequence_after_first_result(idle_runtime, crank)
    start = Message(instance, execution_started("sequence", instance, None, hub.clock.now()))
    assert_changes_nothing(run(await item_with(hub, instance, [start]), samples, hub))


async def test_duplicates_beside_a_genuine_result_are_ignored(idle_runtime, crank, hub,
                                                              samples):
    """With stale copies around it, the genuine result is applied exactly once."""
    instance = await sequence_after_first_result(idle_runtime, crank)
    await crank.run_activities(1)  # task 1's result is now waiting in the inbox
    item = await hub.fetch_orchestration_work(0.05)
    [genuine] = item.messages
    [old] = of_kind(item.history, E.TASK_COMPLETED)
    item.messages += [
        Message(instance, bare(old), message_id=old["MessageId"]),
        Message(instance, dict(genuine.event)),  # the same result delivered twice at once
        Message(instance, execution_started("sequence", instance, None, hub.clock.now())),
    ]
    commit = run(item, samples, hub)
    assert [e["TaskScheduledId"] for e in of_kind(commit.new_history, E.TASK_COMPLETED)] == [1]
    assert kinds(commit.new_history) == [E.ORCHESTRATOR_STARTED, E.TASK_COMPLETED,
                                         E.TASK_SCHEDULED, E.ORCHESTRATOR_COMPLETED]
    assert [a.task_id for a in commit.activities] == [2]


async def test_events_before_the_start_wait(idle_runtime, hub, samples):
    """An event for an instance whose ExecutionStarted has not arrived is left for later."""
    instance = await idle_runtime.client.start_new("wait_event", None, None)
    early = Message(instance, event_raised("go", '"early"', hub.clock.now()))
    assert run(await item_with(hub, instance, [early]), samples, hub) is None


async def test_messages_for_an_unknown_instance_are_dropped(hub, samples):
    """Without a record and without a start, messages are strays."""
    stray = Message("nobody", event_raised("go", None, hub.clock.now()))
    item = OrchestrationWorkItem("nobody", [stray], None, [])
    assert_changes_nothing(run(item, samples, hub))


async def test_messages_for_an_ended_instance_are_dropped(idle_runtime, crank, hub, samples):
    """Once completed, an instance takes no more events of any kind."""
    instance = await idle_runtime.client.start_new("wait_event", None, None)
    await idle_runtime.client.raise_event(instance, "go", '"now"')
    await crank.episode()
    assert (await hub.get_instance(instance)).runtime_status == RuntimeStatus.COMPLETED
    late = [Message(instance, event_raised("go", '"late"', hub.clock.now())),
            Message(instance, timer_fired(0, hub.clock.now(), hub.clock.now()))]
    assert_changes_nothing(run(await item_with(hub, instance, late), samples, hub))


async def test_lock_lost_leaves_nothing_and_the_messages_come_back(idle_runtime, crank, hub,
                                                                   samples):
    """A commit refused with LockLost writes nothing; the same messages are fetched again."""
    instance = await idle_runtime.client.start_new("sequence", None, None)
    await crank.episode()
    await crank.run_activities(1)
    record, history = await hub.get_instance(instance), await hub.get_history(instance)

    item = await hub.fetch_orchestration_work(0.05)
    commit = run(item, samples, hub)
    assert commit.activities  # the commit would schedule the next activity
    hub.bump(instance)
    with pytest.raises(LockLost):
        await hub.complete_orchestration_work(item, commit)
    assert await hub.get_history(instance) == history
    assert await hub.get_instance(instance) == record
    assert await hub.fetch_activity_work(0.01) is None

    again = await hub.fetch_orchestration_work(0.05)
    assert [m.message_id for m in again.messages] == [m.message_id for m in item.messages]
    await hub.abandon_orchestration_work(again)
    await crank.episode()
    history = await hub.get_history(instance)
    assert [e["TaskScheduledId"] for e in of_kind(history, E.TASK_COMPLETED)] == [0]
    assert_durable_shape(history, ended=False)


async def test_runtime_recovers_from_a_lost_lock(runtime, hub):
    """The runtime drops a commit that lost its lock; the instance still completes once."""
    hub.bump_on_fetch = "locked"
    await runtime.client.start_new("sequence", "locked", None)
    record = await runtime.client.wait_for("locked")
    assert hub.bumped == 1
    assert json.loads(record.output) == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    history = await runtime.client.get_history("locked")
    assert len(of_kind(history, E.TASK_COMPLETED)) == 3
    assert_durable_shape(history)
