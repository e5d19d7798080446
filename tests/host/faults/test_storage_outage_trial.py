"""Storage outage: Azurite stopped for ``SLOW_OUTAGE_SECONDS`` (default 10) with orders at
every stage, then started again on the same ports and folder.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from devhost.local.azurite import AzuriteProcess
from fcm_emulator import FcmEmulator
from tests.support.host_process import HostStarter, OrderApi, device_token
from tests.support.trials import (
    STAGES,
    FaultWindow,
    OrderDriver,
    check_pushes,
    check_timeline,
    env_float,
    report,
)

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

VISIBILITY_SECONDS = 3.0
STAGE_TIMEOUT = 30.0
RECOVERY_TIMEOUT = 90.0
# How long a request may take while storage is down: it must be answered, not hang.
ANSWER_BOUND_SECONDS = 15.0
# Repeats may come this long after storage is back: an activity whose result could not be
# reported (retried ~6 s) runs again once its lease (the visibility timeout) runs out.
SETTLE_SECONDS = VISIBILITY_SECONDS + 12.0
DECLINED_STAGES = ("received", "processing", "awaiting_approval", "cancelled")


@pytest.fixture(scope="module")
def own_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteProcess]:
    """An Azurite on disk for this module alone: stopping it disturbs no other test."""
    with AzuriteProcess(tmp_path_factory.mktemp("slow-azurite-outage")) as process:
        yield process


def test_every_order_ends_after_storage_is_down(start_host: HostStarter,
                                                own_azurite: AzuriteProcess,
                                                module_fcm: FcmEmulator) -> None:
    """Azurite down ~10 s mid-flow: the host answers 503 meanwhile, then every order ends."""
    outage = env_float("SLOW_OUTAGE_SECONDS", 10.0)
    # Half a second per stage keeps the younger orders mid-flow when storage goes.
    host = start_host(storage=own_azurite.connection_string,
                      visibility_timeout=VISIBILITY_SECONDS, BACKEND_ACTION_DELAY_SECONDS="0.5")
    api = OrderApi(host)
    tag = uuid.uuid4().hex[:10]
    names = ("waiting", "late", "decided", "declined", "cooking", "fresh", "during")
    ids = {name: f"outage-{name}-{tag}" for name in names}

    for name in ("waiting", "late", "decided", "declined"):
        assert api.place(ids[name]).status_code == 202
    for name in ("waiting", "late", "decided", "declined"):
        api.wait_for_stage(ids[name], "awaiting_approval", timeout=STAGE_TIMEOUT)
    assert api.place(ids["cooking"]).status_code == 202
    api.wait_for(ids["cooking"], lambda body: body["stage"] != "received",
                 timeout=STAGE_TIMEOUT, what="past received")
    assert api.approve(ids["decided"]).status_code == 202
    assert api.approve(ids["declined"], approved=False).status_code == 202
    assert api.place(ids["fresh"]).status_code == 202
    at_stop = {name: api.current(ids[name])["stage"] for name in names[:-1]}

    began = time.time()
    own_azurite.stop()
    answers: list[int] = []
    refusals: dict[str, int] = {}
    while time.time() - began < outage:
        assert host.alive, host.log_tail()
        asked = time.monotonic()
        if "approve" not in refusals:
            reply = api.approve(ids["late"])
            refusals["approve"] = reply.status_code
        elif "place" not in refusals:
            # A start refused now starts nothing; the same id is placed again afterwards.
            reply = api.place(ids["during"])
            refusals["place"] = reply.status_code
        else:
            reply = api.status(ids["waiting"], timeout=ANSWER_BOUND_SECONDS)
            answers.append(reply.status_code)
        assert time.monotonic() - asked < ANSWER_BOUND_SECONDS
        assert reply.status_code == 503, reply.text
        assert reply.headers.get("Retry-After"), reply.headers
        time.sleep(0.2)  # pacing between requests, not waiting for a condition
    assert answers, "no status request was answered during the outage"
    own_azurite.restart()
    back = time.time()
    assert host.alive, host.log_tail()
    window = FaultWindow(began, back, back)

    deadline = time.monotonic() + RECOVERY_TIMEOUT
    placed = {name: 202 for name in names[:-1]}
    drivers = {name: OrderDriver(OrderApi(host), ids[name], start_delay=0, deadline=deadline,
                                 approve=name not in ("decided", "declined"),
                                 placed=placed.get(name))
               for name in names}
    with ThreadPoolExecutor(max_workers=len(drivers), thread_name_prefix="order") as pool:
        for future in [pool.submit(driver.run) for driver in drivers.values()]:
            future.result()
    recovery = time.time() - back
    # The start refused during the outage had started nothing: placing it again is new.
    assert drivers["during"].placed == 202

    time.sleep(max(0.0, back + SETTLE_SECONDS - time.time()))
    repeats = 0
    for name, driver in drivers.items():
        stages = DECLINED_STAGES if name == "declined" else STAGES
        assert driver.final is not None
        check_timeline(driver.final, stages)
        repeats += check_pushes(driver.order_id, module_fcm.messages(device_token(driver.order_id)),
                                stages, [window], SETTLE_SECONDS)
    assert drivers["declined"].final is not None
    assert drivers["declined"].final["approval"]["outcome"] == "declined"
    report(f"storage outage: Azurite down {back - began:.1f} s with orders at {at_stop}; "
           f"{len(answers)} status reads answered 503 meanwhile; all {len(drivers)} orders "
           f"ended within {recovery:.1f} s of it coming back, "
           f"{repeats} repeated pushes dropped by seq")
