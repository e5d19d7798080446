"""The replay check's benchmark: a valid recorded history, timed beside the SDK alone."""

from __future__ import annotations

import json

import pytest

from bench.backends import Backends
from bench.context import Run
from bench.durable import BENCH_APP_DIR, app_index
from bench.figures import NO_BACKEND
from bench.replay_check import chain_record, check_seconds, side_by_side
from bench.scenarios.replay import check_against_code
from bench.targets import apply_targets
from devhost.engine.protocol import EventType
from tests.bench.test_smoke import TINY


def test_the_recorded_chain_is_a_running_history_that_replays_the_same() -> None:
    """About the asked number of events, ending with the episode that scheduled the next
    step; the check passes on it and the figures come side by side."""
    index = app_index(BENCH_APP_DIR)
    record = chain_record(100)
    history = record["history"]
    assert 95 <= len(history) <= 105
    assert [e["EventType"] for e in history[-2:]] == [EventType.TASK_SCHEDULED,
                                                      EventType.ORCHESTRATOR_COMPLETED]
    assert check_seconds(index, record) > 0
    times = side_by_side(index, 100, repeats=3)
    assert times.events == len(history) and times.check > 0 and times.sdk > 0


def test_a_history_the_code_would_not_make_fails_the_check_loudly() -> None:
    """The benchmark times only a check that passes: another step's input is refused."""
    index = app_index(BENCH_APP_DIR)
    record = json.loads(json.dumps(chain_record(60)))
    scheduled = next(e for e in record["history"] if e["EventType"] == EventType.TASK_SCHEDULED)
    scheduled["Input"] = json.dumps("not the step")
    with pytest.raises(RuntimeError, match="diverged"):
        check_seconds(index, record)


def test_the_ratio_figure_gets_its_target() -> None:
    """The check's figures land in the run; the ratio is judged against 1.5x the SDK."""
    run = Run(Backends(()), TINY, progress=lambda text: None)
    check_against_code(run, app_index(BENCH_APP_DIR))
    apply_targets(run)
    ratio = run.find("replay_check_ratio", NO_BACKEND)
    assert ratio is not None and ratio.target is not None
    assert ratio.target.bound == 1.5 and not ratio.target.at_least
    check, sdk = run.find("replay_check", NO_BACKEND), run.find("replay_check_sdk", NO_BACKEND)
    assert check is not None and sdk is not None
    assert ratio.value == pytest.approx(check.value / sdk.value)
