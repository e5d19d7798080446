"""The seed's flow over plain HTTP: a host child process on Azurite, pushes to the emulator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from fcm_emulator import FcmEmulator
from tests.support.host_process import (
    FUNCTION_KEY,
    HostProcess,
    HostStarter,
    OrderApi,
    assert_eventually,
    device_token,
    push_data,
    unique_hub,
    unique_order_id,
)

pytestmark = pytest.mark.e2e

FLOW_TIMEOUT = 20.0
APPROVAL_TIMEOUT_SECONDS = 2


@pytest.fixture(scope="module")
def host(start_host: HostStarter) -> HostProcess:
    """The app on the module's hub, approvals open for two minutes."""
    return start_host()


@pytest.fixture(scope="module")
def api(host: HostProcess) -> OrderApi:
    """The HTTP API of ``host``."""
    return OrderApi(host)


@pytest.fixture(scope="module")
def expiring_api(start_host: HostStarter) -> OrderApi:
    """A second host, on a hub of its own, whose orders expire after 2 s without a decision."""
    return OrderApi(start_host(hub=unique_hub("expiry"),
                               APPROVAL_TIMEOUT_SECONDS=str(APPROVAL_TIMEOUT_SECONDS)))


def pushes_for(module_fcm: FcmEmulator, order_id: str, count: int) -> list[dict[str, Any]]:
    """Wait until ``count`` pushes reached the order's phone; their data, oldest first."""
    def arrived() -> list[dict[str, Any]]:
        data = push_data(module_fcm.messages(device_token(order_id)))
        assert len(data) >= count, f"{len(data)} of {count} pushes so far: {data}"
        return data

    return assert_eventually(arrived, timeout=FLOW_TIMEOUT, what=f"{count} pushes")


def expected_push(order_id: str, stage: str, seq: int) -> dict[str, str]:
    """The data a stage's push carries: all strings."""
    return {"stage": stage, "orderId": order_id, "seq": str(seq)}


def place(api: OrderApi, order_id: str) -> dict[str, Any]:
    """Place an order and check the 202 answer points at its status route."""
    reply = api.place(order_id)
    assert reply.status_code == 202, reply.text
    body: dict[str, Any] = reply.json()
    status_url = api.url(f"orders/{order_id}")
    assert body == {"orderId": order_id, "stage": "received", "statusUrl": status_url}
    assert reply.headers["Location"] == status_url
    return body


def test_approved_order_goes_through_every_stage_to_finished(api: OrderApi,
                                                            module_fcm: FcmEmulator) -> None:
    """Placed, received, processing, awaiting approval, approved, finished: status and pushes."""
    order_id = unique_order_id("flow")
    place(api, order_id)
    seen: list[str] = []
    waiting = api.wait_for_stage(order_id, "awaiting_approval", timeout=FLOW_TIMEOUT, seen=seen)
    # Observed in order, never backwards (wait_for checks that as it polls); the first
    # look, right after the 202, is still "received".
    assert seen[0] == "received"
    assert seen == sorted(set(seen), key=["received", "processing", "awaiting_approval"].index)
    assert waiting["runtimeStatus"] == "Running"
    assert [(e["stage"], e["seq"]) for e in waiting["timeline"]] == [
        ("received", 1), ("processing", 2), ("awaiting_approval", 3)]
    assert all(e["push"]["outcome"] == "sent" for e in waiting["timeline"])
    assert waiting["approval"].get("outcome") is None
    assert pushes_for(module_fcm, order_id, 3) == [
        expected_push(order_id, "received", 1),
        expected_push(order_id, "processing", 2),
        expected_push(order_id, "awaiting_approval", 3)]

    approved = api.approve(order_id, note="no pineapple on a Neapolitan")
    assert approved.status_code == 202, approved.text
    assert approved.json()["approved"] is True

    done = api.wait_until_completed(order_id, timeout=FLOW_TIMEOUT, seen=seen)
    assert seen[-1] == "finished"
    assert done["stage"] == "finished"
    assert done["approval"]["outcome"] == "approved"
    assert done["approval"]["note"] == "no pineapple on a Neapolitan"
    assert [(r["stage"], r["seq"]) for r in done["result"]] == [
        ("received", 1), ("processing", 2), ("awaiting_approval", 3), ("finished", 4)]
    assert [e["stage"] for e in done["timeline"]] == [
        "received", "processing", "awaiting_approval", "finished"]
    data = pushes_for(module_fcm, order_id, 4)
    assert data[3] == expected_push(order_id, "finished", 4)
    assert len(data) == 4


def test_declined_order_is_cancelled(api: OrderApi, module_fcm: FcmEmulator) -> None:
    """A declined change cancels the order, and the phone is told with push seq 4."""
    order_id = unique_order_id("decline")
    place(api, order_id)
    api.wait_for_stage(order_id, "awaiting_approval", timeout=FLOW_TIMEOUT)
    assert api.approve(order_id, approved=False).status_code == 202

    done = api.wait_until_completed(order_id, timeout=FLOW_TIMEOUT)
    assert done["stage"] == "cancelled"
    assert done["approval"]["outcome"] == "declined"
    assert [r["stage"] for r in done["result"]] == [
        "received", "processing", "awaiting_approval", "cancelled"]
    assert pushes_for(module_fcm, order_id, 4)[3] == expected_push(order_id, "cancelled", 4)


def test_unanswered_order_expires(expiring_api: OrderApi, module_fcm: FcmEmulator) -> None:
    """Without a decision within APPROVAL_TIMEOUT_SECONDS the order ends as expired."""
    order_id = unique_order_id("expire")
    place(expiring_api, order_id)
    done = expiring_api.wait_until_completed(order_id, timeout=FLOW_TIMEOUT)
    assert done["stage"] == "expired"
    approval = done["approval"]
    assert approval["outcome"] == "expired"
    requested = datetime.fromisoformat(approval["requestedAt"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(approval["expiresAt"].replace("Z", "+00:00"))
    assert (expires - requested).total_seconds() == APPROVAL_TIMEOUT_SECONDS
    ended = datetime.fromisoformat(done["timeline"][-1]["at"].replace("Z", "+00:00"))
    assert ended >= expires  # the timer, not anything earlier, ended the wait
    assert [r["stage"] for r in done["result"]] == [
        "received", "processing", "awaiting_approval", "expired"]
    assert pushes_for(module_fcm, order_id, 4)[3] == expected_push(order_id, "expired", 4)


def test_early_approval_is_refused_and_not_buffered(api: OrderApi, module_fcm: FcmEmulator) -> None:
    """An approval before awaiting_approval gets 409 and is not kept for the later wait."""
    order_id = unique_order_id("early")
    # Hold the first push for a second, so the order is surely not waiting for approval yet.
    module_fcm.queue_fault(200, delay_seconds=1.0)
    place(api, order_id)
    early = api.approve(order_id, approved=True)
    assert early.status_code == 409, early.text
    assert early.json()["details"][0]["field"] == "stage"
    assert early.json()["details"][0]["message"] in ("received", "processing")

    api.wait_for_stage(order_id, "awaiting_approval", timeout=FLOW_TIMEOUT)
    assert api.approve(order_id, approved=False).status_code == 202
    done = api.wait_until_completed(order_id, timeout=FLOW_TIMEOUT)
    # Had the early "approved" been buffered, it would have won the wait.
    assert done["stage"] == "cancelled"
    assert done["approval"]["outcome"] == "declined"


def test_approval_after_the_end_is_gone(api: OrderApi) -> None:
    """Approving an order that has ended answers 410 and changes nothing."""
    order_id = unique_order_id("gone")
    place(api, order_id)
    api.wait_for_stage(order_id, "awaiting_approval", timeout=FLOW_TIMEOUT)
    assert api.approve(order_id).status_code == 202
    api.wait_until_completed(order_id, timeout=FLOW_TIMEOUT)

    late = api.approve(order_id, approved=False)
    assert late.status_code == 410, late.text
    assert late.json()["error"] == "the order has already ended"
    assert api.current(order_id)["stage"] == "finished"


def test_unknown_order_is_not_found(api: OrderApi) -> None:
    """An order id nobody placed is 404 on the status route and on the approve route."""
    order_id = unique_order_id("nobody")
    status = api.status(order_id)
    assert status.status_code == 404
    assert status.json()["details"] == [{"field": "orderId", "message": order_id}]
    approve = api.approve(order_id)
    assert approve.status_code == 404
    assert approve.json()["error"] == "no such order"


def test_approve_needs_the_function_key(api: OrderApi) -> None:
    """Without the key, or with a wrong one, approve is 401 and raises nothing."""
    order_id = unique_order_id("nokey")
    place(api, order_id)
    api.wait_for_stage(order_id, "awaiting_approval", timeout=FLOW_TIMEOUT)

    assert api.approve(order_id, key=None).status_code == 401
    assert api.approve(order_id, key=FUNCTION_KEY + "x").status_code == 401
    refused = api.session.post(api.url(f"orders/{order_id}/approve"),
                               params={"code": "not-the-key"}, json={"approved": True},
                               timeout=10)
    assert refused.status_code == 401
    status = api.current(order_id)
    assert status["stage"] == "awaiting_approval"
    assert status["approval"].get("outcome") is None
    # The key also works as ?code=, as in Azure; this decision is the one that counts.
    accepted = api.session.post(api.url(f"orders/{order_id}/approve"),
                                params={"code": FUNCTION_KEY}, json={"approved": False},
                                timeout=10)
    assert accepted.status_code == 202
    assert api.wait_until_completed(order_id, timeout=FLOW_TIMEOUT)["stage"] == "cancelled"
