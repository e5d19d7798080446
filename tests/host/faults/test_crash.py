"""Crash safety: kill -9 the host with orders mid-flow, start it again on the same hub."""

from __future__ import annotations

from typing import Any

import pytest

from fcm_emulator import FcmEmulator
from tests.support.host_process import (
    HostStarter,
    OrderApi,
    device_token,
    push_data,
    unique_order_id,
)

pytestmark = pytest.mark.e2e

STAGES = ("received", "processing", "awaiting_approval", "finished")
# A killed host's leased work comes back after the visibility timeout (3 s here).
RECOVERY_TIMEOUT = 30.0


def check_pushes(module_fcm: FcmEmulator, order_id: str) -> None:
    """Every stage reached the phone at least once; a duplicate repeats the same seq."""
    data = push_data(module_fcm.messages(device_token(order_id)))
    assert all(d["orderId"] == order_id for d in data), data
    by_seq: dict[str, set[str]] = {}
    for d in data:
        by_seq.setdefault(d["seq"], set()).add(d["stage"])
    assert by_seq == {str(seq): {stage} for seq, stage in enumerate(STAGES, start=1)}, data


def check_timeline(body: dict[str, Any]) -> None:
    """The order finished, and its timeline names each stage exactly once, in order."""
    assert body["runtimeStatus"] == "Completed", body
    assert body["stage"] == "finished", body
    assert [(e["stage"], e["seq"]) for e in body["timeline"]] == [
        (stage, seq) for seq, stage in enumerate(STAGES, start=1)]
    assert [r["stage"] for r in body["result"]] == list(STAGES)


def test_orders_survive_a_killed_host(start_host: HostStarter, module_fcm: FcmEmulator) -> None:
    """kill -9 mid-flow, restart on the same hub: every order finishes, nothing lost or doubled."""
    host = start_host()
    api = OrderApi(host)
    waiting = unique_order_id("crashwait")      # awaiting approval across the crash
    decided = unique_order_id("crashdecided")   # approved just before the crash
    cooking = unique_order_id("crashcooking")   # past "received" when killed
    fresh = unique_order_id("crashfresh")       # placed a moment before the kill
    # Stages each order was seen in, across the crash: they must never go backwards.
    seen: dict[str, list[str]] = {order_id: [] for order_id in (waiting, decided, cooking, fresh)}

    for order_id in (waiting, decided):
        assert api.place(order_id).status_code == 202
    for order_id in (waiting, decided):
        api.wait_for_stage(order_id, "awaiting_approval", timeout=20, seen=seen[order_id])
    assert api.place(cooking).status_code == 202
    api.wait_for(cooking, lambda body: body["stage"] != "received", timeout=20,
                 what="past received", seen=seen[cooking])
    assert api.approve(decided).status_code == 202
    assert api.place(fresh).status_code == 202

    host.kill()
    assert not host.alive
    host.start()

    for order_id in (waiting, cooking, fresh):
        body = api.wait_for(order_id, lambda b: b["stage"] == "awaiting_approval",
                            timeout=RECOVERY_TIMEOUT, what="awaiting approval after restart",
                            seen=seen[order_id])
        assert body["approval"].get("outcome") is None
        approve = api.approve(order_id)
        assert approve.status_code == 202, approve.text
    # The approval raised before the kill was not lost: no second approval is needed.
    for order_id in (decided, waiting, cooking, fresh):
        check_timeline(api.wait_until_completed(order_id, timeout=RECOVERY_TIMEOUT,
                                                seen=seen[order_id]))

    # A stage is published only after its push was answered, so every push is in by now.
    for order_id in (waiting, decided, cooking, fresh):
        check_pushes(module_fcm, order_id)
