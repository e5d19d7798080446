"""Turn one leased work item into one commit: episodes through the SDK, history, new work.

Pure apart from calling the orchestrator: it takes the instance's record, history and new
messages and the time, and returns what to write and send. Storage never decides anything.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from devhost.app.loader import OrchestratorFunction
from devhost.engine.actions import NO_CONTINUE, Schedulable, UnsupportedAction, flatten
from devhost.engine.determinism import non_determinism
from devhost.engine.history_view import HistoryView, completion_key
from devhost.engine.protocol import (
    ActionType,
    EventType,
    HistoryEvent,
    ParentInstanceRef,
    as_played,
    execution_started,
    orchestration_context,
    orchestrator_completed,
    orchestrator_started,
    sub_orchestration_created,
    task_scheduled,
    timer_created,
    timer_fired,
    to_json_text,
)
from devhost.engine.recording import Recorder
from devhost.engine.refusals import refuse_action, refuse_custom_status
from devhost.engine.rewind import plan_rewind, rewind_request, rewind_requested
from devhost.engine.sdk_call import OrchestratorAnswer, call_orchestrator
from devhost.engine.suspension import (
    CONTROL_EVENTS,
    delivered_copy,
    held_copy,
    segments,
    visible_to_sdk,
)
from devhost.engine.versioning import (
    NO_VERSIONING,
    VERSION_MISMATCH,
    FailureStrategy,
    VersionPolicy,
    VersionRejected,
)
from devhost.taskhub.base import (
    ActivityTask,
    Commit,
    InstanceRecord,
    Message,
    OrchestrationWorkItem,
    ParentRef,
    RuntimeStatus,
)

log = logging.getLogger(__name__)

# The app's orchestrators by name, as the loader indexed them.
Orchestrators = Mapping[str, OrchestratorFunction]


class Episodes(Recorder):
    """Runs the episodes of one work item and gathers their commit."""

    def __init__(self, item: OrchestrationWorkItem, orchestrators: Orchestrators,
                 now: datetime, activities: Collection[str],
                 versions: VersionPolicy = NO_VERSIONING) -> None:
        """Prepare to apply ``item``'s messages at time ``now``.

        ``activities`` names the app's activity functions: calling any other fails the
        orchestration, as Azure's host refuses it. ``versions`` says which instance
        versions this host runs, and the version new sub-orchestrations get.
        """
        self.item = item
        self.versions = versions
        self.orchestrators = orchestrators
        self.activities = activities
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
        if record.runtime_status == RuntimeStatus.FAILED:
            rewind = rewind_request(messages, self.view.message_ids)
            if rewind is not None:
                return self._rewind(rewind)
        if record.runtime_status.has_ended:
            # A parent starting a child under the id of an ended instance (a re-run
            # parent's children) replaces it, as a client's start_new does; every other
            # message for an ended instance is dropped.
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
            # A start arriving with its terminate is recorded too: every history opens
            # with its ExecutionStarted.
            starts = [e for e in fresh if e["EventType"] == EventType.EXECUTION_STARTED]
            self._terminate(terminate, starts)
            return self.commit
        assert self.commit.record is not None
        if self.versions.refuses(self.commit.record.version):
            return self._refuse_version(fresh)
        for events in segments(fresh):
            record = self.commit.record
            assert record is not None
            if events[0]["EventType"] in CONTROL_EVENTS:
                self._suspend_or_resume(events[0])
            elif record.runtime_status == RuntimeStatus.SUSPENDED:
                self._bookkeeping([held_copy(event) for event in events])
            else:
                self._deliver(events)
            if not self._may_go_on():
                break
        return self.commit

    def _may_go_on(self) -> bool:
        """Whether later events still apply to this execution (it neither ended nor
        continued as new)."""
        assert self.commit.record is not None
        status = self.commit.record.runtime_status
        return not status.has_ended and status != RuntimeStatus.CONTINUED_AS_NEW

    def _deliver(self, events: list[HistoryEvent]) -> None:
        """Run the episodes for ``events``, as far as the execution goes on."""
        for batch in self._batches(events):
            self._episode(batch)
            if not self._may_go_on():
                return

    def _suspend_or_resume(self, control: HistoryEvent) -> None:
        """Suspend a running instance, or resume a suspended one and deliver what it held."""
        record = self.commit.record
        assert record is not None
        suspending = control["EventType"] == EventType.EXECUTION_SUSPENDED
        self._bookkeeping([control])
        if suspending and record.runtime_status == RuntimeStatus.RUNNING:
            self.commit.record = replace(record, runtime_status=RuntimeStatus.SUSPENDED,
                                         updated_at=self.now)
        elif not suspending and record.runtime_status == RuntimeStatus.SUSPENDED:
            self.commit.record = replace(record, runtime_status=RuntimeStatus.RUNNING,
                                         updated_at=self.now)
            held = [delivered_copy(event) for event in self.view.held.values()]
            if held:
                self._deliver(held)

    def _refuse_version(self, fresh: list[HistoryEvent]) -> Commit:
        """An instance whose version this host may not run: its work waits (Reject), or it
        fails without running (Fail), as DurableTask.Core's dispatcher decides."""
        record = self.commit.record
        assert record is not None
        if self.versions.failure == FailureStrategy.REJECT:
            raise VersionRejected(f"instance {record.instance_id} has version "
                                  f"{record.version!r}; this host runs "
                                  f"{self.versions.match.value} {self.versions.default_version!r}")
        self._record(orchestrator_started(self.now))
        for event in fresh:
            self._record(event)
        self._finish(failed=True, output=VERSION_MISMATCH)
        self._record(orchestrator_completed(self.now))
        return self.commit

    def _rewind(self, request: Message) -> Commit:
        """Clear a failed execution's failures and run it again (devhost.engine.rewind):
        Pending, its failed activities queued again, its failed children rewound; an
        instance with no failed child replays at once, as the provider revives it."""
        record = self.commit.record
        assert record is not None
        plan = plan_rewind(self.history)
        if plan.stranded:
            log.warning("rewind of %s: tasks %s were running when it failed and their results "
                        "were dropped; it will wait for them for ever, as on Azure",
                        record.instance_id, plan.stranded)
        self.history, self.view = list(plan.history), HistoryView(plan.history)
        self.commit = Commit(record=replace(record, runtime_status=RuntimeStatus.PENDING,
                                            output=None, updated_at=self.now),
                             new_history=list(plan.history), replace_history=True)
        for task in plan.activities:
            self.commit.activities.append(ActivityTask(
                record.instance_id, task.task_id, task.name, task.input,
                execution_id=record.execution_id))
        reason = str(request.event.get("Data") or "")
        for child in plan.children:
            self.commit.outbound.append(Message(child, rewind_requested(reason, self.now)))
        revival: HistoryEvent = {**request.event, "MessageId": request.message_id}
        if plan.children:
            self._bookkeeping([revival])
        else:
            self._deliver([revival])
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
            version=start.get("Version") or "",
            parent=ParentRef(parent["InstanceId"], int(parent["TaskScheduledId"]),
                             parent.get("ExecutionId"))
            if parent else None,
        )

    def _child_restart(self, messages: list[Message]) -> Message | None:
        """A sub-orchestration start this ended instance's history has not seen."""
        return next((m for m in messages
                     if m.event["EventType"] == EventType.EXECUTION_STARTED
                     and m.event.get("ParentInstance")
                     and m.message_id not in self.view.message_ids), None)

    def _fresh_events(self, messages: list[Message]) -> list[HistoryEvent]:
        """The messages' events that are news, each tagged with its message id.

        Each message counts once (a start queued again may arrive twice in one batch, on a
        hub whose inbox does not key messages by id), each task's completion once, and an
        answer addressed to another execution (a timer set before continue-as-new) never.
        """
        fresh: list[HistoryEvent] = []
        claimed: set[tuple[int, int]] = set()
        taken: set[str] = set()
        record = self.commit.record
        assert record is not None
        for message in messages:
            event: HistoryEvent = {**message.event, "MessageId": message.message_id}
            if not self.view.is_news(event, message.message_id):
                continue
            if message.message_id in taken:
                continue
            taken.add(message.message_id)
            if event.get("ExecutionId", record.execution_id) != record.execution_id:
                continue
            task_key = completion_key(event)
            if task_key is not None:
                if task_key in claimed:
                    continue  # two deliveries of one completion in the same batch
                claimed.add(task_key)
            fresh.append(event)
        # The start comes first; everything else keeps its arrival order.
        fresh.sort(key=lambda e: e["EventType"] != EventType.EXECUTION_STARTED)
        return fresh

    def _batches(self, fresh: list[HistoryEvent]) -> list[list[HistoryEvent]]:
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

    def _episode(self, batch: list[HistoryEvent]) -> None:
        record = self.commit.record
        assert record is not None
        past = as_played(visible_to_sdk(self.history))
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
        # Azure's shim sets the custom status first, then applies the actions in order,
        # refusing any it cannot run; a refusal fails the orchestration with its reason,
        # outside user code (OutOfProcOrchestrationShim.ScheduleDurableTaskEvents).
        custom = answer.state.get("customStatus")
        refusal = refuse_custom_status(custom)
        mismatch = None if refusal else non_determinism(self.view.user_scheduled, schedulables)
        if mismatch:
            answer.error = mismatch
        elif refusal is None:
            for action in schedulables[len(self.view.user_scheduled):]:
                refusal = refuse_action(action, record, self.activities, self.orchestrators)
                if refusal is not None:
                    break
                self._schedule(action)
            retry_step = batch[-1] if batch and self.view.is_retry_step(batch[-1]) else None
            if retry_step is not None and answer.error is None and refusal is None:
                self._take_retry_step(retry_step)
        if refusal is not None:
            answer.error = refusal
        elif custom is not None:
            record = replace(record, custom_status=to_json_text(custom))
        record = replace(record, updated_at=self.now)
        # Every execution that ran an episode is Running, a new one after continue-as-new
        # too (run() applies later batches only to a Running instance).
        if record.runtime_status in (RuntimeStatus.PENDING, RuntimeStatus.CONTINUED_AS_NEW):
            record = replace(record, runtime_status=RuntimeStatus.RUNNING)
        self.commit.record = record

        if answer.error is not None:
            self._finish(failed=True, output=f"Orchestrator function '{record.name}' failed: "
                                             f"{answer.error}")
        elif continue_input is not NO_CONTINUE:
            self._continue_as_new(continue_input)
            # The old execution's history is dropped whole, its OrchestratorCompleted too:
            # the new execution's history opens with its own start.
            return
        elif answer.state.get("isDone"):
            self._finish(failed=False, output=answer.state.get("output"))
        self._record(orchestrator_completed(self.now))

    # New work ----------------------------------------------------------------------------

    def _schedule(self, action: Schedulable, **retry_fields: Any) -> int:
        """Record ``action`` under the next task id and queue its work; return the id.

        ``retry_fields`` mark a later attempt of a retried call (``RetryOf``, ``Attempt``).
        """
        record = self.commit.record
        assert record is not None
        task_id = self.view.next_id
        if action.retry is not None and not retry_fields:
            retry_fields = {"RetryPolicy": action.retry.as_fields(), "Attempt": 1}
        if action.kind == ActionType.CREATE_TIMER:
            assert action.fire_at is not None
            self._record(timer_created(task_id, action.fire_at, self.now))
            if not action.cancelled:
                fired = timer_fired(task_id, action.fire_at, action.fire_at)
                fired["ExecutionId"] = record.execution_id
                self.commit.outbound.append(Message(record.instance_id, fired,
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
            # Azure's default id is the parent's execution id and the task id, so every
            # attempt of a retried call gets a new one; an explicit id is kept on retries
            # (DurableTask.Core TaskOrchestrationContext.CreateSubOrchestrationInstanceCore).
            child = action.instance_id or f"{record.execution_id}:{task_id}"
            self._record(sub_orchestration_created(task_id, action.name, child, action.input,
                                                   self.now, **retry_fields))
            parent: ParentInstanceRef = {"InstanceId": record.instance_id,
                                         "TaskScheduledId": task_id,
                                         "ExecutionId": record.execution_id}
            version = (action.version if action.version is not None
                       else self.versions.default_version)
            self.commit.outbound.append(Message(child, execution_started(
                action.name, child, action.input, self.now, parent=parent, version=version)))
        return task_id

    def _take_retry_step(self, step: HistoryEvent) -> None:
        """Record what the SDK's retry wrapper does for a failed attempt or a fired timer."""
        if step["EventType"] == EventType.TIMER_FIRED:
            timer = self.view.scheduled[step["TimerId"]]
            failed_id = int(timer["RetryFor"])
            attempt = int(timer["Attempt"])
            root = self.view.retry_root(failed_id)
            assert root is not None
            if attempt >= self.view.retry_policy(root).max_attempts:
                return  # the SDK now hands the error to the orchestrator
            first = self.view.scheduled[root]
            kind = (ActionType.CALL_ACTIVITY
                    if first["EventType"] == EventType.TASK_SCHEDULED
                    else ActionType.CALL_SUB_ORCHESTRATOR)
            record = self.commit.record
            assert record is not None
            # A child started under an id of the caller's choosing keeps it on every attempt.
            child = first.get("InstanceId")
            explicit = child if child and child != f"{record.execution_id}:{root}" else None
            again = Schedulable(kind, name=first["Name"], input=first.get("Input"),
                                instance_id=explicit)
            self._schedule(again, RetryOf=root, Attempt=attempt + 1)
            return
        failed_id = int(step["TaskScheduledId"])
        root = self.view.retry_root(failed_id)
        assert root is not None
        attempt = int(self.view.scheduled[failed_id].get("Attempt", 1))
        policy = self.view.retry_policy(root)
        # After the last attempt Azure still creates the retry timer, but one that fires
        # at once, so the failure reaches the orchestrator without another interval
        # (DurableTask.Core RetryInterceptor.Invoke, "Dummy timer for back-compat").
        delay = (timedelta(0) if attempt >= policy.max_attempts
                 else timedelta(milliseconds=policy.first_interval_ms))
        record = self.commit.record
        assert record is not None
        timer_id = self.view.next_id
        fire_at = self.now + delay
        self._record(timer_created(timer_id, fire_at, self.now,
                                   RetryFor=failed_id, Attempt=attempt))
        fired = timer_fired(timer_id, fire_at, fire_at)
        fired["ExecutionId"] = record.execution_id
        self.commit.outbound.append(Message(record.instance_id, fired, visible_at=fire_at))
