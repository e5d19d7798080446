"""The order app on the engine: approve, decline and time out, pushing to the FCM emulator."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import pytest

from constants import APPROVAL_EVENT, ORDER_ORCHESTRATOR
from devhost.app.loader import import_state_kept, load_app
from devhost.engine.protocol import EventType
from devhost.engine.runtime import DurableRuntime
from devhost.taskhub.base import RuntimeStatus
from fcm_emulator import FcmEmulator
from tests.support import APP_DIR
from tests.support.engine import assert_durable_shape, history_has

ORDER_APP_DIR = APP_DIR
TOKEN = "device-token-engine"
TIMEOUT_SECONDS = 1800
FIRST_RETRY_MS = 5000


@pytest.fixture(scope="module")
def order_app():
    """The order app indexed from its folder, as the host loads it."""
    with import_state_kept():
        return load_app(ORDER_APP_DIR)


@pytest.fixture
def fcm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FcmEmulator]:
    """An FCM emulator the app's pushes go to; backend work takes no time."""
    with FcmEmulator.running_in_thread() as emulator:
        for name in ("FCM_PROJECT_ID", "FCM_SERVICE_ACCOUNT_JSON",
                     "GOOGLE_APPLICATION_CREDENTIALS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("FCM_EMULATOR_HOST", emulator.host_port)
        monkeypatch.setenv("FCM_TIMEOUT_SECONDS", "5")
        monkeypatch.setenv("BACKEND_ACTION_DELAY_SECONDS", "0")
        yield emulator


@pytest.fixture
async def orders(hub, order_app, fcm) -> AsyncIterator[DurableRuntime]:
    """The runtime over the order app on the memory hub and the virtual clock."""
    runtime = DurableRuntime(hub, order_app.orchestrators, order_app.activities)
    await runtime.start()
    yield runtime
    await runtime.stop()


def order_input(order_id: str) -> str:
    """The orchestration input the starter would send, as JSON text."""
    return json.dumps({
        "orderId": order_id,
        "regId": TOKEN,
        "items": [{"name": "Margherita", "quantity": 2}],
        "approvalTimeoutSeconds": TIMEOUT_SECONDS,
        "pushRetry": {"maxAttempts": 3, "firstRetryMilliseconds": FIRST_RETRY_MS},
    })


def stage(record) -> str | None:
    """The stage the custom status shows."""
    return json.loads(record.custom_status)["stage"] if record.custom_status else None


def awaiting_approval(record) -> bool:
    """A wait_for condition: the order asks for approval."""
    return stage(record) == "awaiting_approval"


def as_sent_by_client(decision: dict) -> str:
    """Event data the way the SDK client sends it: JSON-encoded twice."""
    return json.dumps(json.dumps(decision))


def pushes(fcm: FcmEmulator, order_id: str) -> list[tuple[str, str]]:
    """(seq, stage) of the pushes the emulator accepted for the order, in arrival order."""
    return [(m["data"]["seq"], m["data"]["stage"]) for m in fcm.messages(TOKEN)
            if m["data"]["orderId"] == order_id]


async def run_to_approval(orders, order_id: str) -> None:
    """Place the order and wait until it asks for approval."""
    await orders.client.start_new(ORDER_ORCHESTRATOR, order_id, order_input(order_id))
    await orders.client.wait_for(order_id, awaiting_approval)


@pytest.mark.parametrize(("decision", "final", "outcome"), [
    ({"approved": True}, "finished", "approved"),
    ({"approved": False, "note": "no olives left"}, "cancelled", "declined"),
])
async def test_order_is_decided_by_staff(orders, fcm, decision, final, outcome):
    """Approve or decline: four pushes in seq order, the last one the final stage."""
    order_id = f"order-{outcome}-1"
    await run_to_approval(orders, order_id)
    await orders.client.raise_event(order_id, APPROVAL_EVENT, as_sent_by_client(decision))
    record = await orders.client.wait_for(order_id)
    assert record.runtime_status == RuntimeStatus.COMPLETED
    results = json.loads(record.output)
    assert [(r["seq"], r["stage"], r["push"]["outcome"]) for r in results] == [
        (1, "received", "sent"), (2, "processing", "sent"),
        (3, "awaiting_approval", "sent"), (4, final, "sent")]
    assert pushes(fcm, order_id) == [("1", "received"), ("2", "processing"),
                                     ("3", "awaiting_approval"), ("4", final)]
    status = json.loads(record.custom_status)
    assert (status["stage"], status["approval"]["outcome"]) == (final, outcome)
    assert status["approval"].get("note") == decision.get("note")
    assert_durable_shape(await orders.client.get_history(order_id))


async def test_order_expires_when_nobody_decides(orders, fcm):
    """No decision within the timeout: the timer wins, not a second earlier."""
    order_id = "order-expire-1"
    await run_to_approval(orders, order_id)
    await orders.advance(seconds=TIMEOUT_SECONDS - 1)
    await asyncio.sleep(0.15)
    assert awaiting_approval(await orders.client.get_instance(order_id))
    await orders.advance(seconds=1)
    record = await orders.client.wait_for(order_id)
    assert stage(record) == "expired"
    assert pushes(fcm, order_id)[-1] == ("4", "expired")
    assert [seq for seq, _ in pushes(fcm, order_id)] == ["1", "2", "3", "4"]
    assert_durable_shape(await orders.client.get_history(order_id))


async def test_transient_push_failure_is_retried_on_the_durable_clock(orders, fcm):
    """A 503 from FCM fails the activity; the retry policy's timer sends it again."""
    order_id = "order-retry-1"
    fcm.queue_fault(503)
    await orders.client.start_new(ORDER_ORCHESTRATOR, order_id, order_input(order_id))
    await history_has(orders.hub, order_id, EventType.TIMER_CREATED)
    assert pushes(fcm, order_id) == []
    await orders.advance(milliseconds=FIRST_RETRY_MS)
    await orders.client.wait_for(order_id, awaiting_approval)
    await orders.client.raise_event(order_id, APPROVAL_EVENT, as_sent_by_client({"approved": True}))
    record = await orders.client.wait_for(order_id)
    assert stage(record) == "finished"
    assert [seq for seq, _ in pushes(fcm, order_id)] == ["1", "2", "3", "4"]
    assert [r["status"] for r in fcm.requests()][:2] == [503, 200]
    history = await orders.client.get_history(order_id)
    assert len([e for e in history if e["EventType"] == EventType.TASK_FAILED]) == 1
    assert_durable_shape(history)
