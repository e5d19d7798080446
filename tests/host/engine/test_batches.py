"""Several retry steps in one work item: split into episodes so the SDK's ids agree.

The engine is cranked by hand, so both failures (and later both retry timers) are
certainly in the same work item.
"""

import json

import pytest

from devhost.engine.protocol import ATTEMPT, RETRY_FOR, RETRY_OF, EventType
from devhost.taskhub.base import RuntimeStatus
from tests.support.engine import assert_durable_shape, episodes, kinds, of_kind

E = EventType
OS, OC = E.ORCHESTRATOR_STARTED, E.ORCHESTRATOR_COMPLETED


async def start(idle_runtime, crank, name, unique, specs):
    """Start ``name`` and crank it to where its two retried activities are scheduled."""
    if name == "retry_fan_out":
        return await idle_runtime.client.start_new(name, unique, json.dumps(specs)), 0
    # The first execution runs one activity, then continues as new.
    instance = await idle_runtime.client.start_new(
        name, unique, json.dumps({"generation": 0, "specs": specs}))
    await crank.episode()
    await crank.run_activities(1)
    await crank.episode()
    assert (await crank.hub.get_instance(instance)).runtime_status == (
        RuntimeStatus.CONTINUED_AS_NEW)
    return instance, 1


@pytest.mark.parametrize("name", ["retry_fan_out", "fresh_retry_fan_out"])
async def test_two_failures_in_one_item_take_two_episodes(idle_runtime, crank, clock, unique,
                                                          name):
    """Both failures and both retry timers are recorded one per episode, with SDK ids."""
    specs = [{"key": f"{unique}-{i}", "fail_times": 1, "attempts": 3, "interval_ms": 1000}
             for i in range(2)]
    instance, _ = await start(idle_runtime, crank, name, unique, specs)
    await crank.episode()
    history = await crank.hub.get_history(instance)
    assert [e["EventId"] for e in of_kind(history, E.TASK_SCHEDULED)] == [0, 1]

    await crank.run_activities(2)  # both fail
    commit = await crank.episode()
    assert kinds(commit.new_history) == [OS, E.TASK_FAILED, E.TIMER_CREATED, OC,
                                         OS, E.TASK_FAILED, E.TIMER_CREATED, OC]
    timers = of_kind(commit.new_history, E.TIMER_CREATED)
    assert [(t["EventId"], t[RETRY_FOR]) for t in timers] == [(2, 0), (3, 1)]
    assert commit.record.runtime_status == RuntimeStatus.RUNNING

    await clock.advance(seconds=1)
    commit = await crank.episode()
    assert kinds(commit.new_history) == [OS, E.TIMER_FIRED, E.TASK_SCHEDULED, OC,
                                         OS, E.TIMER_FIRED, E.TASK_SCHEDULED, OC]
    again = of_kind(commit.new_history, E.TASK_SCHEDULED)
    assert [(t["EventId"], t[RETRY_OF], t[ATTEMPT]) for t in again] == [(4, 0, 2), (5, 1, 2)]

    await crank.run_activities(2)  # both succeed
    await crank.episode()
    await crank.run_activities(1)  # hello "after", scheduled as task 6
    await crank.episode()
    record = await crank.hub.get_instance(instance)
    assert record.runtime_status == RuntimeStatus.COMPLETED
    assert json.loads(record.output) == [f"{unique}-0 ok on attempt 2",
                                         f"{unique}-1 ok on attempt 2", "Hello after!"]
    history = await crank.hub.get_history(instance)
    assert of_kind(history, E.TASK_SCHEDULED)[-1]["EventId"] == 6
    assert_durable_shape(history)
    assert await crank.no_orchestration_work()


async def test_plain_result_and_retry_step_share_one_episode(idle_runtime, crank, unique):
    """One retry step with a plain result: one episode, the plain event first."""
    specs = [{"key": f"{unique}-0", "fail_times": 1, "attempts": 2, "interval_ms": 1000},
             {"key": f"{unique}-1", "fail_times": 0, "attempts": 2, "interval_ms": 1000}]
    instance = await idle_runtime.client.start_new("retry_fan_out", unique, json.dumps(specs))
    await crank.episode()
    await crank.run_activities(2)
    commit = await crank.episode()
    assert kinds(commit.new_history) == [OS, E.TASK_COMPLETED, E.TASK_FAILED,
                                         E.TIMER_CREATED, OC]
    assert len(episodes(await crank.hub.get_history(instance))) == 2
