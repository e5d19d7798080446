"""Turn one leased work item into one commit: episodes through the SDK, history, new work.

Pure apart from calling the orchestrator: it takes the instance's record, history and new
messages and the time, and returns what to write and send. Storage never decides anything.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from devhost.engine.actions import NO_CONTINUE, Schedulable, UnsupportedAction, flatten
from devhost.engine.history_view import (
    ATTEMPT,
    EXECUTION_ID,
    MESSAGE_ID,
    RETRY_FOR,
    RETRY_OF,
    RETRY_POLICY,
    HistoryView,
)
from devhost.engine.protocol import (
    ActionType,
    EventType,
    as_played,
    execution_completed,
    execution_started,
    orchestration_context,
    orchestrator_completed,
    orchestrator_started,
    sub_orchestration_completed,
    sub_orchestration_created,
    sub_orchestration_failed,
    task_scheduled,
    timer_created,
    timer_fired,
    to_json_text,
)
from devhost.engine.sdk_call import OrchestratorAnswer, call_orchestrator
from devhost.taskhub.base import (
    ActivityTask,
    InstanceRecord,
    Message,
    OrchestrationWorkItem,
    ParentRef,
    RuntimeStatus,
    new_message_id,
)

log = logging.getLogger(__name__)

OrchestratorLookup = Any  # Mapping[str, OrchestratorFunction]; kept loose to avoid a cycle


@dataclass
class Commit:
    """Everything one work item changes. ``record`` None means: only drop the messages."""

    record: InstanceRecord | None
    new_history: list[dict[str, Any]] = field(default_factory=list)
    outbound: list[Message] = field(default_factory=list)
    activities: list[ActivityTask] = field(default_factory=list)
    replace_history: bool = False


class Episodes:
    """Runs the episodes of one work item and gathers their commit."""

    def __init__(self, item: OrchestrationWorkItem, orchestrators: OrchestratorLookup,
                 now: datetime) -> None:
        """Prepare to apply ``item``'s messages at time ``now``."""
        self.item = item
        self.orchestrators = orchestrators
        self.now = now
        self.view = HistoryView(item.history)
        self.history = list(item.history)
        self.commit = Commit(record=item.record)

    # Entry point -------------------------------------------------------------------------

    def run(self) -> Commit | None:
        """The commit for the item, or None to leave its messages for later."""
        record = self.item.record
        messages = self.item.messages
        if record is None:
            record = self._record_from_start(messages)
            if record is None:
                return Commit(record=None)  # stray messages for an unknown instance
            self.commit.record = record
        if record.runtime_status.has_ended:
            # Test-found fix: a parent starting a child under the id of an ended instance
            # (a re-run parent's children) replaces it, as a client's start_new does;
            # dropping the start left the parent waiting forever.
            restart = self._child_restart(messages)
            if restart is None:
                return Commit(record=None)
            record = self._record_from_start([restart])
            assert record is not None
            self.commit = Commit(record=record, replace_history=True)
            self.view, self.history, messages = HistoryView([]), [], [restart]

        fresh = self._fresh_events(messages)
        if not fresh:
            return Commit(record=None)
        if not self.view.started and not any(
            e["EventType"] == EventType.EXECUTION_STARTED for e in fresh
        ):
            return None  # events for an instance whose start has not arrived yet
        terminate = next((e for e in fresh if e["EventType"] == EventType.EXECUTION_TERMINATED),
                         None)
        if terminate is not None:
            # Test-found fix: a start arriving with its terminate is recorded too, so
            # the history still opens with its ExecutionStarted.
            starts = [e for e in fresh if e["EventType"] == EventType.EXECUTION_STARTED]
            self._terminate(terminate, starts)
            return self.commit
        for batch in self._batches(fresh):
            self._episode(batch)
            assert self.commit.record is not None
            if self.commit.record.runtime_status != RuntimeStatus.RUNNING:
                break
        return self.commit

    # Messages ------------------------------------------------------------------------------

    def _record_from_start(self, messages: list[Message]) -> InstanceRecord | None:
        """A sub-orchestration's record, made from its ExecutionStarted message."""
        start = next((m.event for m in messages
                      if m.event["EventType"] == EventType.EXECUTION_STARTED), None)
        if start is None:
            return None
        parent = start.get("ParentInstance") or None
        return InstanceRecord(
            instance_id=self.item.instance_id,
            name=start["Name"],
            runtime_status=RuntimeStatus.PENDING,
            created_at=self.now,
            updated_at=self.now,
            input=start.get("Input"),
            parent=ParentRef(parent["InstanceId"], int(parent["TaskScheduledId"]),
                             parent.get(EXECUTION_ID))
            if parent else None,
        )

    def _child_restart(self, messages: list[Message]) -> Message | None:
        """A sub-orchestration start this ended instance's history has not seen."""
        return next((m for m in messages
                     if m.event["EventType"] == EventType.EXECUTION_STARTED
                     and m.event.get("ParentInstance")
                     and m.message_id not in self.view.message_ids), None)

    def _fresh_events(self, messages: list[Message]) -> list[dict[str, Any]]:
        """The messages' events that are news, each tagged with its message id."""
        fresh: list[dict[str, Any]] = []
        claimed: set[tuple[int, int]] = set()
        taken: set[str] = set()
        record = self.commit.record
        assert record is not None
        for message in messages:
            event = {**message.event, MESSAGE_ID: message.message_id}
            if not self.view.is_news(event, message.message_id):
                continue
            if message.message_id in taken:
                # Test-found fix: two copies of one message in one batch (a start queued
                # again by DurableRuntime._requeue_unstarted, on a hub whose inbox does not
                # key messages by id) would both be news to the history.
                continue
            taken.add(message.message_id)
            if event.get(EXECUTION_ID, record.execution_id) != record.execution_id:
                continue  # test-found fix: a timer of an earlier execution
            task_key = _completion_key(event)
            if task_key is not None:
                if task_key in claimed:
                    continue  # two deliveries of one completion in the same batch
                claimed.add(task_key)
            fresh.append(event)
        # The start comes first; everything else keeps its arrival order.
        fresh.sort(key=lambda e: e["EventType"] != EventType.EXECUTION_STARTED)
        return fresh

    def _batches(self, fresh: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """Split events into episodes so ids match the SDK's.

        The SDK hands out a task id while it replays a retry step, after the ids of tasks
        the orchestrator yielded earlier in that replay. With at most one retry step per
        episode, placed last, the host knows that id: the next one after the episode's
        new actions.
        """
        plain = [e for e in fresh if not self.view.is_retry_step(e)]
        steps = [e for e in fresh if self.view.is_retry_step(e)]
        if not steps:
            return [plain]
        return [plain + steps[:1]] + [[step] for step in steps[1:]]

    # One episode ---------------------------------------------------------------------------

    def _record(self, item: dict[str, Any]) -> None:
        self.history.append(item)
        self.commit.new_history.append(item)
        self.view.add(item)

    def _episode(self, batch: list[dict[str, Any]]) -> None:
        record = self.commit.record
        assert record is not None
        past = as_played(self.history)
        opened = orchestrator_started(self.now)
        episode = [opened, *batch]
        orchestrator = self.orchestrators.get(record.name)
        if orchestrator is None:
            answer = OrchestratorAnswer({}, f"no orchestrator function named '{record.name}'")
        else:
            context = orchestration_context(
                record.instance_id, past + episode, record.input,
                record.parent.instance_id if record.parent else None)
            answer = call_orchestrator(orchestrator.handle, context)
        for item in episode:
            self._record(item)

        try:
            schedulables, continue_input = flatten(answer.state.get("actions") or [])
        except UnsupportedAction as unsupported:
            schedulables, continue_input = [], NO_CONTINUE
            answer.error = answer.error or str(unsupported)
        mismatch = self._non_determinism(schedulables)
        if mismatch:
            answer.error = mismatch
        else:
            for action in schedulables[len(self.view.user_scheduled):]:
                self._schedule(action)
            retry_step = batch[-1] if batch and self.view.is_retry_step(batch[-1]) else None
            if retry_step is not None and answer.error is None:
                self._take_retry_step(retry_step)

        custom = answer.state.get("customStatus")
        record = replace(record, updated_at=self.now,
                         custom_status=to_json_text(custom) if custom is not None
                         else record.custom_status)
        # Test-found fix: a new execution after continue-as-new runs as Running too;
        # staying ContinuedAsNew also made run() stop after its first batch, dropping
        # the events of the later batches.
        if record.runtime_status in (RuntimeStatus.PENDING, RuntimeStatus.CONTINUED_AS_NEW):
            record = replace(record, runtime_status=RuntimeStatus.RUNNING)
        self.commit.record = record

        if answer.error is not None:
            self._finish(failed=True, output=f"Orchestrator function '{record.name}' failed: "
                                             f"{answer.error}")
        elif continue_input is not NO_CONTINUE:
            self._continue_as_new(continue_input)
            # Test-found fix: the old execution's history is dropped whole; recording its
            # OrchestratorCompleted here put it first in the new execution's history.
            return
        elif answer.state.get("isDone"):
            self._finish(failed=False, output=answer.state.get("output"))
        self._record(orchestrator_completed(self.now))

    def _non_determinism(self, schedulables: list[Schedulable]) -> str | None:
        """Say where a replay yielded something other than what history recorded."""
        for index, recorded in enumerate(self.view.user_scheduled):
            if index >= len(schedulables):
                return None  # the orchestrator stopped earlier (it raised or returned)
            now_yields = schedulables[index]
            if not _same_action(recorded, now_yields):
                return (f"Non-deterministic workflow detected: task {recorded['EventId']} was "
                        f"{_describe_recorded(recorded)} in history, but the orchestrator now "
                        f"yields {now_yields.describe()} at that point")
        return None

    # New work ----------------------------------------------------------------------------

    def _schedule(self, action: Schedulable, **retry_fields: Any) -> int:
        record = self.commit.record
        assert record is not None
        task_id = self.view.next_id
        if action.retry is not None and not retry_fields:
            retry_fields = {RETRY_POLICY: action.retry.as_fields(), ATTEMPT: 1}
        if action.kind == ActionType.CREATE_TIMER:
            assert action.fire_at is not None
            self._record(timer_created(task_id, action.fire_at, self.now))
            if not action.cancelled:
                self.commit.outbound.append(Message(
                    record.instance_id, {**timer_fired(task_id, action.fire_at, action.fire_at),
                                         EXECUTION_ID: record.execution_id},
                    visible_at=action.fire_at))
        elif action.is_activity:
            assert action.name is not None
            self._record(task_scheduled(task_id, action.name, action.input, self.now,
                                        **retry_fields))
            self.commit.activities.append(
                ActivityTask(record.instance_id, task_id, action.name, action.input,
                             execution_id=record.execution_id))
        elif action.is_sub_orchestration:
            assert action.name is not None
            # A retried attempt runs as a new instance: the failed one keeps its history.
            is_retry = int(retry_fields.get(ATTEMPT, 1)) > 1
            child = (action.instance_id if action.instance_id and not is_retry
                     else f"{record.instance_id}:{task_id}")
            self._record(sub_orchestration_created(task_id, action.name, child, action.input,
                                                   self.now, **retry_fields))
            self.commit.outbound.append(Message(child, execution_started(
                action.name, child, action.input, self.now,
                parent={"InstanceId": record.instance_id, "TaskScheduledId": task_id,
                        EXECUTION_ID: record.execution_id})))
        return task_id

    def _take_retry_step(self, step: dict[str, Any]) -> None:
        """Record what the SDK's retry wrapper does for a failed attempt or a fired timer."""
        if step["EventType"] == EventType.TIMER_FIRED:
            timer = self.view.scheduled[step["TimerId"]]
            failed_id = int(timer[RETRY_FOR])
            attempt = int(timer[ATTEMPT])
            root = self.view.retry_root(failed_id)
            assert root is not None
            if attempt >= self.view.retry_policy(root).max_attempts:
                return  # the SDK now hands the error to the orchestrator
            first = self.view.scheduled[root]
            kind = (ActionType.CALL_ACTIVITY
                    if first["EventType"] == EventType.TASK_SCHEDULED
                    else ActionType.CALL_SUB_ORCHESTRATOR)
            again = Schedulable(kind, name=first["Name"], input=first.get("Input"))
            self._schedule(again, **{RETRY_OF: root, ATTEMPT: attempt + 1})
            return
        failed_id = int(step["TaskScheduledId"])
        root = self.view.retry_root(failed_id)
        assert root is not None
        attempt = int(self.view.scheduled[failed_id].get(ATTEMPT, 1))
        delay = timedelta(milliseconds=self.view.retry_policy(root).first_interval_ms)
        record = self.commit.record
        assert record is not None
        timer_id = self.view.next_id
        fire_at = self.now + delay
        self._record(timer_created(timer_id, fire_at, self.now,
                                   **{RETRY_FOR: failed_id, ATTEMPT: attempt}))
        self.commit.outbound.append(Message(
            record.instance_id, {**timer_fired(timer_id, fire_at, fire_at),
                                 EXECUTION_ID: record.execution_id}, visible_at=fire_at))

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

    def _tell_parent(self, parent: ParentRef, event: dict[str, Any]) -> None:
        """Send a child's outcome to the parent execution that started it."""
        if parent.execution_id:
            event = {**event, EXECUTION_ID: parent.execution_id}
        self.commit.outbound.append(Message(parent.instance_id, event))

    def _continue_as_new(self, input_text: str | None) -> None:
        """End this execution and queue the start of the next with ``input_text``."""
        record = self.commit.record
        assert record is not None
        self.commit.replace_history = True
        self.commit.new_history = []
        # Test-found fix: a fresh execution id, so the old execution's timers are stale.
        self.commit.record = replace(record, runtime_status=RuntimeStatus.CONTINUED_AS_NEW,
                                     input=input_text, output=None, updated_at=self.now,
                                     execution_id=new_message_id())
        parent = ({"InstanceId": record.parent.instance_id,
                   "TaskScheduledId": record.parent.task_id,
                   EXECUTION_ID: record.parent.execution_id} if record.parent else None)
        self.commit.outbound.append(Message(record.instance_id, execution_started(
            record.name, record.instance_id, input_text, self.now, parent=parent)))

    def _terminate(self, terminate: dict[str, Any], starts: list[dict[str, Any]]) -> None:
        record = self.commit.record
        assert record is not None
        reason = json.loads(terminate["Input"]) if terminate.get("Input") else None
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


def _completion_key(event: dict[str, Any]) -> tuple[int, int] | None:
    kind = event["EventType"]
    if kind == EventType.TIMER_FIRED:
        return (kind, event["TimerId"])
    if "TaskScheduledId" in event:
        return (int(EventType.TASK_COMPLETED), event["TaskScheduledId"])
    return None


def _same_action(recorded: dict[str, Any], action: Schedulable) -> bool:
    kind = recorded["EventType"]
    if kind == EventType.TIMER_CREATED:
        return action.kind == ActionType.CREATE_TIMER
    if kind == EventType.TASK_SCHEDULED:
        return action.is_activity and action.name == recorded.get("Name")
    if kind == EventType.SUB_ORCHESTRATION_CREATED:
        return action.is_sub_orchestration and action.name == recorded.get("Name")
    return False


def _describe_recorded(recorded: dict[str, Any]) -> str:
    kind = recorded["EventType"]
    if kind == EventType.TIMER_CREATED:
        return "a timer"
    what = "activity" if kind == EventType.TASK_SCHEDULED else "sub-orchestration"
    return f"{what} '{recorded.get('Name')}'"
