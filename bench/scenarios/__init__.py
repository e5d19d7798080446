"""The benchmark scenarios, by the name ``--only`` takes, in the order they run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bench.context import Run
from bench.scenarios import (
    burst,
    events,
    fan_out,
    kit_orders,
    orders,
    queue,
    replay,
    sequential,
    storage,
)

Scenario = Callable[[Run], Awaitable[None]]

SCENARIOS: dict[str, Scenario] = {
    "storage": storage.scenario,
    "replay": replay.scenario,
    "sequential": sequential.scenario,
    "fan-out": fan_out.scenario,
    "events": events.scenario,
    "orders": orders.scenario,
    "burst": burst.scenario,
    "testkit": kit_orders.scenario,
    "queue": queue.scenario,
}

__all__ = ["SCENARIOS", "Scenario"]
