"""Host crashes at random moments: seeded trials of kill -9 and restart with orders in flight.

Each trial places a few orders (staggered), approves each as soon as it is awaiting approval,
and SIGKILLs the host once or twice at random delays while they run, restarting it on the
same hub each time. ``SLOW_CRASH_TRIALS`` sets how many trials (default 5); ``SLOW_SEED``
replays a run's random choices (its seed is printed first; the timing of course varies).

The trials found a kill between ``create_instance``'s record write and its start message
(the order stayed Pending for good); the last test here sets up that moment on purpose.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest

from constants import ORDER_ORCHESTRATOR
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import InstanceRecord, RuntimeStatus
from fcm_emulator import FcmEmulator
from models.orchestration import OrderInput, PushRetryPolicy
from models.orders import OrderItem
from tests.support.host_process import HostProcess, HostStarter, OrderApi, device_token, unique_hub
from tests.support.trials import (
    STAGES,
    FaultWindow,
    OrderDriver,
    check_pushes,
    check_timeline,
    env_int,
    report,
)

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

VISIBILITY_SECONDS = 3.0  # how soon a killed host's leased work comes back
MAX_KILL_DELAY_SECONDS = 2.0
MAX_PLACE_DELAY_SECONDS = 1.5
TRIAL_TIMEOUT_SECONDS = 90.0
# A repeat push may come this long after the restarted host answers: leased work shows up
# again after the visibility timeout, then runs.
SETTLE_SECONDS = VISIBILITY_SECONDS + 5.0


@dataclass
class Trial:
    """One trial's orders and the crashes they went through."""

    number: int
    seed: int
    drivers: list[OrderDriver] = field(default_factory=list)
    windows: list[FaultWindow] = field(default_factory=list)
    kill_delays: list[float] = field(default_factory=list)


def kill_and_restart(host: HostProcess) -> FaultWindow:
    """SIGKILL the host, start it again on the same port and hub; when that happened."""
    began = time.time()
    host.kill()
    ended = time.time()
    assert not host.alive
    host.start()
    return FaultWindow(began, ended, time.time())


def run_trial(host: HostProcess, number: int, seed: int) -> Trial:
    """Orders in flight, approvals as soon as asked, and one or two kills at random moments."""
    rng = random.Random(seed)
    trial = Trial(number, seed)
    orders = rng.randint(3, 5)
    kills = 2 if number % 3 == 1 else 1  # every third trial, the restarted host dies too
    deadline = time.monotonic() + TRIAL_TIMEOUT_SECONDS
    trial.drivers = [
        OrderDriver(OrderApi(host), f"kill{number:03d}-{uuid.uuid4().hex[:12]}",
                    start_delay=rng.uniform(0, MAX_PLACE_DELAY_SECONDS), deadline=deadline)
        for _ in range(orders)]
    with ThreadPoolExecutor(max_workers=orders, thread_name_prefix="order") as pool:
        running = [pool.submit(driver.run) for driver in trial.drivers]
        for _ in range(kills):
            delay = rng.uniform(0, MAX_KILL_DELAY_SECONDS)
            trial.kill_delays.append(delay)
            time.sleep(delay)  # the random moment of the crash, not a wait for a condition
            trial.windows.append(kill_and_restart(host))
        for future in running:
            future.result()
    return trial


def test_orders_survive_random_host_kills(start_host: HostStarter, module_fcm: FcmEmulator) -> None:
    """Seeded kill -9s mid-flow: all orders finish, every stage pushed, repeats only by crashes."""
    trials = env_int("SLOW_CRASH_TRIALS", 5)
    master_seed = env_int("SLOW_SEED", random.SystemRandom().randrange(1, 2**31))
    report(f"host kills: SLOW_SEED={master_seed}, {trials} trials")
    seeds = random.Random(master_seed)
    host = start_host(visibility_timeout=VISIBILITY_SECONDS)
    started = time.monotonic()
    done: list[Trial] = []
    for number in range(trials):
        seed = seeds.randrange(2**31)
        trial = run_trial(host, number, seed)
        done.append(trial)
        states = ", ".join(f"{d.seen[-1]}" for d in trial.drivers)
        print(f"  trial {number}: seed {seed}, {len(trial.drivers)} orders, kills after "
              f"{', '.join(f'{d:.2f}s' for d in trial.kill_delays)}: {states}", flush=True)

    # Repeats of the last crashes may still be on their way: let them all arrive first.
    last_recovery = max(w.recovered for t in done for w in t.windows)
    time.sleep(max(0.0, last_recovery + SETTLE_SECONDS - time.time()))

    pushes = module_fcm.messages()
    by_token: dict[str, list[dict[str, object]]] = {}
    for message in pushes:
        by_token.setdefault(str(message["token"]), []).append(message)
    orders = repeats = replaced = 0
    for trial in done:
        for driver in trial.drivers:
            context = f"(trial {trial.number}, seed {trial.seed}, SLOW_SEED={master_seed})"
            assert driver.final is not None, context
            check_timeline(driver.final, STAGES)
            # The status route agrees afterwards too: nothing changed once it had ended.
            check_timeline(driver.api.current(driver.order_id), STAGES)
            # The one approval staff gave decided it, even when its answer was cut off.
            assert driver.final["approval"]["outcome"] == "approved", context
            repeats += check_pushes(driver.order_id,
                                    by_token.get(device_token(driver.order_id), []), STAGES,
                                    trial.windows, SETTLE_SECONDS)
            orders += 1
            replaced += driver.place_attempts > 1
    crashes = sum(len(t.windows) for t in done)
    report(f"host kills: {crashes} crashes survived in {trials} trials "
           f"({sum(len(t.windows) == 2 for t in done)} with two kills), {orders} orders all "
           f"finished, {repeats} repeated pushes dropped by seq, {replaced} placements "
           f"retried, {time.monotonic() - started:.0f} s")


async def write_record_only(connection_string: str, hub_name: str, order_id: str) -> None:
    """Leave what a host killed inside ``create_instance`` leaves: the Pending record of a
    new order, written before its start message, which was never sent."""
    order = OrderInput(order_id=order_id, reg_id=device_token(order_id),
                       items=[OrderItem(name="Neapolitan pizza with pineapple", quantity=1)],
                       approval_timeout_seconds=120,
                       push_retry=PushRetryPolicy(max_attempts=4, first_retry_milliseconds=200))
    now = datetime.now(timezone.utc)
    record = InstanceRecord(instance_id=order_id, name=ORDER_ORCHESTRATOR,
                            runtime_status=RuntimeStatus.PENDING, created_at=now,
                            updated_at=now, input=json.dumps(order.to_json_dict()))
    hub = AzureStorageTaskHub(connection_string, hub_name)
    try:
        await hub.start()
        assert await hub._table.insert_record(record) is not None
    finally:
        await hub.close()


def test_a_start_cut_off_before_its_message_runs_after_restart(
        start_host: HostStarter, azurite: AzuriteProcess, module_fcm: FcmEmulator) -> None:
    """A record written without its start message (host killed in between) still runs."""
    hub = unique_hub("cut")
    order_id = f"cutoff-{uuid.uuid4().hex[:12]}"
    asyncio.run(write_record_only(azurite.connection_string, hub, order_id))
    host = start_host(hub=hub, visibility_timeout=VISIBILITY_SECONDS)
    api = OrderApi(host)
    # The client's retry of that start finds the order: the same order, answered 200.
    assert api.place(order_id).status_code == 200
    driver = OrderDriver(api, order_id, start_delay=0, placed=200,
                         deadline=time.monotonic() + 30).run()
    assert driver.final is not None
    check_timeline(driver.final, STAGES)
    check_pushes(order_id, module_fcm.messages(device_token(order_id)), STAGES)
