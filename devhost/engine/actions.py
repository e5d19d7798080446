"""Read the actions an orchestrator answered with, in the order the SDK numbered them.

With replay schema V2/V3 the SDK answers with ONE list holding every action ever yielded.
The SDK gives task ids in yield order, walking compound actions depth first; waits for
external events and compound actions themselves take no id. So the n-th schedulable action
in that walk is the n-th task the orchestration ever scheduled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devhost.engine.protocol import ActionType, RetryFields, parse_iso


class UnsupportedAction(Exception):
    """The orchestrator used a feature this host does not run (call_http)."""


@dataclass(frozen=True)
class RetryPolicy:
    """The SDK's RetryOptions: a fixed interval and a maximum number of attempts."""

    first_interval_ms: int
    max_attempts: int

    def as_fields(self) -> RetryFields:
        """The policy as recorded on the first attempt's history event."""
        return {"firstRetryIntervalInMilliseconds": self.first_interval_ms,
                "maxNumberOfAttempts": self.max_attempts}

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> RetryPolicy:
        """Read the policy back from a history event or an action's ``retryOptions``."""
        return cls(int(fields["firstRetryIntervalInMilliseconds"]),
                   int(fields["maxNumberOfAttempts"]))


@dataclass(frozen=True)
class Schedulable:
    """One action that takes a task id: an activity, a timer, a sub-orchestration, or an
    entity call or signal (``name`` the operation, ``instance_id`` the entity)."""

    kind: ActionType
    name: str | None = None
    input: str | None = None
    fire_at: datetime | None = None
    cancelled: bool = False
    retry: RetryPolicy | None = None
    instance_id: str | None = None
    version: str | None = None

    @property
    def is_activity(self) -> bool:
        """True for activities, with or without retry."""
        return self.kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY)

    @property
    def is_sub_orchestration(self) -> bool:
        """True for sub-orchestrations, with or without retry."""
        return self.kind in (ActionType.CALL_SUB_ORCHESTRATOR,
                             ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY)

    @property
    def is_entity(self) -> bool:
        """True for entity calls and signals."""
        return self.kind in (ActionType.CALL_ENTITY, ActionType.SIGNAL_ENTITY)

    def describe(self) -> str:
        """A short human name for messages about non-determinism."""
        if self.kind == ActionType.CREATE_TIMER:
            return "a timer"
        if self.is_entity:
            return f"an operation '{self.name}' on entity '{self.instance_id}'"
        what = "activity" if self.is_activity else "sub-orchestration"
        return f"{what} '{self.name}'"


def _schedulable(action: dict[str, Any]) -> Schedulable:
    kind = ActionType(action["actionType"])
    retry = action.get("retryOptions")
    if kind == ActionType.CREATE_TIMER:
        return Schedulable(kind, fire_at=parse_iso(action["fireAt"]),
                           cancelled=bool(action.get("isCanceled")))
    if kind in (ActionType.CALL_ENTITY, ActionType.SIGNAL_ENTITY):
        return Schedulable(kind, name=action.get("operation"), input=action.get("input"),
                           instance_id=action.get("instanceId"))
    return Schedulable(
        kind,
        name=action.get("functionName"),
        input=action.get("input"),
        retry=RetryPolicy.from_fields(retry) if retry else None,
        instance_id=action.get("instanceId"),
        version=action.get("version"),
    )


def flatten(actions: list[Any]) -> tuple[list[Schedulable], Any]:
    """The schedulable actions in id order, and the continue-as-new input if any.

    Returns ``(schedulables, continue_input)`` where ``continue_input`` is the
    ContinueAsNew action's input text, or the ``NO_CONTINUE`` sentinel.
    """
    found: list[Schedulable] = []
    continue_input: Any = NO_CONTINUE

    def walk(items: list[Any]) -> None:
        nonlocal continue_input
        for action in items:
            if isinstance(action, list):  # schema V1 nests one list per yield
                walk(action)
                continue
            kind = ActionType(action["actionType"])
            if kind in (ActionType.WHEN_ALL, ActionType.WHEN_ANY):
                walk(action.get("compoundActions", []))
            elif kind == ActionType.WAIT_FOR_EXTERNAL_EVENT:
                continue
            elif kind == ActionType.CONTINUE_AS_NEW:
                continue_input = action.get("input")
            elif kind == ActionType.CALL_HTTP:
                raise UnsupportedAction("call_http is not supported by the local host")
            else:
                found.append(_schedulable(action))

    walk(actions)
    return found, continue_input


class _NoContinue:
    """Marks the absence of a continue-as-new (None is a valid new input)."""

    def __repr__(self) -> str:
        return "NO_CONTINUE"


NO_CONTINUE: Any = _NoContinue()
