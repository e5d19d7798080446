"""Many orders placed at once, each BackendAction waiting out the real backend delay.

The order app runs on ``LocalHost`` as ``make run`` hosts it, with the default 2 s
``BACKEND_ACTION_DELAY_SECONDS``. All orders are placed at once over HTTP (from
``bench.order_client``, a process of its own); the figure is the seconds from the first
order sent to the last order showing ``awaiting_approval``: three backend actions in a row,
so about three delays when every order waits at the same time. Nobody approves; the host
stops with the orders still waiting.

The host reads its activity throttle from the app, as in Azure: the order app's
``host.json`` allows 500 activities at once per instance (its BackendAction mostly waits,
holding a slot but no thread), so the figure shows whether the waits themselves overlap.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid

from bench.context import Run
from bench.durable import ORDER_APP_DIR, REPLAY_PROCESSES, RUN_TIMEOUT_SECONDS, CommitWatch
from bench.emulator import emulator_process
from bench.figures import AZURITE, Figure
from bench.scenarios.orders import (
    FUNCTION_KEY,
    ClientProcess,
    app_environment,
    following,
    stage_of,
)
from devhost.app.loader import import_state_kept
from devhost.app.settings import HostSettings
from devhost.host import LocalHost
from devhost.taskhub.base import InstanceRecord, TaskHub

WARM_UP_ORDERS = 2
WAITING = "awaiting_approval"


class Arrivals:
    """When each order of the current batch first showed ``awaiting_approval``."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.at: dict[str, float] = {}
        self.placed: dict[str, int] = {}
        self.all_waiting = asyncio.Event()

    def start(self, ids: list[str]) -> None:
        """Watch a new batch."""
        self.ids, self.at, self.placed = set(ids), {}, {}
        self.all_waiting = asyncio.Event()

    def committed(self, record: InstanceRecord) -> None:
        """A committed record: note the batch's orders as they reach the stage."""
        order_id = record.instance_id
        if order_id in self.ids and order_id not in self.at and stage_of(record) == WAITING:
            self.at[order_id] = time.perf_counter()
            if len(self.at) == len(self.ids):
                self.all_waiting.set()


async def _follow(client: ClientProcess, arrivals: Arrivals) -> None:
    """Note the client's answers to the place requests."""
    async for answer in client.answers():
        if "placed" in answer:
            arrivals.placed[answer["placed"]] = answer["status"]


async def _batch(client: ClientProcess, arrivals: Arrivals, count: int, tag: str) -> float:
    """Place ``count`` orders at once; seconds until the last one is awaiting approval."""
    ids = [f"{tag}-{uuid.uuid4().hex[:12]}-{n:04d}" for n in range(count)]
    arrivals.start(ids)
    started = time.perf_counter()
    for order_id in ids:
        client.send({"place": order_id})
    try:
        await asyncio.wait_for(arrivals.all_waiting.wait(), RUN_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        refused = {order_id: status for order_id, status in arrivals.placed.items()
                   if status != 202}
        raise RuntimeError(f"{len(arrivals.at)} of {count} orders reached {WAITING}; "
                           f"refused: {len(refused)}") from None
    return max(arrivals.at.values()) - started


async def _seconds_on_host(run: Run, backend: str, count: int) -> float:
    """A fresh host and hub: warm-up orders without delay, then the burst with it."""
    hubs: list[TaskHub] = []

    def make_hub(_settings: HostSettings) -> TaskHub:
        hubs.append(run.backends.make_hub(backend, f"burst{count}"))
        return hubs[-1]

    host = LocalHost(ORDER_APP_DIR, make_hub, port=0, replay_processes=REPLAY_PROCESSES)
    with import_state_kept():
        await host.start()
    try:
        client = await ClientProcess.start(host.base_url, FUNCTION_KEY)
        arrivals = Arrivals()
        async with following(client, _follow(client, arrivals)):
            CommitWatch(hubs[0]).listeners.append(arrivals.committed)
            await _batch(client, arrivals, WARM_UP_ORDERS, "warm")
            # The activity reads its delay when it runs, from this process's environment.
            os.environ["BACKEND_ACTION_DELAY_SECONDS"] = str(run.sizes.burst_delay)
            return await _batch(client, arrivals, count, f"b{count}")
    finally:
        await host.stop()


async def scenario(run: Run) -> None:
    """The burst on every backend, ``repeats`` times each (backends taking turns); the
    median seconds per backend."""
    count = run.sizes.burst
    seconds: dict[str, list[float]] = {backend: [] for backend in run.backends.names}
    with emulator_process() as emulator:
        for _repeat in range(run.sizes.repeats):
            for backend in run.backends.names:
                if backend == AZURITE:  # a fresh Azurite for each batch, as for `orders`
                    await asyncio.to_thread(run.backends.renew)
                with app_environment(emulator.host_port):
                    seconds[backend].append(await _seconds_on_host(run, backend, count))
                run.progress(f"  (a burst of {count} [{backend}]: {seconds[backend][-1]:.1f} s)")
    for backend, measured in seconds.items():
        run.add(Figure(f"burst{count}", f"{count} orders at once, {run.sizes.burst_delay:g} s "
                       f"backend delay: all {WAITING}", backend, statistics.median(measured),
                       "s"))

