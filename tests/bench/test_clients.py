"""The benchmark's observers and clients keep going through a storage hiccup."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bench import durable
from bench.durable import CommitWatch
from devhost.clock import SystemClock
from devhost.engine.protocol import execution_started
from devhost.errors import StorageUnavailable
from devhost.taskhub.base import Commit, InstanceRecord, Message, RuntimeStatus
from devhost.taskhub.memory import MemoryTaskHub

ROOT = Path(__file__).resolve().parents[2]


async def test_a_commit_that_raised_after_it_was_applied_is_still_seen(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The watch reads the record again once storage answers, as a polling client would."""
    monkeypatch.setattr(durable, "REREAD_SECONDS", 0.05)
    hub = MemoryTaskHub(SystemClock())
    applied = hub.complete_orchestration_work

    async def applied_then_timed_out(*args: Any, **kwargs: Any) -> None:
        await applied(*args, **kwargs)
        raise StorageUnavailable("commit episode: Timeout on reading data from socket")

    hub.complete_orchestration_work = applied_then_timed_out  # type: ignore[method-assign]
    watch = CommitWatch(hub)
    seen: list[InstanceRecord] = []
    watch.listeners.append(seen.append)
    await hub.start()
    start = execution_started("Order", "o-1", None, SystemClock().now())
    record = InstanceRecord("o-1", "Order", RuntimeStatus.PENDING, SystemClock().now(),
                            SystemClock().now())
    await hub.create_instance(record, Message("o-1", start))
    item = await hub.fetch_orchestration_work(1.0)
    assert item is not None
    done = InstanceRecord("o-1", "Order", RuntimeStatus.COMPLETED, record.created_at,
                          SystemClock().now())
    with pytest.raises(StorageUnavailable):
        await hub.complete_orchestration_work(item, Commit(done))
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.02)
    assert [r.runtime_status for r in seen] == [RuntimeStatus.COMPLETED]
    await hub.close()


async def test_the_order_client_waits_out_503s_as_the_api_asks() -> None:
    """Placements and approvals answered 503 + Retry-After are sent again, then succeed."""
    calls: dict[str, int] = {}

    async def flaky(request: web.Request) -> web.Response:
        calls[request.path] = calls.get(request.path, 0) + 1
        if calls[request.path] == 1:
            return web.json_response({"error": "unavailable"}, status=503,
                                     headers={"Retry-After": "0"})
        if request.path.endswith("/approve"):
            # The first approval may have gone through: the order says it is decided.
            return web.json_response({"error": "already decided"}, status=409)
        return web.json_response({"orderId": "o-1"}, status=200)

    app = web.Application()
    app.router.add_post("/api/orders", flaky)
    app.router.add_post("/api/orders/{id}/approve", flaky)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        client = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.order_client", f"http://127.0.0.1:{port}", "key",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT)
        out, _ = await asyncio.wait_for(
            client.communicate(b'{"place": "o-1"}\n{"approve": "o-1"}\n'), 30)
    finally:
        await runner.cleanup()
    answers = {next(iter(a)): a for a in map(json.loads, out.decode().splitlines())}
    assert answers["placed"]["status"] == 202 and answers["placed"]["error"] is None
    assert answers["approved"]["status"] == 202 and answers["approved"]["sentAt"]
    assert calls == {"/api/orders": 2, "/api/orders/o-1/approve": 2}
