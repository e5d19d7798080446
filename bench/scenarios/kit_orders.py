"""The order flow through the test kit: placed over HTTP, expired on virtual time.

One ``DurableTestHost`` holds the real order app (no backend delay, no push configured);
each order is placed with ``POST /api/orders`` and waited for with
``wait_for_completion``, which skips the 30-minute approval window to its timer. The figure
is the median wall time per order, from the request to the status that says ``expired``:
what one such test costs once its host is up. Beside it: the CPU time per order (all threads
of the process; on a shared machine the wall time is this plus the wait for a core) and the
host's start.
"""

from __future__ import annotations

import statistics
import time

from bench.context import Run
from bench.durable import ORDER_APP_DIR
from bench.figures import MEMORY, Figure
from devhost.testing import DurableTestHost

WARM_UP_ORDERS = 3
SETTINGS = {"BACKEND_ACTION_DELAY_SECONDS": "0", "APPROVAL_TIMEOUT_SECONDS": "1800",
            "FCM_EMULATOR_HOST": "", "FCM_PROJECT_ID": "", "FCM_SERVICE_ACCOUNT_JSON": "",
            "GOOGLE_APPLICATION_CREDENTIALS": ""}


async def one_order(host: DurableTestHost, order_id: str) -> tuple[float, float]:
    """Place one order and wait until it expired; the wall and the CPU seconds (of every
    thread of this process) that took."""
    started, cpu = time.perf_counter(), time.process_time()
    placed = await host.http("POST", "/api/orders", json={
        "orderId": order_id, "regId": "bench-device",
        "items": [{"name": "Margherita", "quantity": 1}]})
    if placed.status_code != 202:
        raise RuntimeError(f"order {order_id}: {placed.status_code} {placed.text}")
    status = await host.wait_for_completion(order_id)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    stage = (status.custom_status or {}).get("stage")
    if stage != "expired":
        raise RuntimeError(f"order {order_id} ended {stage}, not expired")
    return seconds, cpu_seconds


async def scenario(run: Run) -> None:
    """Median wall milliseconds per order, placed to expired, through DurableTestHost."""
    count = min(run.sizes.orders)  # as many orders as the order flow's smallest batch
    started = time.perf_counter()
    async with DurableTestHost(ORDER_APP_DIR, settings=SETTINGS) as host:
        start_seconds = time.perf_counter() - started
        for number in range(WARM_UP_ORDERS):
            await one_order(host, f"bench-kit-warm-{number:04d}")
        timings = [await one_order(host, f"bench-kit-{number:06d}") for number in range(count)]
    run.add(Figure("testkit_order_ms",
                   f"order placed -> expired through DurableTestHost, median of {count}",
                   MEMORY, statistics.median(wall for wall, _ in timings) * 1000, "ms"))
    run.add(Figure("testkit_order_cpu_ms", "the same orders: CPU time per order, median", MEMORY,
                   statistics.median(cpu for _, cpu in timings) * 1000, "ms"))
    run.add(Figure("testkit_start_ms", "DurableTestHost start with the order app", MEMORY,
                   start_seconds * 1000, "ms"))
