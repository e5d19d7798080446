"""Replay exported histories through the SDK against an app's current code.

Each history goes to the orchestrator's ``handle`` once, whole, the way the engine runs an
episode (``devhost.engine.protocol.orchestration_context``, ``sdk_call``); the answer is
compared with the history (``compare``). Only when the code parts from the history at its
very end (it yields more, or ends otherwise) are the history's last episodes replayed one
by one, to name the episode where that starts.

The app is imported afresh for each call from its folder as it is on disk now, and what
that import put in ``sys.modules`` and ``sys.path`` is undone afterwards, so one process
may replay an app, change its code, and replay again.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from devhost.app.loader import (
    APP_MODULE,
    FunctionIndex,
    OrchestratorFunction,
    import_state_kept,
    load_app,
)
from devhost.engine.protocol import (
    HELD,
    SCHEDULING_EVENTS,
    EventType,
    HistoryEvent,
    as_played,
    orchestration_context,
)
from devhost.engine.sdk_call import OrchestratorAnswer, call_orchestrator
from devhost.engine.suspension import visible_to_sdk
from devhost.history.compare import Difference, first_difference
from devhost.history.format import InstanceHistory, read_document
from devhost.history.report import Divergence, ReplayReport

__all__ = ["app_code", "fresh_imports", "replay", "replay_instance"]


def replay(app_dir: str | Path, exported: Any) -> ReplayReport:
    """Replay ``exported`` (an export document, one record, a list of records, or
    ``InstanceHistory`` objects) against the code in ``app_dir``.

    Raises ``HistoryFormatError`` for input the export format does not allow and
    ``AppLoadError`` for an app that does not load, before replaying anything.
    """
    if isinstance(exported, InstanceHistory):
        exported = [exported]
    if isinstance(exported, list) and exported and all(
            isinstance(item, InstanceHistory) for item in exported):
        exported = [item.to_json() for item in exported]  # checked like any other input
    records = read_document(exported)
    report = ReplayReport()
    with app_code(Path(app_dir)) as index:
        for record in records:
            report.replayed.append(record.instance_id)
            divergence = replay_instance(index.orchestrators, record)
            if divergence is not None:
                report.divergences.append(divergence)
    return report


def replay_instance(orchestrators: Mapping[str, OrchestratorFunction],
                    record: InstanceHistory) -> Divergence | None:
    """The first place where the current code parts from ``record``'s history, or None."""
    history = record.history
    orchestrator = orchestrators.get(record.name)
    if orchestrator is None:
        start = _start_index(history)
        known = ", ".join(sorted(orchestrators)) or "none"
        return _divergence(record, Difference(
            start, f"orchestrator '{record.name}'",
            f"the app has no orchestrator '{record.name}' (it has: {known})"))
    difference = first_difference(history, _answer(orchestrator, record, history))
    if difference is not None and difference.at_end:
        difference = _episode_of(orchestrator, record, difference)
    return None if difference is None else _divergence(record, difference)


def _answer(orchestrator: OrchestratorFunction, record: InstanceHistory,
            history: list[HistoryEvent]) -> OrchestratorAnswer:
    start = history[_start_index(history)]
    parent = start.get("ParentInstance") or {}
    context = orchestration_context(record.instance_id, as_played(visible_to_sdk(history)),
                                    start.get("Input"), parent.get("InstanceId"))
    with warnings.catch_warnings():
        # The SDK warns of completions it cannot match when the code changed; the report
        # says where that starts.
        warnings.simplefilter("ignore", UserWarning)
        return call_orchestrator(orchestrator.handle, context)


def _episode_of(orchestrator: OrchestratorFunction, record: InstanceHistory,
                found: Difference) -> Difference:
    """The first episode whose replay already parts from the history, from the one that
    scheduled the history's last task on (earlier ones matched, as the whole did)."""
    history = record.history
    scheduled = [n for n, e in enumerate(history)
                 if e["EventType"] in SCHEDULING_EVENTS and not e.get(HELD)]
    ends = [n for n, e in enumerate(history)
            if e["EventType"] == EventType.ORCHESTRATOR_COMPLETED
            and n >= (scheduled[-1] if scheduled else 0)]
    for end in ends[:-1]:
        prefix = history[:end + 1]
        difference = first_difference(prefix, _answer(orchestrator, record, prefix))
        if difference is not None:
            return difference
    return found


def _start_index(history: list[HistoryEvent]) -> int:
    return next(n for n, e in enumerate(history)
                if e["EventType"] == EventType.EXECUTION_STARTED)


def _divergence(record: InstanceHistory, difference: Difference) -> Divergence:
    return Divergence(record.instance_id, record.name, difference.index,
                      record.history[difference.index], difference.holds, difference.does)


# The host's own package: an app never imports it, and the host keeps running on it.
_HOST_PACKAGE = __name__.partition(".")[0]


def _provided_by(module_name: str, folder: str) -> bool:
    """Whether the app in ``folder`` (with a trailing separator) provides ``module_name``:
    its top-level name is a module or package of the folder (the host's own excepted)."""
    top = module_name.partition(".")[0]
    if top == _HOST_PACKAGE:
        return False
    return (top == APP_MODULE or os.path.isfile(f"{folder}{top}.py")
            or os.path.isdir(f"{folder}{top}"))


@contextlib.contextmanager
def fresh_imports(app_dir: Path) -> Iterator[None]:
    """Within the block, the app's own modules import from ``app_dir`` as it is now, even
    where a module of the same name was imported before from elsewhere (another copy of
    the app, its tests); afterwards ``sys.modules`` holds those earlier modules again."""
    folder = str(app_dir.resolve()) + os.sep
    earlier = {name: module for name, module in list(sys.modules.items())
               if _provided_by(name, folder)}
    for name in earlier:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [name for name in sys.modules if _provided_by(name, folder)]:
            del sys.modules[name]
        sys.modules.update(earlier)


@contextlib.contextmanager
def app_code(app_dir: Path) -> Iterator[FunctionIndex]:
    """The app in ``app_dir`` imported from its files as they are now; afterwards
    ``sys.modules`` and ``sys.path`` are as before (``fresh_imports``)."""
    with fresh_imports(app_dir), import_state_kept():
        yield load_app(app_dir.resolve())
