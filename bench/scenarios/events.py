"""External events raised into one orchestration that waits for them one by one.

The orchestration waits for each event under a name of its own (REFERENCE §3: an event
that arrives during an earlier wait of the same name is handed to every later wait of that
name), so the events may arrive in any order: the client raises them 16 at a time through
the runtime's ``raise_event`` (what the management API calls). The clock starts when the
orchestration has started and the first event is raised, and stops when the orchestration
has taken the last one and completed; events/s.
"""

from __future__ import annotations

import asyncio
import json
import time

from bench.apps.noop.noop_names import EVENT_WAITER, event_name
from bench.context import Run
from bench.durable import Hosted
from bench.scenarios.common import durable_figure
from devhost.taskhub.base import InstanceRecord, RuntimeStatus

# Events raised at once, as a client sending many requests would.
IN_FLIGHT = 16


def _running(record: InstanceRecord) -> bool:
    return record.runtime_status != RuntimeStatus.PENDING


async def _events(hosted: Hosted, size: int) -> float:
    runtime = hosted.runtime
    instance_id = await runtime.client.start_new(EVENT_WAITER, None, json.dumps({"count": size}))
    await hosted.watch.until(instance_id, _running)
    started = time.perf_counter()
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def raise_one(number: int) -> None:
        async with slots:
            await runtime.client.raise_event(instance_id, event_name(number), json.dumps(number))

    await asyncio.gather(*(raise_one(number) for number in range(size)))
    record = await hosted.watch.until(instance_id)
    if record.runtime_status != RuntimeStatus.COMPLETED:
        raise RuntimeError(f"{EVENT_WAITER} ended {record.runtime_status.value}")
    return time.perf_counter() - started


async def scenario(run: Run) -> None:
    """External events on every backend."""
    size = run.sizes.events
    for backend in run.backends.names:
        await durable_figure(run, backend, key="events", name=f"{size} external events",
                             unit="events/s", per="event", size=size, work=_events,
                             parallel=True)
