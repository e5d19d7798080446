"""Timer and queue functions, and queue output bindings, indexed as the Python worker loads them.

A timer or queue function may take the durable client (``durableClient``) and any number of
queue outputs (``queue``): an ``Out`` parameter each, or the function's return value
(``$return``). Annotations are checked as the worker checks them at load: a trigger
parameter annotated ``str`` or ``bytes`` gets the raw body (the worker's generic binding),
any other annotation must be the binding's type (``func.TimerRequest``,
``func.QueueMessage``); an output parameter, when annotated, must be ``func.Out[T]``.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.functions.queue import QueueMessageInConverter, QueueMessageOutConverter
from azure.functions.timer import TimerRequestConverter

from devhost.errors import AppLoadError

__all__ = ["DURABLE_CLIENT", "QUEUE_OUTPUT", "QUEUE_TRIGGER", "RETURN", "TIMER_TRIGGER",
           "QueueFunction", "QueueOutput", "TimerFunction", "TriggerFunction",
           "index_trigger", "queue_outputs"]

TIMER_TRIGGER = "timerTrigger"
QUEUE_TRIGGER = "queueTrigger"
QUEUE_OUTPUT = "queue"
DURABLE_CLIENT = "durableClient"
RETURN = "$return"
# The app setting a binding's ``connection`` names when it names none.
DEFAULT_CONNECTION = "AzureWebJobsStorage"


@dataclass(frozen=True)
class QueueOutput:
    """A queue output binding: the parameter (or ``$return``) and the queue it writes to."""

    param: str
    queue_name: str  # as written: may hold %Setting% references
    connection: str


@dataclass(frozen=True)
class TriggerFunction:
    """A function a timer or a queue starts, with what it is called with."""

    name: str
    func: Callable[..., Any]
    is_async: bool
    trigger_param: str
    # How the trigger value is passed: "binding" (the func type), "str" or "bytes".
    trigger_form: str
    client_param: str | None
    outputs: tuple[QueueOutput, ...]

    @property
    def bound_params(self) -> set[str]:
        """The parameters bindings supply."""
        names = {self.trigger_param} | {o.param for o in self.outputs if o.param != RETURN}
        return names | ({self.client_param} if self.client_param else set())


@dataclass(frozen=True)
class TimerFunction(TriggerFunction):
    """A timer-triggered function."""

    schedule: str  # as written: may be a %Setting% reference
    run_on_startup: bool
    use_monitor: bool | None  # None: Azure's default (on for schedules of a minute or more)


@dataclass(frozen=True)
class QueueFunction(TriggerFunction):
    """A storage-queue-triggered function."""

    queue_name: str  # as written: may hold %Setting% references
    connection: str


def _refuse(function: str, problem: str) -> AppLoadError:
    return AppLoadError(f"function {function!r}: {problem}")


def _annotations(user_func: Callable[..., Any]) -> dict[str, Any]:
    """The function's resolved annotations (the raw ones when they do not resolve)."""
    try:
        return typing.get_type_hints(user_func)
    except Exception:  # noqa: BLE001 - unresolvable hints: fall back to the raw ones
        return dict(getattr(user_func, "__annotations__", {}))


def _is_out(annotation: Any) -> bool:
    origin = typing.get_origin(annotation) or annotation
    return isinstance(origin, type) and origin.__name__ == "Out"


def _trigger_form(name: str, param: str, annotation: Any, converter: Any, kind: str) -> str:
    """How the worker passes the trigger value for this annotation (its load-time check)."""
    if annotation is inspect.Parameter.empty:
        return "binding"
    if annotation in (str, bytes):
        return str(annotation.__name__)
    if _is_out(annotation):
        raise _refuse(name, f"binding {param} is declared to have the \"in\" direction, but "
                            "its annotation is azure.functions.Out in Python")
    if not (isinstance(annotation, type) and converter.check_input_type_annotation(annotation)):
        shown = getattr(annotation, "__name__", repr(annotation))
        raise _refuse(name, f"type of {param} binding \"{kind}\" does not "
                            f"match its Python annotation \"{shown}\"")
    return "binding"


def _check_output(name: str, param: str, annotation: Any) -> None:
    """An output parameter is unannotated or ``func.Out[T]`` with a T the queue takes."""
    if annotation is inspect.Parameter.empty:
        return
    if not _is_out(annotation):
        raise _refuse(name, f"binding {param} is declared to have the \"out\" direction, but "
                            "its annotation in Python is not a subclass of azure.functions.Out")
    args = typing.get_args(annotation)
    if len(args) != 1:
        raise _refuse(name, f"binding {param} has invalid Out annotation {annotation!r}")
    inner = args[0]
    if inner in (str, bytes):
        return
    if not QueueMessageOutConverter.check_output_type_annotation(inner):
        shown = getattr(inner, "__name__", repr(inner))
        raise _refuse(name, f"type of {param} binding \"queue\" does not match its Python "
                            f"annotation \"{shown}\"")


def queue_outputs(name: str, others: list[Any], user_func: Callable[..., Any],
                  accept: Callable[[Any], bool]) -> tuple[QueueOutput, ...]:
    """The queue outputs among ``others``; every binding neither they nor ``accept`` take is
    refused, naming it and what is supported."""
    hints = _annotations(user_func)
    outputs = []
    for binding in others:
        if binding.type == QUEUE_OUTPUT:
            if binding.name != RETURN:
                _check_output(name, binding.name, hints.get(binding.name,
                                                            inspect.Parameter.empty))
            outputs.append(QueueOutput(binding.name, str(binding.queue_name),
                                       binding.connection or DEFAULT_CONNECTION))
        elif not accept(binding):
            raise _refuse(name, f"binding {binding.name!r} of type {binding.type!r} is not "
                                f"supported (supported here: {DURABLE_CLIENT}, queue output "
                                f"'{QUEUE_OUTPUT}')")
    return tuple(outputs)


def index_trigger(name: str, trigger: Any, others: list[Any],
                  user_func: Callable[..., Any]) -> TriggerFunction:
    """Index a timer or queue function; ``AppLoadError`` for what the worker would refuse."""
    client_params = [b.name for b in others if b.type == DURABLE_CLIENT]
    if len(client_params) > 1:
        raise _refuse(name, "has more than one durableClient binding")
    outputs = queue_outputs(name, others, user_func, lambda b: b.type == DURABLE_CLIENT)
    hints = _annotations(user_func)
    annotation = hints.get(trigger.name, inspect.Parameter.empty)
    common: dict[str, Any] = {
        "name": name, "func": user_func, "is_async": inspect.iscoroutinefunction(user_func),
        "trigger_param": trigger.name, "client_param": client_params[0] if client_params else None,
        "outputs": outputs}
    if trigger.type == TIMER_TRIGGER:
        schedule = getattr(trigger, "schedule", None)
        if not isinstance(schedule, str) or not schedule.strip():
            raise _refuse(name, "timerTrigger has no schedule")
        return TimerFunction(
            **common, trigger_form=_trigger_form(name, trigger.name, annotation,
                                                 TimerRequestConverter, TIMER_TRIGGER),
            schedule=schedule, run_on_startup=bool(getattr(trigger, "run_on_startup", False)),
            use_monitor=getattr(trigger, "use_monitor", None))
    queue_name = getattr(trigger, "queue_name", None)
    if not isinstance(queue_name, str) or not queue_name.strip():
        raise _refuse(name, "queueTrigger has no queue_name")
    return QueueFunction(
        **common, trigger_form=_trigger_form(name, trigger.name, annotation,
                                             QueueMessageInConverter, QUEUE_TRIGGER),
        queue_name=queue_name, connection=trigger.connection or DEFAULT_CONNECTION)


# The functions library's Out is abstract; the worker passes its own implementation.
class OutValue(func.Out):  # type: ignore[type-arg]
    """The ``func.Out`` the worker passes for an output binding: ``set`` keeps the value."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        """Keep ``val`` as the binding's value."""
        self._value = val

    def get(self) -> Any:
        """The value set last (None if none was)."""
        return self._value
