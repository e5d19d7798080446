"""Durable histories built episode by episode, the way a host records them.

A test appends the events that arrive (an activity's result, a timer firing, an external
event), lets the SDK answer the episode through :func:`replay`, and the history then records
what a host records for that answer: a TaskScheduled or TimerCreated for every new action,
the retry timers and re-scheduled attempts of activities called with retry, and the end of
the execution. Every event comes from :mod:`devhost.engine.protocol`, so these histories speak
exactly the engine's dialect.

Task ids. The SDK numbers activities and timers in the order it meets them: first while it
processes the episode's events (a failed attempt of a retried activity takes the next id for
its retry timer, a fired retry timer the next id for the new attempt), then for the actions
the orchestrator yields, depth-first through compound actions; waiting for an external event
takes no id. This history allocates the retry ids for the episode's events in order, then the
ids of the new actions. That matches the SDK whenever the event that lets the orchestrator go
on comes last in its episode, which is how a host delivers one message per episode.

The second half of the module speaks the order orchestrator's language (:class:`OrderHistory`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, TypeVar

from constants import APPROVAL_EVENT, BACKEND_ACTION, ORDER_ORCHESTRATOR
from devhost.engine import protocol
from devhost.engine.protocol import ActionType, EventType

OUT_OF_PROC_MARK = "$OutOfProcData$:"
"""What separates the orchestrator's error from the state JSON when ``handle`` raises."""

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
"""The default start of every history: a fixed moment, far from the machine's clock."""

H = TypeVar("H", bound="History")


class TaskKind(str, Enum):
    """What a recorded task id stands for."""

    ACTIVITY = "activity"
    SUB_ORCHESTRATION = "sub_orchestration"
    TIMER = "timer"
    RETRY_TIMER = "retry_timer"


@dataclass(frozen=True)
class RetryPolicy:
    """The retry options of an activity called with retry, as its action states them."""

    first_interval: timedelta
    max_attempts: int

    @classmethod
    def from_action(cls, options: dict) -> RetryPolicy:
        """Read an action's ``retryOptions``."""
        return cls(
            first_interval=timedelta(milliseconds=options["firstRetryIntervalInMilliseconds"]),
            max_attempts=options["maxNumberOfAttempts"],
        )


@dataclass
class ScheduledTask:
    """A task id the host recorded: an activity attempt, a sub-orchestration or a timer."""

    task_id: int
    kind: TaskKind
    name: str | None = None
    input_text: str | None = None
    fire_at: datetime | None = None
    retry: RetryPolicy | None = None
    attempt: int = 1
    retried: ScheduledTask | None = None  # for a retry timer: the attempt that failed
    done: bool = False

    @property
    def input(self) -> Any:
        """The task's input, decoded from the JSON text the action carried."""
        return None if self.input_text is None else json.loads(self.input_text)


@dataclass(frozen=True)
class Episode:
    """The SDK's answer to one episode, and what the host recorded for it."""

    text: str
    state: dict
    failure: str | None
    new_actions: tuple[dict, ...]
    recorded: tuple[dict, ...]

    @property
    def is_done(self) -> bool:
        """True when the orchestrator returned."""
        return bool(self.state["isDone"])

    @property
    def output(self) -> Any:
        """The orchestrator's return value (absent until it returns)."""
        return self.state.get("output")

    @property
    def error(self) -> str | None:
        """The orchestrator's error, when it raised."""
        return self.state.get("error")

    @property
    def custom_status(self) -> Any:
        """The custom status as the SDK reports it (absent until one is set)."""
        return self.state.get("customStatus")

    @property
    def actions(self) -> list[dict]:
        """Every action ever yielded: schema V3 answers with one list of them."""
        (every,) = self.state["actions"]
        return every

    @property
    def new_atomic_actions(self) -> list[dict]:
        """The atomic actions first yielded in this episode, depth-first."""
        return list(flatten(self.new_actions))

    def action_types(self, *, new_only: bool = True) -> list[int]:
        """The atomic action types, in yield order."""
        actions = self.new_actions if new_only else self.actions
        return [action["actionType"] for action in flatten(actions)]


def flatten(actions: Iterable[dict]) -> Iterator[dict]:
    """Atomic actions depth-first: compound actions (WhenAll/WhenAny) give their children."""
    for action in actions:
        if action["actionType"] in (ActionType.WHEN_ALL, ActionType.WHEN_ANY):
            yield from flatten(action["compoundActions"])
        else:
            yield action


class History:
    """A durable history under construction, one episode at a time.

    Events added with the ``task_*``, ``timer_fired`` and ``event_raised`` methods form the
    next episode; :meth:`context_json` wraps them after the played episodes, and
    :meth:`record` closes the episode with what the host records for the SDK's answer.
    The clock only moves when the test moves it (:meth:`advance`, :meth:`at`).
    """

    def __init__(self, name: str, instance_id: str, input_text: str | None, *,
                 at: datetime = T0) -> None:
        self.name = name
        self.instance_id = instance_id
        self.input_text = input_text
        self._now = at
        self._played: list[dict] = []
        self._new: list[dict] = []
        self._tasks: dict[int, ScheduledTask] = {}
        self._next_id = 0
        self._actions_seen = 0
        self._started = False
        self.ended = False
        self.episodes: list[Episode] = []

    # --- the clock -------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The time the next episode starts (its OrchestratorStarted timestamp)."""
        return self._now

    def advance(self: H, **delta: float) -> H:
        """Move the clock forward, e.g. ``advance(seconds=2)``."""
        step = timedelta(**delta)
        if step < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._now += step
        return self

    def at(self: H, moment: datetime) -> H:
        """Move the clock to ``moment`` (not backwards)."""
        if moment < self._now:
            raise ValueError(f"{moment} is before the history's clock {self._now}")
        self._now = moment
        return self

    # --- events that arrive ----------------------------------------------------------------

    def start(self: H) -> H:
        """ExecutionStarted: the first event of the execution, with the input."""
        if self._started:
            raise ValueError("the execution has already started")
        self._started = True
        return self._arrive(protocol.execution_started(
            self.name, self.instance_id, self.input_text, self._now))

    def task_completed(self: H, task_id: int, result: Any) -> H:
        """The activity ``task_id`` returned ``result`` (JSON-encoded here)."""
        return self.task_completed_text(task_id, protocol.to_json_text(result))

    def task_completed_text(self: H, task_id: int, result_text: str | None) -> H:
        """The activity ``task_id`` returned, with its result as raw JSON text."""
        self._settle(task_id, TaskKind.ACTIVITY)
        return self._arrive(protocol.task_completed(task_id, result_text, self._now))

    def task_failed(self: H, task_id: int, reason: str, details: str | None = None) -> H:
        """The activity ``task_id`` raised."""
        self._settle(task_id, TaskKind.ACTIVITY)
        return self._arrive(protocol.task_failed(task_id, reason, details, self._now))

    def timer_fired(self: H, timer_id: int) -> H:
        """The timer ``timer_id`` fired; the clock moves to its fire time if behind it."""
        timer = self._settle(timer_id, TaskKind.TIMER, TaskKind.RETRY_TIMER)
        assert timer.fire_at is not None
        self._now = max(self._now, timer.fire_at)
        return self._arrive(protocol.timer_fired(timer_id, timer.fire_at, self._now))

    def event_raised(self: H, name: str, value: Any) -> H:
        """An external event whose data is ``value`` (JSON-encoded once, here)."""
        return self.event_raised_text(name, protocol.to_json_text(value))

    def event_raised_text(self: H, name: str, input_text: str | None) -> H:
        """An external event with its ``Input`` given as raw text."""
        return self._arrive(protocol.event_raised(name, input_text, self._now))

    # --- what was recorded -----------------------------------------------------------------

    def task(self, task_id: int) -> ScheduledTask:
        """The task recorded under ``task_id``."""
        return self._tasks[task_id]

    def tasks(self, *kinds: TaskKind, name: str | None = None,
              open_only: bool = False) -> list[ScheduledTask]:
        """Recorded tasks of the given kinds (all kinds if none), in id order."""
        return [task for task in self._tasks.values()
                if (not kinds or task.kind in kinds)
                and (name is None or task.name == name)
                and not (open_only and task.done)]

    def only_open(self, kind: TaskKind, name: str | None = None) -> ScheduledTask:
        """The one open task of ``kind``; fails the test if there is not exactly one."""
        found = self.tasks(kind, name=name, open_only=True)
        assert len(found) == 1, f"expected one open {kind.value} {name or ''}, found {found}"
        return found[0]

    @property
    def events(self) -> list[dict]:
        """The events of the closed episodes, as the host stores them."""
        return list(self._played)

    # --- episodes --------------------------------------------------------------------------

    def context_json(self) -> str:
        """The context JSON for the next episode: played events, then the new episode."""
        episode = [protocol.orchestrator_started(self._now), *self._new]
        return protocol.orchestration_context(self.instance_id, self._played + episode,
                                              self.input_text)

    def record(self, text: str, failure: str | None = None) -> Episode:
        """Close the episode the SDK answered with ``text`` and record what a host records."""
        state = json.loads(text)
        recorded = [*self._retry_bookkeeping()]
        every = state["actions"][0] if state["actions"] else []
        new_actions = tuple(every[self._actions_seen:])
        self._actions_seen = len(every)
        for action in flatten(new_actions):
            scheduled = self._schedule(action)
            if scheduled is not None:
                recorded.append(scheduled)
        if state["isDone"]:
            recorded.append(protocol.execution_completed(
                protocol.to_json_text(state.get("output")), False, self._now))
            self.ended = True
        elif failure is not None:
            recorded.append(protocol.execution_completed(
                protocol.to_json_text(state.get("error")), True, self._now))
            self.ended = True
        episode_events = [protocol.orchestrator_started(self._now), *self._new, *recorded,
                          protocol.orchestrator_completed(self._now)]
        self._played.extend(protocol.as_played(episode_events))
        self._new = []
        episode = Episode(text=text, state=state, failure=failure, new_actions=new_actions,
                          recorded=tuple(recorded))
        self.episodes.append(episode)
        return episode

    # --- internals -------------------------------------------------------------------------

    def _arrive(self: H, event: dict) -> H:
        if self.ended:
            raise ValueError("the execution has ended; a host records nothing more")
        self._new.append(event)
        return self

    def _settle(self, task_id: int, *kinds: TaskKind) -> ScheduledTask:
        """Mark a recorded task finished (a repeated completion is allowed: at-least-once)."""
        task = self._tasks.get(task_id)
        if task is None or task.kind not in kinds:
            raise ValueError(f"no {'/'.join(k.value for k in kinds)} was recorded as {task_id}")
        task.done = True
        return task

    def _allocate(self, kind: TaskKind, **fields: Any) -> ScheduledTask:
        task = ScheduledTask(task_id=self._next_id, kind=kind, **fields)
        self._tasks[task.task_id] = task
        self._next_id += 1
        return task

    def _retry_bookkeeping(self) -> Iterator[dict]:
        """Retry timers for failed attempts, new attempts for fired retry timers, in order."""
        for event in self._new:
            if event["EventType"] == EventType.TASK_FAILED:
                failed = self._tasks[event["TaskScheduledId"]]
                if failed.retry is None:
                    continue
                timer = self._allocate(TaskKind.RETRY_TIMER, retried=failed,
                                       fire_at=self._now + failed.retry.first_interval)
                assert timer.fire_at is not None
                yield protocol.timer_created(timer.task_id, timer.fire_at, self._now)
            elif event["EventType"] == EventType.TIMER_FIRED:
                retried = self._tasks[event["TimerId"]].retried
                if retried is None or retried.retry is None:
                    continue  # a timer of the orchestrator's own
                if retried.attempt >= retried.retry.max_attempts:
                    continue  # the error now reaches the orchestrator
                attempt = self._allocate(TaskKind.ACTIVITY, name=retried.name,
                                         input_text=retried.input_text, retry=retried.retry,
                                         attempt=retried.attempt + 1)
                assert attempt.name is not None
                yield protocol.task_scheduled(attempt.task_id, attempt.name,
                                              attempt.input_text, self._now)

    def _schedule(self, action: dict) -> dict | None:
        """The event a host records for one new atomic action (a wait records nothing)."""
        kind = action["actionType"]
        if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
            options = action.get("retryOptions")
            task = self._allocate(TaskKind.ACTIVITY, name=action["functionName"],
                                  input_text=action.get("input"),
                                  retry=RetryPolicy.from_action(options) if options else None)
            return protocol.task_scheduled(task.task_id, action["functionName"],
                                           task.input_text, self._now)
        if kind == ActionType.CREATE_TIMER:
            task = self._allocate(TaskKind.TIMER, fire_at=protocol.parse_iso(action["fireAt"]))
            assert task.fire_at is not None
            return protocol.timer_created(task.task_id, task.fire_at, self._now)
        if kind == ActionType.WAIT_FOR_EXTERNAL_EVENT:
            return None
        raise NotImplementedError(f"this history does not record action type {kind}")


def answer(handle: Callable[[str], str], context_text: str) -> tuple[str, str | None]:
    """Call an orchestrator's ``handle``: (state JSON, None) or, when it raised, (state, error).

    The SDK reports an orchestrator's exception by raising one whose text carries the state
    after ``$OutOfProcData$:``; anything else is a real failure and propagates.
    """
    try:
        return handle(context_text), None
    except Exception as raised:
        message = str(raised)
        if OUT_OF_PROC_MARK not in message:
            raise
        failure, _, state_text = message.partition(OUT_OF_PROC_MARK)
        return state_text, failure.strip()


def replay(handle: Callable[[str], str], history: History) -> Episode:
    """Run the next episode of ``history`` through the SDK and record it."""
    text, failure = answer(handle, history.context_json())
    return history.record(text, failure)


# --- the order orchestrator's vocabulary -------------------------------------------------


def order_input(**overrides: Any) -> dict:
    """An order orchestration's input (camelCase, as the starter sends it)."""
    order = {
        "orderId": "order-0001",
        "regId": "device-token-1",
        "items": [{"name": "Margherita", "quantity": 2}],
        "approvalTimeoutSeconds": 1800,
        "pushRetry": {"maxAttempts": 3, "firstRetryMilliseconds": 5000},
    }
    order.update(overrides)
    return order


def push_result(push: dict, outcome: str = "sent", **delivery: Any) -> dict:
    """What BackendAction returns for the push ``push`` (its input) that ended in ``outcome``."""
    if outcome == "sent":
        delivery.setdefault("messageId", f"projects/demo/messages/{push['orderId']}-{push['seq']}")
    return {"orderId": push["orderId"], "stage": push["orderStatus"], "seq": push["seq"],
            "push": {"outcome": outcome, **delivery}}


def as_sent_by_client(data: Any) -> str:
    """Event data as ``client.raise_event`` sends it: JSON-encoded once more, so a string."""
    return json.dumps(data)


class OrderHistory(History):
    """A history of the order orchestrator, in the order's own words.

    ``h.start()``, then per episode e.g. ``h.advance(seconds=2).push_succeeds()``,
    ``h.push_fails()``, ``h.retry_timer_fires()``, ``h.approve()``, ``h.deadline_fires()``.
    """

    def __init__(self, order: dict | None = None, *, input_text: str | None = None,
                 instance_id: str | None = None, at: datetime = T0) -> None:
        order = order_input() if order is None else order
        super().__init__(
            ORDER_ORCHESTRATOR,
            instance_id or str(order.get("orderId", "order-0001")),
            json.dumps(order) if input_text is None else input_text,
            at=at,
        )

    @property
    def push(self) -> ScheduledTask:
        """The one BackendAction attempt the orchestrator waits for."""
        return self.only_open(TaskKind.ACTIVITY, BACKEND_ACTION)

    @property
    def pushes(self) -> list[ScheduledTask]:
        """Every BackendAction attempt recorded, in id order."""
        return self.tasks(TaskKind.ACTIVITY, name=BACKEND_ACTION)

    @property
    def retry_timer(self) -> ScheduledTask:
        """The one open retry timer of a failed push."""
        return self.only_open(TaskKind.RETRY_TIMER)

    @property
    def deadline(self) -> ScheduledTask:
        """The approval deadline: the only timer the orchestrator itself creates."""
        (timer,) = self.tasks(TaskKind.TIMER)
        return timer

    def push_succeeds(self, outcome: str = "sent", **delivery: Any) -> OrderHistory:
        """The open push returns, its delivery ending in ``outcome``."""
        push = self.push
        return self.task_completed(push.task_id, push_result(push.input, outcome, **delivery))

    def push_returns(self, result: Any) -> OrderHistory:
        """The open push returns exactly ``result``."""
        return self.task_completed(self.push.task_id, result)

    def push_fails(self, reason: str = "TransientPushError",
                   details: str = "FCM answered 503") -> OrderHistory:
        """The open push attempt raises."""
        return self.task_failed(self.push.task_id, reason, details)

    def retry_timer_fires(self) -> OrderHistory:
        """The open retry timer fires (the clock moves to its fire time)."""
        return self.timer_fired(self.retry_timer.task_id)

    def deadline_fires(self) -> OrderHistory:
        """The approval deadline fires (the clock moves to its fire time)."""
        return self.timer_fired(self.deadline.task_id)

    def approval(self, payload: Any, *, by_client: bool = True) -> OrderHistory:
        """An ``Approval`` event; ``by_client`` encodes it the way the SDK client does."""
        return self.event_raised(APPROVAL_EVENT,
                                 as_sent_by_client(payload) if by_client else payload)

    def approve(self, note: str | None = None) -> OrderHistory:
        """Staff approve, through the SDK client."""
        return self.approval(_decision(approved=True, note=note))

    def decline(self, note: str | None = None) -> OrderHistory:
        """Staff decline, through the SDK client."""
        return self.approval(_decision(approved=False, note=note))


def _decision(approved: bool, note: str | None) -> dict:
    return {"approved": approved} if note is None else {"approved": approved, "note": note}
