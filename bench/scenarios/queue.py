"""A storage-queue trigger starting orchestrations: message written -> orchestration started.

The app (``bench/apps/queued``) is hosted on ``LocalHost`` as ``make run`` hosts it
(orchestrators replay in one worker process) with ``host.json``'s default queue options.
Messages are written at a steady ten a second from outside the host (the storage SDK on
Azurite; the memory hub's own queues in memory), each carrying the moment it was written;
its queue function starts one orchestration with that body. The latency of a message is
from that moment to the first episode of its orchestration (the Timestamp of its first
OrchestratorStarted, the same machine's clock); p50 and p95 over every message, after a
few warm-up messages of the same stream. (After an idle spell the listener polls less
often, doubling its wait up to ``maxPollingInterval``, one minute by default, as Azure's
does: the first message after a quiet minute may wait that long; this figure is the
steady state.)
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import datetime
from pathlib import Path

from azure.storage.queue import TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient

from bench.context import Run
from bench.durable import REPLAY_PROCESSES, RUN_TIMEOUT_SECONDS
from bench.figures import AZURITE, Figure
from bench.scenarios.orders import percentile
from devhost.app.loader import import_state_kept
from devhost.app.settings import HostSettings
from devhost.engine.protocol import EventType
from devhost.host import LocalHost
from devhost.taskhub.base import TaskHub
from devhost.triggers.queue_listener import encode_content
from devhost.triggers.queues import memory_queues

APP_DIR = Path(__file__).resolve().parents[1] / "apps" / "queued"
# The first messages of the stream are not measured: the first start through the SDK
# client opens its session, and the first episodes start the replay worker's imports.
WARM_UP = 10
SEND_INTERVAL_SECONDS = 0.1


async def _started_at(hub: TaskHub, instance_id: str) -> float | None:
    """When the instance's first episode ran (epoch seconds), or None if it has not yet."""
    for event in await hub.get_history(instance_id):
        if event["EventType"] == EventType.ORCHESTRATOR_STARTED:
            return datetime.fromisoformat(str(event["Timestamp"]).replace("Z", "+00:00"))\
                .timestamp()
    return None


async def _latencies(hub: TaskHub, expected: int) -> list[float]:
    """Milliseconds from each measured message's writing to its orchestration's start."""
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while True:
        records = [r for r in await hub.query_instances() if r.name == "queued"]
        bodies = [(r.instance_id, json.loads(r.input or "{}")) for r in records]
        measured = [(i, b) for i, b in bodies if not b.get("warm")]
        if len(measured) >= expected:
            starts = [(await _started_at(hub, i), b) for i, b in measured]
            if all(at is not None for at, _ in starts):
                return [(at - body["sent"]) * 1000 for at, body in starts if at is not None]
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(measured)} of {expected} queued orchestrations started")
        await asyncio.sleep(0.2)


async def _run_on(run: Run, backend: str, count: int) -> list[float]:
    queue = f"bench-{uuid.uuid4().hex[:12]}"
    hubs: list[TaskHub] = []

    def make_hub(_settings: HostSettings) -> TaskHub:
        hubs.append(run.backends.make_hub(backend, "queue"))
        return hubs[-1]

    saved = dict(os.environ)
    os.environ.update(BENCH_QUEUE=queue, BENCH_HUB=f"bq{uuid.uuid4().hex[:10]}")
    host = LocalHost(APP_DIR, make_hub, port=0, replay_processes=REPLAY_PROCESSES)
    try:
        with import_state_kept():
            await host.start()
        hub = hubs[0]
        if backend == AZURITE:
            client = QueueClient.from_connection_string(
                run.backends.connection_string, queue,
                message_encode_policy=TextBase64EncodePolicy())
            await client.create_queue()

            async def send(text: str) -> None:
                await client.send_message(text)
        else:
            queues = memory_queues(hub, hub.clock)

            async def send(text: str) -> None:
                await queues.send(queue, encode_content(text.encode(), "base64"))
        try:
            # One steady stream: warm-up messages first, then the measured ones.
            for n in range(WARM_UP + count):
                body = {"seq": n, "sent": time.time(), "warm": n < WARM_UP}
                await send(json.dumps(body))
                await asyncio.sleep(SEND_INTERVAL_SECONDS)
            return await _latencies(hub, count)
        finally:
            if backend == AZURITE:
                await client.close()
    finally:
        await host.stop()
        os.environ.clear()
        os.environ.update(saved)


async def scenario(run: Run) -> None:
    """Queue-to-start latency on every backend: p50 and p95."""
    count = run.sizes.queue_messages
    for backend in run.backends.names:
        if backend == AZURITE:
            await asyncio.to_thread(run.backends.renew)
        latencies = await _run_on(run, backend, count)
        for share, suffix in ((0.5, "p50"), (0.95, "p95")):
            name = (f"queue message -> orchestration started, {count} messages at 10/s, "
                    f"{suffix}")
            run.add(Figure(f"queue{count}_{suffix}", name, backend,
                           percentile(latencies, share), "ms"))
