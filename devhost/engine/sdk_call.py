"""Call an orchestrator's ``handle`` and read its answer, failures included."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

OUT_OF_PROC_MARKER = "$OutOfProcData$:"


@dataclass
class OrchestratorAnswer:
    """The orchestrator state the SDK returned, and the error text when it raised."""

    state: dict[str, Any]
    error: str | None = None


def call_orchestrator(handle: Callable[[str], str], context_json: str) -> OrchestratorAnswer:
    """Run one episode through the SDK's ``handle``.

    When the user's generator raises, the SDK raises an exception whose text ends with the
    marker and the state JSON (actions so far, with ``error`` set): the host records those
    actions and fails the instance. Any other exception is a failure without actions.
    """
    try:
        return OrchestratorAnswer(json.loads(handle(context_json)))
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
        log.exception("orchestrator raised outside the SDK's contract")
        return OrchestratorAnswer({}, f"{type(raised).__name__}: {text}")
