"""Azurite's raw ceiling, measured with the Azure SDKs directly in the same run.

Queue cycles (send, receive, delete) and table inserts, once one call at a time and once
with many calls in flight (the best of a few levels: Azurite's peak moves with the load on
the machine). The clients skip proxy settings, as the task hub does for loopback storage.
The Azure task hub's figures are set against these rates: a scenario's storage ceiling is
the rate storage would allow if its calls were all it cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable

from azure.data.tables.aio import TableClient
from azure.storage.queue import QueueMessage
from azure.storage.queue.aio import QueueClient

from bench.context import Run, StorageRates
from bench.figures import AZURITE, Figure

IN_FLIGHT_LEVELS = (4, 16, 64)
RECEIVE_BATCH = 32


async def _bounded(count: int, in_flight: int,
                   call: Callable[[int], Awaitable[object]]) -> None:
    """``call(0..count-1)`` with at most ``in_flight`` running at once."""
    slots = asyncio.Semaphore(in_flight)

    async def one(number: int) -> None:
        async with slots:
            await call(number)
    await asyncio.gather(*(one(number) for number in range(count)))


async def _queue_serial(queue: QueueClient, count: int) -> float:
    """Cycles per second, one send+receive+delete after another."""
    started = time.perf_counter()
    for number in range(count):
        await queue.send_message(f"m{number}")
        message = await queue.receive_message()
        if message is None:
            raise RuntimeError("Azurite lost a message")
        await queue.delete_message(message)
    return count / (time.perf_counter() - started)


async def _queue_parallel(queue: QueueClient, count: int, in_flight: int
                          ) -> tuple[float, float]:
    """Cycles per second and calls per second, sends and deletes many at a time,
    receives in batches of 32 (as the task hub receives)."""
    started = time.perf_counter()
    await _bounded(count, in_flight, lambda number: queue.send_message(f"m{number}"))
    received: list[QueueMessage] = []
    receives = 0
    while len(received) < count:
        pages = queue.receive_messages(messages_per_page=RECEIVE_BATCH,
                                       visibility_timeout=60).by_page()
        receives += 1
        async for page in pages:
            received += [message async for message in page]
            break
    await _bounded(len(received), in_flight,
                   lambda number: queue.delete_message(received[number]))
    seconds = time.perf_counter() - started
    return count / seconds, (2 * count + receives) / seconds


async def _table_serial(table: TableClient, count: int) -> float:
    started = time.perf_counter()
    for number in range(count):
        await table.create_entity({"PartitionKey": "serial", "RowKey": f"{number:08d}",
                                   "Value": number})
    return count / (time.perf_counter() - started)


async def _table_parallel(table: TableClient, count: int, in_flight: int) -> float:
    started = time.perf_counter()
    await _bounded(count, in_flight, lambda number: table.create_entity(
        {"PartitionKey": f"p{in_flight}-{number % in_flight}", "RowKey": f"{number:08d}",
         "Value": number}))
    return count / (time.perf_counter() - started)


async def measure_rates(connection_string: str, count: int) -> tuple[StorageRates, list[Figure]]:
    """Measure Azurite's rates on a queue and a table of their own (deleted afterwards)."""
    name = f"benchraw{uuid.uuid4().hex[:10]}"
    queue = QueueClient.from_connection_string(connection_string, name,
                                               use_env_settings=False)
    table = TableClient.from_connection_string(connection_string, name,
                                               use_env_settings=False)
    try:
        await queue.create_queue()
        await table.create_table()
        await _queue_serial(queue, min(count, 20))  # warm-up: connections
        queue_serial = await _queue_serial(queue, count)
        queue_parallel, queue_parallel_calls = max(
            [await _queue_parallel(queue, count, level) for level in IN_FLIGHT_LEVELS])
        table_serial = await _table_serial(table, count)
        table_parallel = max([await _table_parallel(table, count, level)
                              for level in IN_FLIGHT_LEVELS])
    finally:
        with contextlib.suppress(Exception):
            await queue.delete_queue()
        with contextlib.suppress(Exception):
            await table.delete_table()
        await queue.close()
        await table.close()
    rates = StorageRates(queue_serial=3 * queue_serial, queue_parallel=queue_parallel_calls,
                         table_serial=table_serial, table_parallel=table_parallel)
    levels = "/".join(str(level) for level in IN_FLIGHT_LEVELS)
    figures = [
        Figure("raw_queue_serial", "Azurite raw: queue send+receive+delete, one at a time",
               AZURITE, queue_serial, "cycles/s"),
        Figure("raw_queue_parallel",
               f"Azurite raw: queue send+receive+delete, best of {levels} in flight",
               AZURITE, queue_parallel, "cycles/s"),
        Figure("raw_table_serial", "Azurite raw: table inserts, one at a time", AZURITE,
               table_serial, "inserts/s"),
        Figure("raw_table_parallel",
               f"Azurite raw: table inserts, best of {levels} in flight", AZURITE,
               table_parallel, "inserts/s"),
    ]
    return rates, figures


async def rates_for(run: Run) -> StorageRates:
    """The run's storage rates, measured now if no scenario measured them yet."""
    if run.storage_rates is None:
        run.storage_rates, figures = await measure_rates(run.backends.connection_string,
                                                         run.sizes.storage_ops)
        for figure in figures:
            run.add(figure)
    return run.storage_rates


async def scenario(run: Run) -> None:
    """Azurite's raw ceiling (skipped when Azurite is not among the backends)."""
    if run.backends.azurite is None:
        run.progress("  (no Azurite in this run: raw storage ceiling skipped)")
        return
    await rates_for(run)
