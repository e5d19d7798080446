"""The app's tracebacks, kept per instance, so a failed orchestration says where it broke.

On Azure the status output of a failed orchestration is the reason alone (``Orchestrator
function 'X' failed: ...``) and the traceback goes to the function's log. The test kit
keeps that output as it is and also keeps the traceback: the orchestrators' handles are
wrapped so that the exception the app's code raised (the cause of the SDK's own) is
formatted once, for the instance whose episode raised it. For a failure that came from an
activity, the activity's traceback is in the failed task's details, as Azure records it.
"""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from devhost.app.loader import OrchestratorFunction
from devhost.engine.protocol import EventType, HistoryEvent

__all__ = ["AppTracebacks", "activity_traceback"]


class AppTracebacks:
    """The latest traceback of the app's orchestrator code, per instance id."""

    def __init__(self) -> None:
        """Start with none (episodes run on another thread: hence the lock)."""
        self._lock = threading.Lock()
        self._by_instance: dict[str, str] = {}

    def get(self, instance_id: str) -> str | None:
        """The traceback the instance's orchestrator last raised with, if any."""
        with self._lock:
            return self._by_instance.get(instance_id)

    def watching(self, orchestrators: Mapping[str, OrchestratorFunction]
                 ) -> Mapping[str, OrchestratorFunction]:
        """``orchestrators`` whose handles record the app's traceback when they raise."""
        return MappingProxyType({name: OrchestratorFunction(name, self._wrap(function.handle))
                                 for name, function in orchestrators.items()})

    def _wrap(self, handle: Callable[[str], str]) -> Callable[[str], str]:
        def recording(context_json: str) -> str:
            try:
                return handle(context_json)
            except Exception as raised:
                # The SDK raises its own exception ``from`` the one the app's code raised.
                self._record(context_json, raised.__cause__ or raised)
                raise
        return recording

    def _record(self, context_json: str, error: BaseException) -> None:
        try:
            instance_id = str(json.loads(context_json)["instanceId"])
        except (ValueError, KeyError, TypeError):
            return
        text = "".join(traceback.format_exception(error))
        with self._lock:
            self._by_instance[instance_id] = text


def activity_traceback(history: list[HistoryEvent]) -> str | None:
    """The traceback of the last failed activity in ``history``, from its TaskFailed
    details (the stack Azure's host records with the worker's exception), or None."""
    for event in reversed(history):
        if event["EventType"] != EventType.TASK_FAILED:
            continue
        try:
            details: Any = json.loads(event.get("Details") or "null")
            inner = details.get("InnerException") or {}
            stack = inner.get("RemoteStackTraceString")
        except (ValueError, AttributeError):
            return None
        return str(stack) if stack else None
    return None
