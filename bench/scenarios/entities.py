"""Entity operations per second: signals to one counter entity, and spread over 100.

The client signals ``add 1`` (``EntityClient.signal``, what the management API's entity
route and the SDK's ``signal_entity`` reach), 16 signals in flight at a time, as clients
sending many requests would. The clock starts with the first signal and stops when every
counter holds its share (seen through the hub's commits, so waiting costs no storage call):
operations/s. One entity applies its operations one batch at a time; 100 entities run their
batches side by side on the host's orchestration loops.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bench.context import Run
from bench.durable import Hosted, app_index, measure, running
from bench.figures import AZURITE, Figure
from bench.scenarios.storage import rates_for
from devhost.entities.ids import EntityId
from devhost.entities.state import SchedulerState
from devhost.errors import StorageUnavailable
from devhost.taskhub.base import InstanceRecord

COUNTER_APP_DIR = Path(__file__).resolve().parents[1] / "apps" / "counter"
COUNTER = "Counter"
ADD = "add"
# Signals sent at once.
IN_FLIGHT = 16
MANY_ENTITIES = 100
# A signal that storage did not take is sent again, this often at most, after this pause.
SIGNAL_ATTEMPTS = 10
RETRY_PAUSE_SECONDS = 0.5
# The SDK's client sends an input as JSON text inside a JSON string.
ONE = json.dumps(json.dumps(1))


def _holds(value: int) -> Callable[[InstanceRecord], bool]:
    """A commit-watch condition: the counter exists and holds at least ``value``."""
    def check(record: InstanceRecord) -> bool:
        state = SchedulerState.of(record)
        return state.exists and state.state is not None and json.loads(state.state) >= value
    return check


async def _operations(hosted: Hosted, size: int, entities: int) -> float:
    """Signal ``size`` adds spread over ``entities`` fresh counters; seconds until applied."""
    client = hosted.runtime.entity_client
    run_tag = uuid.uuid4().hex[:8]
    ids = [EntityId.of(COUNTER, f"bench-{run_tag}-{n}") for n in range(entities)]
    share = {entity: 0 for entity in ids}
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def signal(number: int) -> None:
        entity = ids[number % entities]
        share[entity] += 1
        async with slots:
            for attempt in range(SIGNAL_ATTEMPTS):
                try:
                    await client.signal(entity, ADD, ONE)
                    return
                except StorageUnavailable:
                    # As a client answered 503 sends again: the signal may then count twice,
                    # which the wait (at least the share) allows.
                    if attempt == SIGNAL_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(RETRY_PAUSE_SECONDS)

    started = time.perf_counter()
    await asyncio.gather(*(signal(number) for number in range(size)))
    await asyncio.gather(*(hosted.watch.until(entity.instance_id, _holds(count))
                           for entity, count in share.items()))
    return time.perf_counter() - started


async def _figure(run: Run, backend: str, key: str, name: str, entities: int) -> None:
    size = run.sizes.entity_ops
    index = app_index(COUNTER_APP_DIR)
    hub = run.backends.make_hub(backend, key.replace("_", ""))
    async with running(hub, index) as hosted:
        async def once() -> float:
            return await _operations(hosted, size, entities)

        async def warm() -> float:
            return await _operations(hosted, min(size, entities * 2), entities)

        measured = await measure(run, backend, once, warm_up=warm)
    figure = Figure(key, name, backend, size / measured.median, "ops/s")
    if backend == AZURITE:
        units = size * len(measured.seconds)
        rates = await rates_for(run)
        figure.storage_ceiling = rates.ceiling(units, measured.queue_calls,
                                               measured.table_calls, True)
        run.add(Figure(f"{key}_calls", f"{name}: storage calls per operation", AZURITE,
                       (measured.queue_calls + measured.table_calls) / units, "calls"))
    run.add(figure)


async def scenario(run: Run) -> None:
    """Entity operations on one entity and over 100, on every backend."""
    size = run.sizes.entity_ops
    for backend in run.backends.names:
        await _figure(run, backend, "entity_ops_one", f"{size} entity operations, one entity", 1)
        await _figure(run, backend, "entity_ops_many",
                      f"{size} entity operations over {MANY_ENTITIES} entities", MANY_ENTITIES)
