"""Call an orchestrator's ``handle`` and read its answer, failures included."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devhost.errors import ReplayWorkerLost

log = logging.getLogger(__name__)

OUT_OF_PROC_MARKER = "$OutOfProcData$:"


class ReplayedError(Exception):
    """An orchestrator raised in a replay worker process; ``str()`` is what the worker sent.

    For the SDK's own exception that ends with the marker and state, as in one process;
    for any other it is ``Type: text`` (the worker logged the traceback).
    """


@dataclass
class OrchestratorAnswer:
    """The orchestrator state the SDK returned, and the error text when it raised."""

    state: dict[str, Any]
    error: str | None = None


def call_orchestrator(handle: Callable[[str], str], context_json: str) -> OrchestratorAnswer:
    """Run one episode through the SDK's ``handle``.

    When the user's generator raises, the SDK raises an exception whose text ends with the
    marker and the state JSON (actions so far, with ``error`` set): the host records those
    actions and fails the instance. Any other exception is a failure without actions, except
    ``ReplayWorkerLost``: the process replaying it died, and the caller runs it again.
    """
    try:
        return OrchestratorAnswer(json.loads(handle(context_json)))
    except ReplayWorkerLost:
        raise  # the host's fault, not the orchestrator's: the episode runs again
    except Exception as raised:  # user code may raise anything
        text = str(raised)
        if OUT_OF_PROC_MARKER in text:
            message, _, state_text = text.rpartition(OUT_OF_PROC_MARKER)
            try:
                state = json.loads(state_text)
            except ValueError:
                state = {}
            error = state.get("error") or message.strip()
            return OrchestratorAnswer(state, str(error))
        if isinstance(raised, ReplayedError):
            return OrchestratorAnswer({}, text)
        log.exception("orchestrator raised outside the SDK's contract")
        return OrchestratorAnswer({}, f"{type(raised).__name__}: {text}")
