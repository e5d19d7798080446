"""Replay cost against history length: one episode through the host, and the SDK alone;
and ``devhost replay``'s check of a recorded history beside the SDK's replay of it.

Histories of the benchmark app's chain of about 100, 1000 and 5000 events, built with
devhost.engine.protocol; the episode's new event is the last activity's result. "Host" is the
engine's whole episode (``Episodes.run``: the context JSON, the SDK's ``handle``, reading
its answer); "SDK alone" is ``handle`` on the ready context JSON. Growth figures compare
the cost per event at the largest size with that at the smallest: 1.0 is linear.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable

from bench.apps.noop.noop_names import CHAIN
from bench.context import Run
from bench.durable import BENCH_APP_DIR, app_index
from bench.figures import NO_BACKEND, Figure
from bench.histories import (
    episode_with_history,
    history_length,
    host_seconds,
    sdk_seconds,
)
from bench.replay_check import side_by_side
from devhost.app.loader import FunctionIndex

# Repeat each timing about this many events' worth (at least 3 times, at most 50).
EVENTS_PER_SIZE = 20_000
# The recorded history checked against the code beside the SDK's own replay of it: the
# run's replay size nearest this many events, timed about 30,000 events' worth in a full
# run (a third of that in a quick one).
CHECK_EVENTS = 1000
CHECK_EVENTS_TIMED = 30_000
FULL_REPEATS = 3


def _median(count: int, timing: Callable[[], float]) -> float:
    timing()  # warm-up
    return statistics.median(timing() for _ in range(count))


async def scenario(run: Run) -> None:
    """Time one episode at each history size, through the host and the SDK alone."""
    index = app_index(BENCH_APP_DIR)
    handle = index.orchestrators[CHAIN].handle
    per_event: dict[str, list[tuple[int, float]]] = {"host": [], "sdk": []}
    for events in run.sizes.replay:
        episode = episode_with_history(events)
        length = history_length(episode)
        context = episode.context_json()
        repeats = max(3, min(50, EVENTS_PER_SIZE // length))
        host = _median(repeats, functools.partial(host_seconds, index, episode))
        sdk = _median(repeats, functools.partial(sdk_seconds, handle, context))
        run.add(Figure(f"replay{events}_host", f"replay, {length} events: host episode",
                       NO_BACKEND, host * 1000, "ms"))
        run.add(Figure(f"replay{events}_sdk", f"replay, {length} events: SDK alone",
                       NO_BACKEND, sdk * 1000, "ms"))
        per_event["host"].append((length, host / length))
        per_event["sdk"].append((length, sdk / length))
    check_against_code(run, index)
    if len(run.sizes.replay) < 2:
        return
    for who, points in per_event.items():
        (small, first), (large, last) = points[0], points[-1]
        label = "host episode" if who == "host" else "SDK alone"
        run.add(Figure(f"replay_growth_{who}",
                       f"replay cost per event, {large} vs {small} events: {label} "
                       "(1 = linear)", NO_BACKEND, last / first, "ratio"))


def check_against_code(run: Run, index: FunctionIndex) -> None:
    """``devhost replay``'s check of a recorded ~1,000-event history, timed in turns with
    the SDK's own replay of it; the ratio is what the check costs over the SDK."""
    events = min(run.sizes.replay, key=lambda size: abs(size - CHECK_EVENTS))
    timed = CHECK_EVENTS_TIMED * run.sizes.repeats // FULL_REPEATS
    times = side_by_side(index, events, max(5, min(50, timed // events)))
    run.add(Figure("replay_check", f"replay check, {times.events} events: against the code",
                   NO_BACKEND, times.check * 1000, "ms"))
    run.add(Figure("replay_check_sdk", f"replay check, {times.events} events: SDK alone, "
                   "side by side", NO_BACKEND, times.sdk * 1000, "ms"))
    run.add(Figure("replay_check_ratio", f"replay check, {times.events} events: check / SDK",
                   NO_BACKEND, times.check / times.sdk, "ratio"))
