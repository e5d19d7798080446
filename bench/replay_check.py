"""Replay of a recorded history against the app's code (``devhost.history``), timed beside
the SDK's own replay of the same history.

"Check" is what ``devhost replay`` does per history: read the record (the export format's
validation), build the context, the SDK's ``handle``, and the walk comparing its actions
with the history. "SDK alone" is ``handle`` on the same context JSON. The two are timed in
turns, so a busy machine slows both alike.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench.apps.noop.noop_names import CHAIN
from bench.histories import INSTANCE_ID, recorded_history, sdk_seconds
from devhost.app.loader import FunctionIndex
from devhost.engine.protocol import EventType, as_played, orchestration_context
from devhost.history.format import InstanceHistory, read_document
from devhost.history.replay import replay_instance


@dataclass(frozen=True)
class CheckTimes:
    """Median seconds of the check and of the SDK alone, and the history's length."""

    events: int
    check: float
    sdk: float


def chain_record(events: int) -> dict[str, Any]:
    """A running chain's history of about ``events`` events, as the export format has it."""
    return InstanceHistory(INSTANCE_ID, CHAIN, "", "Running",
                           recorded_history(events)).to_json()


def check_seconds(index: FunctionIndex, record: dict[str, Any]) -> float:
    """One replay check of ``record``, timed; fails loudly unless it replays the same."""
    started = time.perf_counter()
    (item,) = read_document(record)
    divergence = replay_instance(index.orchestrators, item)
    took = time.perf_counter() - started
    if divergence is not None:
        raise RuntimeError(f"the chain's own history diverged: {divergence.text()}")
    return took


def side_by_side(index: FunctionIndex, events: int, repeats: int) -> CheckTimes:
    """Median check and SDK-alone times over ``repeats`` turns (after one of each)."""
    record = json.loads(json.dumps(chain_record(events)))
    history = record["history"]
    start = next(event for event in history if event["EventType"] == EventType.EXECUTION_STARTED)
    # The very context the check hands the SDK.
    context = orchestration_context(INSTANCE_ID, as_played(history), start["Input"])
    handle = index.orchestrators[CHAIN].handle
    check_seconds(index, record)
    sdk_seconds(handle, context)
    checks, sdks = [], []
    for _ in range(repeats):
        checks.append(check_seconds(index, record))
        sdks.append(sdk_seconds(handle, context))
    return CheckTimes(len(history), statistics.median(checks), statistics.median(sdks))
