"""Storage outage: Azurite stopped for a few seconds mid-flow, then started again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from devhost.local.azurite import AzuriteProcess
from fcm_emulator import FcmEmulator
from tests.support.host_process import (
    HostStarter,
    OrderApi,
    device_token,
    push_data,
    unique_order_id,
)

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = 5.0
RECOVERY_TIMEOUT = 40.0
STAGES = ["received", "processing", "awaiting_approval", "finished"]


@pytest.fixture(scope="module")
def own_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteProcess]:
    """An Azurite on disk for this module alone, so stopping it cannot disturb other tests."""
    with AzuriteProcess(tmp_path_factory.mktemp("azurite-outage")) as process:
        yield process


def finished_cleanly(body: dict[str, Any]) -> None:
    """Completed as finished, each stage once in the timeline."""
    assert body["runtimeStatus"] == "Completed", body
    assert [e["stage"] for e in body["timeline"]] == STAGES
    assert [r["seq"] for r in body["result"]] == [1, 2, 3, 4]


def test_orders_finish_after_storage_comes_back(start_host: HostStarter,
                                                own_azurite: AzuriteProcess,
                                                module_fcm: FcmEmulator) -> None:
    """With Azurite down ~5 s mid-flow the host keeps running, and every order finishes."""
    host = start_host(storage=own_azurite.connection_string)
    api = OrderApi(host)
    waiting = unique_order_id("outwait")
    decided = unique_order_id("outdecided")
    fresh = unique_order_id("outfresh")
    # Stages each order was seen in, across the outage: they must never go backwards.
    seen: dict[str, list[str]] = {order_id: [] for order_id in (waiting, decided, fresh)}
    for order_id in (waiting, decided):
        assert api.place(order_id).status_code == 202
    for order_id in (waiting, decided):
        api.wait_for_stage(order_id, "awaiting_approval", timeout=20, seen=seen[order_id])
    assert api.approve(decided).status_code == 202
    assert api.place(fresh).status_code == 202
    ports = own_azurite.ports

    own_azurite.stop()
    started = time.monotonic()
    answers: list[int] = []
    # Hold storage away for the outage, asking the host for a status all along: it must
    # stay up and answer (with an error, since it cannot read the order), never hang.
    while time.monotonic() - started < OUTAGE_SECONDS:
        assert host.alive, host.log_tail()
        answers.append(api.status(waiting, timeout=15).status_code)
        time.sleep(0.1)  # pacing between requests, not waiting for a condition
    assert answers, "no status request completed during the outage"
    assert all(code >= 500 for code in answers), answers

    own_azurite.restart()
    assert own_azurite.ports == ports
    assert host.alive

    for order_id in (waiting, fresh):
        api.wait_for_stage(order_id, "awaiting_approval", timeout=RECOVERY_TIMEOUT,
                           seen=seen[order_id])
        assert api.approve(order_id).status_code == 202
    for order_id in (waiting, decided, fresh):
        finished_cleanly(api.wait_until_completed(order_id, timeout=RECOVERY_TIMEOUT,
                                                  seen=seen[order_id]))
        pushes = module_fcm.messages(device_token(order_id))
        pushed = {(d["seq"], d["stage"]) for d in push_data(pushes)}
        assert pushed == {(str(seq), stage) for seq, stage in enumerate(STAGES, start=1)}
