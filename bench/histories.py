"""Histories of the benchmark app's chain, built with devhost.engine.protocol, and their replay.

The chain records four events a step (OrchestratorStarted, TaskCompleted, TaskScheduled,
OrchestratorCompleted), as the engine does. These histories drive two measurements: each
episode through the SDK's ``handle`` alone (what the SDK costs), and through the host's
episode code (``Episodes``: context JSON, the SDK, reading its answer).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from bench.apps.noop.noop_names import CHAIN, NOOP
from devhost.app.loader import FunctionIndex
from devhost.engine.executor import Episodes
from devhost.engine.protocol import (
    EventType,
    HistoryEvent,
    as_played,
    execution_completed,
    execution_started,
    orchestration_context,
    orchestrator_completed,
    orchestrator_started,
    task_completed,
    task_scheduled,
)
from devhost.taskhub.base import InstanceRecord, Message, OrchestrationWorkItem, RuntimeStatus

INSTANCE_ID = "bench-replay"
AT = datetime(2024, 1, 1, tzinfo=timezone.utc)


def chain_input(count: int) -> str:
    """The chain's input as JSON text."""
    return json.dumps({"count": count})


@dataclass
class Episode:
    """One episode of a chain: the history before it and its new events."""

    past: list[HistoryEvent]
    new: list[HistoryEvent]
    input_text: str

    def context_json(self) -> str:
        """What the host hands the SDK's ``handle`` for this episode."""
        return orchestration_context(INSTANCE_ID, as_played(self.past) + self.new,
                                     self.input_text)

    def work_item(self) -> OrchestrationWorkItem:
        """The same episode as the host's work item: record, history, the new message."""
        record = InstanceRecord(INSTANCE_ID, CHAIN, RuntimeStatus.RUNNING, AT, AT,
                                input=self.input_text)
        completed = self.new[-1]
        return OrchestrationWorkItem(INSTANCE_ID, [Message(INSTANCE_ID, completed)], record,
                                     list(self.past))


def chain_episodes(steps: int, count: int | None = None) -> list[Episode]:
    """Every episode of a ``steps``-activity chain, in order (``steps + 1`` of them).

    ``count`` is the chain's input (default ``steps``): a larger one leaves the chain
    running after the last episode, as in the middle of a longer chain.
    """
    input_text = chain_input(steps if count is None else count)
    history: list[HistoryEvent] = []
    episodes = []
    new = [orchestrator_started(AT), execution_started(CHAIN, INSTANCE_ID, input_text, AT)]
    for step in range(steps + 1):
        if step > 0:
            new = [orchestrator_started(AT), task_completed(step - 1, json.dumps(step - 1), AT)]
        episodes.append(Episode(list(history), new, input_text))
        history += new
        if step < steps or (count or steps) > steps:
            history.append(task_scheduled(step, NOOP, json.dumps(step), AT))
        else:
            history.append(execution_completed(json.dumps(steps), False, AT))
        history.append(orchestrator_completed(AT))
    return episodes


def episode_with_history(events: int) -> Episode:
    """A chain episode whose history (past and new) holds about ``events`` events."""
    steps = max(1, (events - 2) // 4)
    return chain_episodes(steps, count=steps + 10)[-1]


def recorded_history(events: int) -> list[HistoryEvent]:
    """A chain's committed history of about ``events`` events, the chain still running: the
    last episode's events, then the task it scheduled and its OrchestratorCompleted."""
    episode = episode_with_history(events)
    step = sum(1 for event in episode.past if event["EventType"] == EventType.TASK_SCHEDULED)
    return [*episode.past, *episode.new, task_scheduled(step, NOOP, json.dumps(step), AT),
            orchestrator_completed(AT)]


def history_length(episode: Episode) -> int:
    """How many events the SDK receives for the episode."""
    return len(episode.past) + len(episode.new)


def sdk_seconds(handle: Callable[[str], str], context_json: str) -> float:
    """One call of the SDK's ``handle``, timed; fails loudly if the SDK refused."""
    started = time.perf_counter()
    answer = handle(context_json)
    took = time.perf_counter() - started
    if "actions" not in json.loads(answer):
        raise RuntimeError(f"the SDK answered without actions: {answer[:200]}")
    return took


def host_seconds(index: FunctionIndex, episode: Episode) -> float:
    """The host's whole episode (``Episodes.run``) for ``episode``, timed."""
    item = episode.work_item()
    started = time.perf_counter()
    commit = Episodes(item, index.orchestrators, AT, index.activities).run()
    took = time.perf_counter() - started
    if commit is None or commit.record is None or not commit.new_history:
        raise RuntimeError("the host recorded nothing for the episode")
    return took


def chain_sdk_seconds(index: FunctionIndex, steps: int) -> float:
    """The SDK's own time to replay every episode of a ``steps``-activity chain."""
    handle = index.orchestrators[CHAIN].handle
    contexts = [episode.context_json() for episode in chain_episodes(steps)]
    return sum(sdk_seconds(handle, context) for context in contexts)
