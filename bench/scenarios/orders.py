"""The real order flow through the local host's HTTP API, many orders at once.

The order app in the project folder runs on ``LocalHost`` (its HTTP routes, the durable
management API its client calls, the runtime), pushing to the FCM emulator (a process of
its own, see bench.emulator); backend work takes no time (BACKEND_ACTION_DELAY_SECONDS=0).
All orders are placed at once; each is approved through the staff route the moment its
status says ``awaiting_approval``. The bench sees that moment by watching the commits of
the task hub it handed the host (``CommitWatch``), as a client polling the status without
pause would. The HTTP requests come from another process (``bench.order_client``), as
phones and staff are not in the host's process either.

Figures: orders per second from the first order placed to the last order completed (the
median of the batches), and the latency from each approve request to its ``finished`` push
reaching the emulator (the emulator stamps ``receivedAt``; all batches pooled).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench.context import Run
from bench.durable import ORDER_APP_DIR, REPLAY_PROCESSES, RUN_TIMEOUT_SECONDS, CommitWatch
from bench.emulator import EmulatorProcess, emulator_process
from bench.figures import AZURITE, Figure
from bench.scenarios.storage import rates_for
from bench.storage_calls import QUEUE, TABLE, calls_of, counting
from devhost.app.loader import import_state_kept
from devhost.app.settings import HostSettings
from devhost.host import LocalHost
from devhost.taskhub.base import InstanceRecord, TaskHub

FUNCTION_KEY = "bench-function-key-0123456789"
WARM_UP_ORDERS = 2
# How long a client process may take to answer its last requests once told to stop.
CLIENT_STOP_SECONDS = 10.0


@contextlib.contextmanager
def app_environment(fcm_host_port: str) -> Iterator[None]:
    """The order app's settings for the run; the process environment is restored after
    (the host also exports ``local.settings.json`` values into it)."""
    saved = dict(os.environ)
    os.environ.update({
        "BACKEND_ACTION_DELAY_SECONDS": "0",
        "FCM_EMULATOR_HOST": fcm_host_port,
        "FCM_PROJECT_ID": "bench-project",
        "FCM_TIMEOUT_SECONDS": "10",
        "APPROVAL_TIMEOUT_SECONDS": "1800",
        "PUSH_MAX_ATTEMPTS": "4",
        "PUSH_FIRST_RETRY_MILLISECONDS": "5000",
        "LOCAL_FUNCTION_KEY": FUNCTION_KEY,
        "FCM_SERVICE_ACCOUNT_JSON": "",
        "GOOGLE_APPLICATION_CREDENTIALS": "",
    })
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def stage_of(record: InstanceRecord) -> str | None:
    """The stage the order's custom status shows."""
    if not record.custom_status:
        return None
    status = json.loads(record.custom_status)
    return status.get("stage") if isinstance(status, dict) else None


@dataclass
class Batch:
    """The orders of one measured batch and what happened to them."""

    ids: list[str]
    members: set[str] = field(init=False)
    placed: set[str] = field(default_factory=set)
    all_placed: asyncio.Event = field(default_factory=asyncio.Event)
    approved_at: dict[str, datetime] = field(default_factory=dict)
    completed_at: dict[str, float] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.members = set(self.ids)

    def fail(self, error: str) -> None:
        """Note what went wrong and stop waiting."""
        self.errors.append(error)
        self.all_placed.set()
        self.done.set()


@contextlib.asynccontextmanager
async def following(client: ClientProcess, answers: Coroutine[Any, Any, None]
                    ) -> AsyncIterator[None]:
    """Read the client process's answers with ``answers`` meanwhile; afterwards stop the
    client, then the reader."""
    reader = asyncio.create_task(answers)
    try:
        yield
    finally:
        await client.stop()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


class ClientProcess:
    """``bench.order_client`` as a child process: the phones and staff of one host."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, base_url: str, key: str) -> ClientProcess:
        """Start the client for the host at ``base_url``."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.order_client", base_url, key,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            cwd=ORDER_APP_DIR)
        return cls(process)

    def send(self, command: dict[str, str]) -> None:
        """Queue one command (``place`` or ``approve``)."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")

    async def answers(self) -> AsyncIterator[dict[str, Any]]:
        """The client's answers as they come, until it exits."""
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            yield json.loads(line)

    async def stop(self) -> None:
        """Close its input (it exits once its requests are answered); kill it if it hangs."""
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), CLIENT_STOP_SECONDS)
        except asyncio.TimeoutError:
            self.process.kill()
            await self.process.wait()


class OrderDriver:
    """Has orders placed, approves them when asked, and notes when they complete."""

    def __init__(self, client: ClientProcess) -> None:
        self.client = client
        self.batch: Batch | None = None

    # The hub's commits ----------------------------------------------------------------------

    def committed(self, record: InstanceRecord) -> None:
        """Note a committed record: approve when asked, count the order when it ended."""
        batch = self.batch
        if batch is None or record.instance_id not in batch.members:
            return
        order_id = record.instance_id
        if record.runtime_status.has_ended:
            batch.completed_at.setdefault(order_id, time.perf_counter())
            if len(batch.completed_at) == len(batch.ids):
                batch.done.set()
        elif stage_of(record) == "awaiting_approval" and order_id not in batch.asked:
            batch.asked.add(order_id)
            self.client.send({"approve": order_id})

    # The client's answers -------------------------------------------------------------------

    async def follow_answers(self) -> None:
        """Apply the client's answers to the current batch until the client exits."""
        async for answer in self.client.answers():
            batch = self.batch
            if batch is None:
                continue
            if "placed" in answer:
                if answer["status"] != 202:
                    batch.fail(f"place {answer['placed']}: {answer['status']} {answer['error']}")
                batch.placed.add(answer["placed"])
                if len(batch.placed) == len(batch.ids):
                    batch.all_placed.set()
            elif answer["status"] == 202:
                batch.approved_at[answer["approved"]] = datetime.fromisoformat(answer["sentAt"])
            else:
                batch.fail(f"approve {answer['approved']}: {answer['status']} {answer['error']}")

    async def run(self, count: int, tag: str) -> tuple[Batch, float]:
        """Have ``count`` orders placed at once and wait until all completed; the batch and
        the seconds from the first order placed to the last completed."""
        batch = Batch([f"{tag}-{uuid.uuid4().hex[:12]}-{n:04d}" for n in range(count)])
        self.batch = batch
        started = time.perf_counter()
        for order_id in batch.ids:
            self.client.send({"place": order_id})
        await asyncio.wait_for(batch.all_placed.wait(), RUN_TIMEOUT_SECONDS)
        if not batch.errors:
            await asyncio.wait_for(batch.done.wait(), RUN_TIMEOUT_SECONDS)
        self.batch = None
        if batch.errors:
            raise RuntimeError(f"{len(batch.errors)} orders went wrong, e.g. {batch.errors[0]}")
        return batch, max(batch.completed_at.values()) - started


async def latencies_ms(batch: Batch, emulator: EmulatorProcess) -> list[float]:
    """Per order: from the approve request to the ``finished`` push reaching the emulator."""
    finished: dict[str, datetime] = {}
    for message in await emulator.messages():
        data = message.get("data") or {}
        if data.get("stage") == "finished":
            at = datetime.fromisoformat(message["receivedAt"].replace("Z", "+00:00"))
            finished[data.get("orderId", "")] = at
    missing = [order_id for order_id in batch.ids if order_id not in finished]
    if missing:
        raise RuntimeError(f"{len(missing)} orders never pushed 'finished', e.g. {missing[0]}")
    return [(finished[order_id] - batch.approved_at[order_id]).total_seconds() * 1000
            for order_id in batch.ids]


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (0..1) by linear interpolation."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(share * 100) - 1]


async def _batch_on_host(run: Run, backend: str, count: int
                         ) -> tuple[Batch, float, Counter[str]]:
    """A fresh host and task hub, two warm-up orders, then the measured batch."""
    hubs: list[TaskHub] = []

    def make_hub(_settings: HostSettings) -> TaskHub:
        hubs.append(run.backends.make_hub(backend, f"orders{count}"))
        return hubs[-1]

    host = LocalHost(ORDER_APP_DIR, make_hub, port=0, replay_processes=REPLAY_PROCESSES)
    with import_state_kept():  # the host imports the app's function_app
        await host.start()
    try:
        client = await ClientProcess.start(host.base_url, FUNCTION_KEY)
        driver = OrderDriver(client)
        async with following(client, driver.follow_answers()):
            CommitWatch(hubs[0]).listeners.append(driver.committed)
            await driver.run(WARM_UP_ORDERS, "warm")
            counter = run.backends.calls
            with counting(counter):
                before = counter.snapshot()
                batch, seconds = await driver.run(count, f"o{count}")
                made = counter.since(before)
    finally:
        await host.stop()
    return batch, seconds, made


@dataclass
class Batches:
    """The measured batches of one size on one backend, pooled."""

    count: int
    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)

    @property
    def orders(self) -> int:
        """Orders measured in all batches together."""
        return self.count * len(self.rates)


async def _one_batch(run: Run, backend: str, batches: Batches,
                     emulator: EmulatorProcess) -> None:
    """Run one batch on a fresh host (on Azurite, a fresh Azurite too) and pool its results."""
    if backend == AZURITE:
        # A batch leaves ~10,000 table rows and queue messages behind; Azurite slows as
        # they pile up (see Backends.renew), and each batch should start alike.
        await asyncio.to_thread(run.backends.renew)
    with app_environment(emulator.host_port):
        batch, seconds, made = await _batch_on_host(run, backend, batches.count)
    batches.rates.append(batches.count / seconds)
    batches.latencies.extend(await latencies_ms(batch, emulator))
    batches.calls.update(made)
    run.progress(f"  (a batch of {batches.count} [{backend}]: {batches.rates[-1]:.1f} orders/s)")


def _report(run: Run, backend: str, batches: Batches) -> None:
    """The median rate of the batches, their storage use and pooled latency percentiles."""
    count = batches.count
    name = f"order flow, {count} at once"
    figure = Figure(f"orders{count}", name, backend, statistics.median(batches.rates),
                    "orders/s")
    if backend == AZURITE:
        queue, table = calls_of(batches.calls, QUEUE), calls_of(batches.calls, TABLE)
        assert run.storage_rates is not None
        figure.storage_ceiling = run.storage_rates.ceiling(batches.orders, queue, table,
                                                           parallel=True)
        run.add(figure)
        run.add(Figure(f"orders{count}_calls", f"{name}: storage calls per order",
                       AZURITE, (queue + table) / batches.orders, "calls"))
    else:
        run.add(figure)
    for share in (0.50, 0.95, 0.99):
        run.add(Figure(f"orders{count}_p{round(share * 100)}",
                       f"{name}: approve -> finished push, p{round(share * 100)}",
                       backend, percentile(batches.latencies, share), "ms"))


async def scenario(run: Run) -> None:
    """The order flow on every backend, at every batch size (one emulator for all).

    Each size runs ``repeats`` batches per backend, the backends taking turns, so a
    machine that speeds up or slows down meanwhile affects both alike.
    """
    if AZURITE in run.backends.names:
        await rates_for(run)  # the storage ceiling, on the Azurite every scenario starts with
    with emulator_process() as emulator:
        for count in run.sizes.orders:
            pooled = {backend: Batches(count) for backend in run.backends.names}
            for _repeat in range(run.sizes.repeats):
                for backend in run.backends.names:
                    await _one_batch(run, backend, pooled[backend], emulator)
            for backend in run.backends.names:
                _report(run, backend, pooled[backend])
