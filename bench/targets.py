"""The issue's targets, and the ones derived from other figures of the same run."""

from __future__ import annotations

import re

from bench.context import Run
from bench.figures import AZURITE, MEMORY, NO_BACKEND, Target

# On Azurite (absolute).
AZURITE_TARGETS = {
    "chain": Target(25),
    "fan_out": Target(200),
    "events": Target(150),
    "orders": Target(10),
    "orders_p95": Target(500, at_least=False),
    # A queue message written -> its orchestration started, in ms.
    "queue_p95": Target(1000, at_least=False),
}
# In memory (absolute): 300 orders, each three 2 s backend actions from waiting, all
# waiting within about three delays. On Azurite the storage calls of 300 orders take longer
# than that on their own (about 10 orders/s), so the figure there has no target.
MEMORY_TARGETS = {
    "burst": Target(10, at_least=False),
    # The order flow from placing to `expired` through the test kit, median ms per order.
    "testkit_order_ms": Target(50, at_least=False),
}
# Figures that involve no task hub (absolute): replay's check of a recorded history costs at
# most this many times the SDK's own replay of it, measured side by side.
NO_BACKEND_TARGETS = {
    "replay_check_ratio": Target(1.5, at_least=False, why="x SDK replay"),
}
# In memory, these figures should be at least this many times their Azurite figure.
MEMORY_MULTIPLE = 4.0
MEMORY_MULTIPLE_KEYS = ("fan_out", "events", "orders")
# The in-memory chain should reach this share of what the SDK's replay alone allows.
SDK_SHARE = 2 / 3
SDK_CEILING_KEY = "chain_sdk_ceiling"


def _family(key: str) -> str:
    """A figure's key without its size: ``orders50`` -> ``orders``, ``orders50_p95`` ->
    ``orders_p95``."""
    return re.sub(r"^([a-z_]*[a-z])\d+", r"\1", key)


def apply_targets(run: Run) -> None:
    """Give every figure of the run its target, now that all figures are in."""
    for figure in run.figures:
        family = _family(figure.key)
        if figure.backend == MEMORY and family in MEMORY_TARGETS:
            figure.target = MEMORY_TARGETS[family]
        elif figure.backend == AZURITE and family in AZURITE_TARGETS:
            figure.target = AZURITE_TARGETS[family]
        elif figure.backend == NO_BACKEND and family in NO_BACKEND_TARGETS:
            figure.target = NO_BACKEND_TARGETS[family]
        elif figure.backend == MEMORY and family in MEMORY_MULTIPLE_KEYS:
            azurite = run.find(figure.key, AZURITE)
            if azurite is not None:
                figure.target = Target(MEMORY_MULTIPLE * azurite.value,
                                       why=f"{MEMORY_MULTIPLE:.0f}x azurite")
        elif figure.backend == MEMORY and family == "chain":
            ceiling = run.find(SDK_CEILING_KEY, NO_BACKEND)
            if ceiling is not None:
                figure.target = Target(SDK_SHARE * ceiling.value, why="2/3 of SDK ceiling")
