"""The test kit on the order app: place over HTTP, wait, expire, approve, a fake activity."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from constants import BACKEND_ACTION, ORDER_ORCHESTRATOR
from devhost.testing import DurableTestHost
from tests.support import APP_DIR

Status = df.OrchestrationRuntimeStatus
# Backend work takes no time and no push is configured: no FCM at all.
SETTINGS = {"BACKEND_ACTION_DELAY_SECONDS": "0", "APPROVAL_TIMEOUT_SECONDS": "1800",
            "FCM_EMULATOR_HOST": "", "FCM_PROJECT_ID": "", "FCM_SERVICE_ACCOUNT_JSON": "",
            "GOOGLE_APPLICATION_CREDENTIALS": ""}


def order(order_id: str) -> dict[str, Any]:
    """A valid place-order body."""
    return {"orderId": order_id, "regId": "device-kit",
            "items": [{"name": "Margherita", "quantity": 1}]}


def stage_is(stage: str) -> Any:
    """A wait_for condition on the stage the order's custom status shows."""
    return lambda status: (status.custom_status or {}).get("stage") == stage


async def test_an_order_nobody_approves_expires_after_thirty_virtual_minutes() -> None:
    """Placed over HTTP, waiting for approval, then expired exactly when its timer fires."""
    async with DurableTestHost(APP_DIR, settings=SETTINGS) as host:
        start = host.now
        placed = await host.http("POST", "/api/orders", json=order("kit-expire-0001"))
        assert placed.status_code == 202, placed.text
        assert placed.json()["stage"] == "received"
        # No port: the app's own URLs name a host that never resolves, reached by path here.
        location = placed.headers["location"]
        assert location == "http://durable-test-host.invalid/api/orders/kit-expire-0001"
        waiting = await host.wait_for("kit-expire-0001", stage_is("awaiting_approval"))
        assert waiting.runtime_status == Status.Running and host.now == start
        done = await host.wait_for_completion("kit-expire-0001", timeout=timedelta(days=1))
        assert done.custom_status["stage"] == "expired"
        assert host.now - start == timedelta(minutes=30)
        shown = await host.http("GET", location)
        assert (shown.status_code, shown.json()["stage"]) == (200, "expired")
        assert [entry["push"]["outcome"] for entry in shown.json()["timeline"]] == [
            "not_configured"] * 4


async def test_staff_approve_with_the_function_key_and_the_order_finishes() -> None:
    """The approve route is function-level: 401 without the key, 202 with it."""
    async with DurableTestHost(APP_DIR, settings=SETTINGS) as host:
        await host.http("POST", "/api/orders", json=order("kit-approve-001"))
        path = "/api/orders/kit-approve-001/approve"
        refused = await host.http("POST", path, json={"approved": True})
        assert refused.status_code == 401
        accepted = await host.http("POST", path, json={"approved": True, "note": "ok"},
                                   headers={"x-functions-key": host.function_key})
        assert accepted.status_code == 202, accepted.text
        status = await host.status("kit-approve-001")
        assert status.runtime_status == Status.Completed
        assert status.custom_status["stage"] == "finished"


async def test_a_fake_backend_action_sees_every_stage_in_order() -> None:
    """BackendAction mocked by name: its fake gets each stage's input, its result is used."""
    async with DurableTestHost(APP_DIR, settings=SETTINGS) as host:
        stages: list[str] = []

        async def backend_action(action: dict[str, Any]) -> dict[str, Any]:
            stages.append(action["orderStatus"])
            return {"orderId": action["orderId"], "stage": action["orderStatus"],
                    "seq": action["seq"], "push": {"outcome": "sent", "messageId": "fake-1"}}

        host.mock_activity(BACKEND_ACTION, backend_action)
        await host.start_new(ORDER_ORCHESTRATOR, input={
            "orderId": "kit-mock-0001", "regId": "device-kit",
            "items": [{"name": "Margherita", "quantity": 1}], "approvalTimeoutSeconds": 60,
            "pushRetry": {"maxAttempts": 2, "firstRetryMilliseconds": 100}},
            instance_id="kit-mock-0001")
        await host.raise_event("kit-mock-0001", "Approval", {"approved": False})
        status = await host.wait_for_completion("kit-mock-0001")
        assert stages == ["received", "processing", "awaiting_approval", "cancelled"]
        assert {entry["push"]["outcome"] for entry in status.custom_status["timeline"]} == {
            "sent"}
