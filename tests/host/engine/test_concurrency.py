"""Blocking sync activities run on threads: they never stall other instances."""

import asyncio
import json

from devhost.taskhub.base import RuntimeStatus

NAP_SECONDS = 0.2


async def test_blocking_activities_run_side_by_side(runtime):
    """Ten instances whose activity blocks 0.2 s finish in far less than 10 x 0.2 s."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    instances = [await runtime.client.start_new("sleepy", None, json.dumps(NAP_SECONDS))
                 for _ in range(10)]
    records = await asyncio.gather(*(runtime.client.wait_for(i) for i in instances))
    elapsed = loop.time() - began
    assert [json.loads(r.output) for r in records] == [NAP_SECONDS] * 10
    assert elapsed < 10 * NAP_SECONDS * 0.6, f"took {elapsed:.2f}s"


async def test_a_long_blocking_activity_does_not_hold_up_another_instance(runtime):
    """While one activity sleeps a second, another instance runs three activities to the end."""
    loop = asyncio.get_running_loop()
    sleeper = await runtime.client.start_new("sleepy", None, json.dumps(1.0))
    began = loop.time()
    quick = await runtime.client.start_new("sequence", None, None)
    record = await runtime.client.wait_for(quick)
    assert record.runtime_status == RuntimeStatus.COMPLETED
    assert loop.time() - began < 0.8
    assert (await runtime.client.get_instance(sleeper)).runtime_status == RuntimeStatus.RUNNING
    assert (await runtime.client.wait_for(sleeper)).runtime_status == RuntimeStatus.COMPLETED
