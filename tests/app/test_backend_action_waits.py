"""BackendAction waits on the event loop: many orders wait out their backend delay at once.

The order app runs on the real durable runtime over a memory task hub, with one thread for
sync functions (a sync activity that sleeps would let one order wait at a time) and room
for every activity. Each BackendAction is counted while it runs. Speed is the benchmark's
business (bench ``--only burst``); these tests count.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from constants import BACKEND_ACTION, ORDER_ORCHESTRATOR
from devhost.app.loader import FunctionIndex, import_state_kept, load_app
from devhost.clock import VirtualClock
from devhost.engine.runtime import DurableRuntime
from devhost.taskhub.memory import MemoryTaskHub
from fcm_emulator import FcmEmulator
from tests.support import APP_DIR

ORDERS = 50
DELAY_SECONDS = "1"
TOKEN = "device-token-waits"


@pytest.fixture(scope="module")
def order_app() -> Iterator[FunctionIndex]:
    """The order app indexed from its folder, as the host loads it."""
    with import_state_kept():
        yield load_app(APP_DIR)


@dataclasses.dataclass
class Tally:
    """How many BackendActions run now, and the most that ever ran at once."""

    running: int = 0
    peak: int = 0


async def counted_runtime(order_app: FunctionIndex, tally: Tally) -> DurableRuntime:
    """A started runtime over the order app whose BackendAction is counted in ``tally``."""
    original = order_app.activities[BACKEND_ACTION]
    assert original.is_async

    async def counted(**argument: Any) -> Any:
        tally.running += 1
        tally.peak = max(tally.peak, tally.running)
        try:
            return await original.func(**argument)
        finally:
            tally.running -= 1

    activities = {**order_app.activities,
                  BACKEND_ACTION: dataclasses.replace(original, func=counted)}
    runtime = DurableRuntime(MemoryTaskHub(VirtualClock()), order_app.orchestrators, activities,
                             activity_concurrency=3 * ORDERS, sync_threads=1)
    await runtime.start()
    return runtime


@pytest.fixture
async def waiting_orders(order_app: FunctionIndex, fcm: FcmEmulator,
                         monkeypatch: pytest.MonkeyPatch
                         ) -> AsyncIterator[tuple[DurableRuntime, Tally]]:
    """The counted runtime, pushing to the emulator, each backend action taking 1 s."""
    for name in ("FCM_PROJECT_ID", "FCM_SERVICE_ACCOUNT_JSON", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FCM_EMULATOR_HOST", fcm.host_port)
    monkeypatch.setenv("FCM_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("BACKEND_ACTION_DELAY_SECONDS", DELAY_SECONDS)
    tally = Tally()
    runtime = await counted_runtime(order_app, tally)
    try:
        yield runtime, tally
    finally:
        await runtime.stop()


def order_input(order_id: str) -> str:
    """The orchestration input the starter would send, as JSON text."""
    return json.dumps({"orderId": order_id, "regId": TOKEN,
                       "items": [{"name": "Margherita", "quantity": 1}],
                       "approvalTimeoutSeconds": 1800,
                       "pushRetry": {"maxAttempts": 3, "firstRetryMilliseconds": 5000}})


def awaiting_approval(record: Any) -> bool:
    """A wait_for condition: the order asks for approval."""
    return bool(record.custom_status
                and json.loads(record.custom_status)["stage"] == "awaiting_approval")


async def test_many_orders_wait_out_the_backend_delay_at_once(
        waiting_orders: tuple[DurableRuntime, Tally], fcm: FcmEmulator) -> None:
    """Fifty orders with a 1 s backend delay all reach awaiting_approval, and far more of
    their BackendActions wait at once than the one thread sync functions have."""
    runtime, tally = waiting_orders
    ids = [f"waits-{n:03d}" for n in range(ORDERS)]
    for order_id in ids:
        await runtime.client.start_new(ORDER_ORCHESTRATOR, order_id, order_input(order_id))
    records = await asyncio.gather(*(runtime.client.wait_for(order_id, awaiting_approval,
                                                             timeout=120)
                                     for order_id in ids))
    assert all(awaiting_approval(record) for record in records)
    assert tally.peak >= ORDERS // 2, f"at most {tally.peak} BackendActions waited at once"
    pushed = {(m["data"]["orderId"], m["data"]["stage"]) for m in fcm.messages(TOKEN)}
    assert {(order_id, "awaiting_approval") for order_id in ids} <= pushed
