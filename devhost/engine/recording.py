"""Recording one work item's outcome: history events, and how an execution ends.

``Recorder`` is the part of ``Episodes`` that writes into the commit: events in order (and
into the history view), bookkeeping episodes that call no orchestrator, and the endings
(completed, failed, continued as new, terminated) with the message a parent gets.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from devhost.engine.history_view import HistoryView
from devhost.engine.protocol import (
    EventType,
    HistoryEvent,
    ParentInstanceRef,
    execution_completed,
    execution_started,
    orchestrator_completed,
    orchestrator_started,
    sub_orchestration_completed,
    sub_orchestration_failed,
    to_json_text,
)
from devhost.taskhub.base import (
    Commit,
    InstanceRecord,
    Message,
    ParentRef,
    RuntimeStatus,
    new_message_id,
)

__all__ = ["Recorder"]


class Recorder:
    """Writes events and endings into ``commit``; ``Episodes`` decides what to write."""

    commit: Commit
    history: list[HistoryEvent]
    view: HistoryView
    now: datetime

    def _record(self, item: HistoryEvent) -> None:
        self.history.append(item)
        self.commit.new_history.append(item)
        self.view.add(item)

    def _bookkeeping(self, events: list[HistoryEvent]) -> None:
        """Record ``events`` in an episode of their own, without calling the orchestrator."""
        self._record(orchestrator_started(self.now))
        for event in events:
            self._record(event)
        self._record(orchestrator_completed(self.now))

    # Endings -------------------------------------------------------------------------------

    def _finish(self, failed: bool, output: Any) -> None:
        record = self.commit.record
        assert record is not None
        output_text = to_json_text(output)
        status = RuntimeStatus.FAILED if failed else RuntimeStatus.COMPLETED
        self.commit.record = replace(record, runtime_status=status, output=output_text,
                                     updated_at=self.now)
        self._record(execution_completed(output_text, failed, self.now))
        if record.parent is not None:
            parent = record.parent
            event = (sub_orchestration_failed(parent.task_id, str(output), None, self.now)
                     if failed else
                     sub_orchestration_completed(parent.task_id, output_text, self.now))
            self._tell_parent(parent, event)

    def _tell_parent(self, parent: ParentRef, event: HistoryEvent) -> None:
        """Send a child's outcome to the parent execution that started it."""
        if parent.execution_id:
            event = {**event, "ExecutionId": parent.execution_id}
        self.commit.outbound.append(Message(parent.instance_id, event))

    def _continue_as_new(self, input_text: str | None) -> None:
        """End this execution and queue the start of the next with ``input_text``."""
        record = self.commit.record
        assert record is not None
        self.commit.replace_history = True
        self.commit.new_history = []
        # A fresh execution id: what the old execution still has in flight (timers,
        # activities) is stale when it arrives.
        self.commit.record = replace(record, runtime_status=RuntimeStatus.CONTINUED_AS_NEW,
                                     input=input_text, output=None, updated_at=self.now,
                                     execution_id=new_message_id())
        parent: ParentInstanceRef | None = (
            {"InstanceId": record.parent.instance_id, "TaskScheduledId": record.parent.task_id,
             "ExecutionId": record.parent.execution_id} if record.parent else None)
        self.commit.outbound.append(Message(record.instance_id, execution_started(
            record.name, record.instance_id, input_text, self.now, parent=parent,
            version=record.version)))

    def _terminate(self, terminate: HistoryEvent, starts: list[HistoryEvent]) -> None:
        record = self.commit.record
        assert record is not None
        reason_text = terminate.get("Input")
        reason = json.loads(reason_text) if reason_text else None
        self._record(orchestrator_started(self.now))
        for start in starts:
            self._record(start)
        self._record(terminate)
        self._record(orchestrator_completed(self.now))
        self.commit.record = replace(record, runtime_status=RuntimeStatus.TERMINATED,
                                     output=to_json_text(reason), updated_at=self.now)
        if record.parent is not None:
            self._tell_parent(record.parent, sub_orchestration_failed(
                record.parent.task_id, f"terminated: {reason}", None, self.now))


def record_from_start(instance_id: str, messages: list[Message],
                      now: datetime) -> InstanceRecord | None:
    """A sub-orchestration's record, made from its ExecutionStarted message (None when
    ``messages`` hold none)."""
    start = next((m.event for m in messages
                  if m.event["EventType"] == EventType.EXECUTION_STARTED), None)
    if start is None:
        return None
    parent = start.get("ParentInstance") or None
    return InstanceRecord(
        instance_id=instance_id,
        name=start["Name"],
        runtime_status=RuntimeStatus.PENDING,
        created_at=now,
        updated_at=now,
        input=start.get("Input"),
        version=start.get("Version") or "",
        parent=ParentRef(parent["InstanceId"], int(parent["TaskScheduledId"]),
                         parent.get("ExecutionId"))
        if parent else None,
    )
