"""Load: ``SLOW_LOAD_ORDERS`` orders (default 100) at once through one host on Azurite.

Every order is placed at the same moment and approved as soon as its status says it is
awaiting approval; the client's concurrency is bounded (``SLOW_LOAD_CONNECTIONS``, default
16) so the host, Azurite and the test share the machine's cores. The figures (orders, wall
time, orders/s, peak RSS of the host process) are printed for the README.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from devhost.http.keys import HostKeys
from devhost.local.azurite import AzuriteProcess
from fcm_emulator import FcmEmulator
from tests.support.host_process import APP_DIR, FUNCTION_KEY, HostStarter, device_token
from tests.support.trials import (
    ENDED,
    STAGES,
    check_pushes,
    check_timeline,
    cpu_seconds,
    current_rss_mib,
    env_float,
    env_int,
    peak_rss_mib,
    report,
)

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

WEBHOOK = "runtime/webhooks/durabletask"
# A production-like lease: under load a message may wait in the host's buffer for a while,
# and the 3 s of the crash tests would hand work out twice without any fault.
VISIBILITY_SECONDS = 60.0
ORDER_TIMEOUT_SECONDS = 600.0
PAGE = 100


@dataclass
class Outcome:
    """One order as its client saw it."""

    order_id: str
    placed: int
    final: dict[str, Any]
    seconds: float
    refused: int
    polls: int


class LoadClient:
    """The mobile app and the staff for many orders, over one bounded aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, poll_seconds: float
                 ) -> None:
        self.session = session
        self.api = f"{base_url}/api"
        self.poll_seconds = poll_seconds

    async def _call(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.session.request(method, url, **kwargs) as reply:
            return reply.status, await reply.json(content_type=None)

    async def _pause(self) -> None:
        # Jittered, so thousands of polls do not arrive in lockstep.
        await asyncio.sleep(self.poll_seconds * random.uniform(0.5, 1.5))

    async def run_order(self, order_id: str) -> Outcome:
        """Place, approve as soon as asked, and poll until the order has ended."""
        started = time.monotonic()
        refused = polls = 0
        body = {"regId": device_token(order_id), "orderId": order_id,
                "items": [{"name": "Neapolitan pizza with pineapple", "quantity": 1}]}
        while True:
            placed, answer = await self._call("POST", f"{self.api}/orders", json=body)
            if placed != 503:  # 503 is "retry": the same order id is safe to place again
                break
            refused += 1
            await self._pause()
        # 200 only if a refused attempt had started it after all.
        assert placed == 202 or (placed == 200 and refused), f"{order_id} place {placed}"
        approved = False
        while True:
            await self._pause()
            polls += 1
            code, status = await self._call("GET", f"{self.api}/orders/{order_id}")
            if code == 503:
                refused += 1
                continue
            assert code == 200, f"{order_id} status {code}: {status}"
            if status["runtimeStatus"] in ENDED:
                return Outcome(order_id, placed, status, time.monotonic() - started,
                               refused, polls)
            if status["stage"] == "awaiting_approval" and not approved:
                code, answer = await self._call(
                    "POST", f"{self.api}/orders/{order_id}/approve", json={"approved": True},
                    headers={"x-functions-key": FUNCTION_KEY})
                assert code in (202, 503), f"{order_id} approve {code}: {answer}"
                approved = code == 202
                refused += code == 503


async def instances_on_hub(session: aiohttp.ClientSession, base_url: str, prefix: str
                           ) -> list[dict[str, Any]]:
    """Every instance whose id starts with ``prefix``, through the management API's pages."""
    key = HostKeys.load(APP_DIR).system_key
    found: list[dict[str, Any]] = []
    token = None
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        async with session.get(f"{base_url}/{WEBHOOK}/instances/",
                               params={"instanceIdPrefix": prefix, "top": str(PAGE),
                                       "code": key}, headers=headers) as reply:
            assert reply.status == 200, await reply.text()
            found.extend(await reply.json())
            token = reply.headers.get("x-ms-continuation-token")
        if not token:
            return found


async def started_once(session: aiohttp.ClientSession, base_url: str, order_id: str) -> int:
    """How many times the instance's history says it was started."""
    key = HostKeys.load(APP_DIR).system_key
    async with session.get(f"{base_url}/{WEBHOOK}/instances/{order_id}",
                           params={"showHistory": "true", "code": key}) as reply:
        assert reply.status == 200, await reply.text()
        status = await reply.json()
    return sum(e["EventType"] == "ExecutionStarted" for e in status["historyEvents"])


async def test_many_concurrent_orders_through_one_host(start_host: HostStarter,
                                                       azurite: AzuriteProcess,
                                                       module_fcm: FcmEmulator) -> None:
    """N orders at once: all finish, none lost or doubled, and the host's memory stays bounded."""
    orders = env_int("SLOW_LOAD_ORDERS", 100)
    connections = env_int("SLOW_LOAD_CONNECTIONS", 16)
    delay = env_float("SLOW_LOAD_BACKEND_DELAY", 0.0)
    max_rss = env_float("SLOW_LOAD_MAX_RSS_MIB", 400.0)
    host = start_host(visibility_timeout=VISIBILITY_SECONDS,
                      BACKEND_ACTION_DELAY_SECONDS=str(delay),
                      APPROVAL_TIMEOUT_SECONDS=str(int(ORDER_TIMEOUT_SECONDS * 2)))
    assert host.process is not None
    pid = host.process.pid
    rss_at_start = current_rss_mib(pid)
    assert azurite.pid is not None
    cpu_before = cpu_seconds(pid), cpu_seconds(azurite.pid)
    prefix = f"load-{uuid.uuid4().hex[:10]}-"
    ids = [f"{prefix}{number:05d}" for number in range(orders)]
    # Each order polls about this often; more orders, slower polls, so that status reads
    # do not crowd out the work they are waiting for.
    poll_seconds = env_float("SLOW_LOAD_POLL_SECONDS", max(0.25, orders / 250))

    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        client = LoadClient(session, host.base_url, poll_seconds)
        started = time.monotonic()
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(client.run_order(order_id) for order_id in ids)),
            ORDER_TIMEOUT_SECONDS)
        wall = time.monotonic() - started
        peak = peak_rss_mib(pid)  # read while the host still runs
        host_cpu = cpu_seconds(pid) - cpu_before[0]
        azurite_cpu = cpu_seconds(azurite.pid) - cpu_before[1]
        assert host.alive, host.log_tail()
        listed = await instances_on_hub(session, host.base_url, prefix)
        starts = await asyncio.gather(*(started_once(session, host.base_url, order_id)
                                        for order_id in ids))

    # None lost, none doubled: one instance per order id, each started once.
    assert Counter(i["instanceId"] for i in listed) == Counter(ids)
    assert all(i["runtimeStatus"] == "Completed" for i in listed)
    assert starts == [1] * orders
    pushes: dict[str, list[dict[str, Any]]] = {}
    for message in module_fcm.messages():
        pushes.setdefault(str(message["token"]), []).append(message)
    for outcome in outcomes:
        check_timeline(outcome.final, STAGES)
        # No fault here, so no repeats: exactly one push per stage, one `finished` each.
        assert check_pushes(outcome.order_id, pushes.get(device_token(outcome.order_id), []),
                            STAGES) == 0
    assert peak < max_rss, f"the host's peak RSS was {peak:.0f} MiB (bound {max_rss:.0f})"

    latencies = sorted(o.seconds for o in outcomes)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    report(f"load: {orders} orders (BACKEND_ACTION_DELAY_SECONDS={delay:g}, "
           f"{connections} connections, polls every ~{poll_seconds:.2f} s) in {wall:.1f} s "
           f"= {orders / wall:.1f} orders/s through one host; per order placed->finished "
           f"median {statistics.median(latencies):.1f} s, p95 {p95:.1f} s; host RSS "
           f"{rss_at_start:.0f} MiB at start, peak {peak:.0f} MiB (bound {max_rss:.0f}); "
           f"CPU host {host_cpu:.0f} s, Azurite {azurite_cpu:.0f} s; "
           f"{sum(o.polls for o in outcomes)} status polls, "
           f"{sum(o.refused for o in outcomes)} answers 503")
