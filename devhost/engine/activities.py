"""Run one activity the way the Python worker does, and turn the outcome into a message."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Mapping
from concurrent.futures import Executor
from typing import Any

from azure.functions._durable_functions import df_dumps, df_loads

from devhost.engine.failures import activity_failure
from devhost.engine.protocol import HistoryEvent, task_completed, task_failed
from devhost.taskhub.base import ActivityTask, Message

log = logging.getLogger(__name__)



def decode_input(input_text: str | None) -> Any:
    """The activity's argument, decoded from JSON text as the worker's converter does."""
    if input_text is None:
        return None
    try:
        return df_loads(input_text)
    except json.JSONDecodeError:
        return input_text  # the worker falls back to the raw string too


async def run_activity(task: ActivityTask, activities: Mapping[str, Any], pool: Executor,
                       now: Any) -> Message:
    """Run ``task``'s function and return its TaskCompleted or TaskFailed message.

    Sync functions run on ``pool`` (they may block for seconds); async ones on the loop.
    ``now`` is a callable giving the completion time.
    """
    function = activities.get(task.name)
    if function is None:
        event = task_failed(task.task_id, f"no activity function named '{task.name}'", None,
                            now())
        return _answer(task, event)
    try:
        argument = {function.input_param: decode_input(task.input)}
        if function.is_async:
            result = await function.func(**argument)
        else:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(pool, functools.partial(function.func, **argument))
        event = task_completed(task.task_id, df_dumps(result), now())
    except Exception as error:  # noqa: BLE001 - an activity's failure is data for the orchestrator
        log.info("activity %s for %s failed: %s", task.name, task.instance_id, error)
        reason, details = activity_failure(task.name, error)
        event = task_failed(task.task_id, reason, details, now())
    return _answer(task, event)


def _answer(task: ActivityTask, event: HistoryEvent) -> Message:
    """The result message, addressed to the execution that scheduled the task."""
    if task.execution_id:
        event["ExecutionId"] = task.execution_id
    return Message(task.instance_id, event)
