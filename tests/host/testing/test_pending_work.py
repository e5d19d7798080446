"""What the memory hub says about its work, which the test kit runs to idle and skips by."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from devhost.clock import VirtualClock
from devhost.engine.protocol import timer_fired
from devhost.taskhub.base import (
    ActivityTask,
    Commit,
    InstanceRecord,
    Message,
    RuntimeStatus,
)
from devhost.taskhub.memory import MemoryTaskHub, PendingWork
from devhost.testing.virtual_time import VirtualTime


async def started(hub: MemoryTaskHub, clock: VirtualClock, instance_id: str) -> InstanceRecord:
    """An instance created on ``hub``, its start message queued."""
    record = InstanceRecord(instance_id, "orchestrator", RuntimeStatus.PENDING, clock.now(),
                            clock.now())
    await hub.create_instance(record, Message(instance_id, timer_fired(0, clock.now(),
                                                                       clock.now())))
    return record


async def test_queued_leased_and_timed_work_read_as_busy_or_due() -> None:
    """A visible message and a lease are busy; a timer is due later, not busy."""
    clock = VirtualClock()
    hub = MemoryTaskHub(clock)
    assert hub.pending_work().busy is False and hub.pending_work().next_due is None
    record = await started(hub, clock, "a")
    assert hub.pending_work().busy
    item = await hub.fetch_orchestration_work(0)
    assert item is not None and hub.pending_work().busy  # leased: still under way
    fire_at = clock.now() + timedelta(minutes=5)
    timer = Message("a", timer_fired(1, fire_at, fire_at), visible_at=fire_at)
    await hub.complete_orchestration_work(item, Commit(
        replace(record, runtime_status=RuntimeStatus.RUNNING), outbound=[timer]))
    assert hub.pending_work() == PendingWork(busy=False, next_due=fire_at)
    await clock.advance(minutes=5)
    assert hub.pending_work().busy and hub.pending_work().next_due is None


async def test_activities_count_until_their_result_is_in() -> None:
    """A queued or running activity is busy; its reported result hands the work back."""
    clock = VirtualClock()
    hub = MemoryTaskHub(clock)
    record = await started(hub, clock, "b")
    item = await hub.fetch_orchestration_work(0)
    assert item is not None
    await hub.complete_orchestration_work(item, Commit(
        replace(record, runtime_status=RuntimeStatus.RUNNING),
        activities=[ActivityTask("b", 0, "work", None)]))
    assert hub.pending_work().busy
    task = await hub.fetch_activity_work(0)
    assert task is not None and hub.pending_work().busy
    await hub.complete_activity_work(task, Message("b", timer_fired(0, clock.now(),
                                                                   clock.now())))
    assert hub.pending_work().busy  # the result waits for its episode


async def test_idle_wait_returns_when_a_purge_empties_the_hub() -> None:
    """A purge is a change the idle wait hears: the instance's queued work is gone."""
    clock = VirtualClock()
    hub = MemoryTaskHub(clock)
    await started(hub, clock, "c")
    assert await hub.wait_until_idle(0.05) is False
    assert await hub.purge_instance("c")
    assert await hub.wait_until_idle(5.0) is True


async def test_running_until_a_moment_stops_each_timer_at_its_own_time() -> None:
    """run_until moves the clock to each due time in turn, then to the moment asked."""
    clock = VirtualClock()
    hub = MemoryTaskHub(clock)
    time = VirtualTime(hub, clock, idle_seconds=5.0)
    start = clock.now()
    record = await started(hub, clock, "d")
    item = await hub.fetch_orchestration_work(0)
    assert item is not None
    due = start + timedelta(minutes=3)
    await hub.complete_orchestration_work(item, Commit(
        replace(record, runtime_status=RuntimeStatus.RUNNING),
        outbound=[Message("d", timer_fired(1, due, due), visible_at=due)]))
    seen: list[object] = []

    async def take_timer() -> None:
        work = await hub.fetch_orchestration_work(5.0)
        assert work is not None
        seen.append(clock.now())
        await hub.complete_orchestration_work(work, Commit(None))

    taker = asyncio.create_task(take_timer())
    await time.run_until(start + timedelta(minutes=10))
    await taker
    assert seen == [due] and clock.now() == start + timedelta(minutes=10)
