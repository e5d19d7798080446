"""An in-memory stand-in for the durable client the HTTP routes are bound to.

``DurableClientStandIn`` answers the calls the routes make (``start_new``, ``get_status``,
``raise_event``) the way ``azure.durable_functions.DurableOrchestrationClient`` 1.7.0 answers
them against the Functions host's management API. Each call goes through two halves, as in
production: a ``_host_*`` method gives the status code and JSON body the durable extension's
HTTP API would answer, and the public method turns that answer into a return value or an
exception exactly as the SDK client does. So the routes see what they would see in Azure:

- ``get_status`` returns a real ``DurableOrchestrationStatus`` made by ``from_json``; an
  unknown instance (404, empty body) gives the SDK's falsy status.
- The input of a started instance is the JSON *text* of the client input, because the SDK
  JSON-encodes it twice; ``get_status`` always carries it (the SDK never sends
  ``showInput=False``, and the host's default is to show it).
- ``raise_event`` raises a plain ``Exception`` with the SDK's message on 404 and 410;
  ``start_new`` of an id that is running raises a plain ``Exception`` holding the host's
  error body, as the SDK surfaces its 500.

Every call is recorded, so a test can assert that a refused request changed nothing.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.utils.df_serialization import df_dumps

from constants import ORDER_ORCHESTRATOR
from function_app import app

# Runtime statuses as the host spells them.
PENDING = "Pending"
RUNNING = "Running"
COMPLETED = "Completed"
FAILED = "Failed"
TERMINATED = "Terminated"
CANCELED = "Canceled"
CONTINUED_AS_NEW = "ContinuedAsNew"
SUSPENDED = "Suspended"

# A start with the id of an instance in one of these states is refused (the host's
# default OverridableExistingInstanceStates is NonRunningStates).
NOT_OVERRIDABLE = frozenset({RUNNING, CONTINUED_AS_NEW, PENDING, SUSPENDED})
# The host answers an event for an instance in one of these states with 410 Gone.
GONE = frozenset({FAILED, CANCELED, TERMINATED, COMPLETED})

HostAnswer = tuple[int, Any]


def built_functions() -> dict[str, func.Function]:
    """The app's functions as the worker indexes them, by function name.

    ``FunctionApp.get_functions()`` remembers the names it built and refuses a second call
    on the same app; the worker calls it once per process. Tests build as often as they
    like, so the remembered names are set aside for the call and put back afterwards.
    """
    remembered = app.functions_bindings
    app.functions_bindings = None
    try:
        functions = app.get_functions()
    finally:
        app.functions_bindings = remembered
    return {function.get_function_name(): function for function in functions}


def _host_time(moment: datetime) -> str:
    """A timestamp the way the management API formats it (``"s"`` format plus ``Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Call:
    """One call a route made on the client, with its arguments."""

    method: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Started:
    """An instance a ``start_new`` call actually created."""

    name: str
    instance_id: str
    client_input: Any


@dataclass(frozen=True)
class Raised:
    """An event the host accepted (202) for an instance.

    ``data`` is what the route passed; ``received`` is what the orchestrator gets: the
    SDK encodes the data twice, so it arrives as JSON text.
    """

    instance_id: str
    event_name: str
    data: Any
    received: str


@dataclass
class Instance:
    """An orchestration instance as the task hub keeps it."""

    name: str
    instance_id: str
    runtime_status: str
    input: Any
    custom_status: Any
    output: Any
    created_time: datetime
    last_updated_time: datetime
    events: list[Raised] = field(default_factory=list)


class DurableClientStandIn:
    """The three client calls the routes use, against instances held in memory."""

    def __init__(self, orchestrators: tuple[str, ...] = (ORDER_ORCHESTRATOR,),
                 now: Callable[[], datetime] | None = None) -> None:
        self.known_orchestrators = orchestrators
        self.calls: list[Call] = []
        self.started: list[Started] = []
        self.raised: list[Raised] = []
        self._now = now or (lambda: datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC))
        self._instances: dict[str, Instance] = {}
        self._before: dict[str, list[Callable[[], None]]] = {}

    # -- What tests arrange and inspect -------------------------------------------------

    def put_instance(self, instance_id: str, runtime_status: str = RUNNING,
                     custom_status: Any = None, input: Any = None, output: Any = None,
                     name: str = ORDER_ORCHESTRATOR) -> Instance:
        """Create or replace an instance directly, as if the task hub held it already.

        ``input`` is given as a route would pass it to ``start_new`` and stored as the host
        stores it; ``custom_status`` and ``output`` are JSON values. Nothing is recorded.
        """
        stamp = self._now()
        instance = Instance(
            name=name,
            instance_id=instance_id,
            runtime_status=runtime_status,
            input=None if input is None else df_dumps(input),
            custom_status=_json_copy(custom_status),
            output=_json_copy(output),
            created_time=stamp,
            last_updated_time=stamp,
        )
        self._instances[instance_id] = instance
        return instance

    def set_status(self, instance_id: str, runtime_status: str | None = None,
                   custom_status: Any = None, output: Any = None) -> None:
        """Move an existing instance on: a new runtime status, custom status or output."""
        instance = self._instances[instance_id]
        if runtime_status is not None:
            instance.runtime_status = runtime_status
        if custom_status is not None:
            instance.custom_status = _json_copy(custom_status)
        if output is not None:
            instance.output = _json_copy(output)
        instance.last_updated_time = self._now()

    def instance(self, instance_id: str) -> Instance | None:
        """The stored instance, or None."""
        return self._instances.get(instance_id)

    def before_next(self, method: str, action: Callable[[], None]) -> None:
        """Run ``action`` once, just before the next ``method`` call reaches the host.

        This is how a test makes something happen between a route's check and its act:
        another request starting the same order, or the instance ending.
        """
        self._before.setdefault(method, []).append(action)

    def purge(self, instance_id: str) -> None:
        """Forget an instance, as a purge of its history does."""
        del self._instances[instance_id]

    # -- The SDK client's surface ---------------------------------------------------------

    async def start_new(self, orchestration_function_name: str, instance_id: str | None = None,
                        client_input: Any = None, version: str | None = None) -> str:
        """Start an instance; same return value and exceptions as the SDK client."""
        self._record("start_new", orchestration_function_name=orchestration_function_name,
                     instance_id=instance_id, client_input=client_input, version=version)
        if version is not None:
            raise NotImplementedError("the stand-in does not model orchestration versions")
        # The SDK serialises before it sends anything: an input that is not JSON fails here.
        body = None if client_input is None else df_dumps(client_input)
        status, answer = self._host_start(orchestration_function_name, instance_id, body,
                                          client_input)
        # DurableOrchestrationClient.start_new, status handling as in 1.7.0.
        if status <= 202 and answer:
            return answer["id"]
        if status == 400:
            raise Exception(answer["ExceptionMessage"])
        raise Exception(answer)

    async def get_status(self, instance_id: str, show_history: bool = False,
                         show_history_output: bool = False,
                         show_input: bool = False) -> DurableOrchestrationStatus:
        """The instance's status, or the SDK's falsy status for an unknown instance."""
        self._record("get_status", instance_id=instance_id, show_history=show_history,
                     show_history_output=show_history_output, show_input=show_input)
        status, answer = self._host_status(instance_id, show_history)
        if status not in (200, 202, 400, 404, 500):
            raise Exception(f"The operation failed with an unexpected status code {status}")
        return DurableOrchestrationStatus.from_json(answer)

    async def raise_event(self, instance_id: str, event_name: str, event_data: Any = None,
                          task_hub_name: str | None = None,
                          connection_name: str | None = None) -> None:
        """Raise an event; same exceptions and messages as the SDK client."""
        self._record("raise_event", instance_id=instance_id, event_name=event_name,
                     event_data=event_data, task_hub_name=task_hub_name,
                     connection_name=connection_name)
        if task_hub_name is not None or connection_name is not None:
            raise NotImplementedError("the stand-in has one task hub")
        if event_name == "":
            raise ValueError("event_name must be a non-empty string.")
        # The SDK sends json.dumps(event_data) as the JSON body: the host receives a
        # JSON string whose text is the data.
        status = self._host_raise(instance_id, event_name, event_data, json.dumps(event_data))
        # DurableOrchestrationClient.raise_event, status handling as in 1.7.0.
        messages = {
            202: None,
            410: f"Instance with ID {instance_id} is gone: either completed or failed",
            404: f"No instance with ID {instance_id} found.",
            400: "Only application/json request content is supported",
        }
        message = messages.get(status, f"Webhook returned unrecognized status code {status}")
        if message:
            raise Exception(message)

    # -- The host's side of the management API --------------------------------------------

    def _record(self, method: str, **args: Any) -> None:
        """Remember the call, then let an arranged ``before_next`` action run."""
        self.calls.append(Call(method, args))
        for action in self._before.pop(method, []):
            action()

    def _host_start(self, name: str, instance_id: str | None, body: str | None,
                    client_input: Any) -> HostAnswer:
        """``POST orchestrators/{name}[/{id}]``: 202 created, 400 unknown, 500 exists."""
        if name not in self.known_orchestrators:
            known = "', '".join(self.known_orchestrators)
            return 400, {
                "Message": "One or more of the arguments submitted is incorrect",
                "ExceptionMessage": (
                    f"The function '{name}' doesn't exist, is disabled, or is not an "
                    f"orchestrator function. Additional info: The following are the known "
                    f"orchestrator functions: '{known}'."),
                "ExceptionType": "System.ArgumentException",
                "StackTrace": None,
            }
        instance_id = instance_id or uuid.uuid4().hex
        existing = self._instances.get(instance_id)
        if existing is not None and existing.runtime_status in NOT_OVERRIDABLE:
            return 500, {
                "Message": "Something went wrong while processing your request",
                "ExceptionMessage": (f"An Orchestration instance with the status "
                                     f"{existing.runtime_status} already exists."),
                "ExceptionType": "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException",
                "StackTrace": None,
            }
        stamp = self._now()
        # The body was the JSON encoding of ``body``: the host keeps the input as that string.
        self._instances[instance_id] = Instance(
            name=name, instance_id=instance_id, runtime_status=PENDING, input=body,
            custom_status=None, output=None, created_time=stamp, last_updated_time=stamp,
        )
        self.started.append(Started(name, instance_id, _json_copy(client_input)))
        return 202, {"id": instance_id}

    def _host_status(self, instance_id: str, show_history: bool) -> HostAnswer:
        """``GET instances/{id}``: the status payload, or 404 with an empty body."""
        instance = self._instances.get(instance_id)
        if instance is None:
            # The client reads an empty body as "" and builds its falsy status from it.
            return 404, ""
        payload: dict[str, Any] = {
            "name": instance.name,
            "instanceId": instance.instance_id,
            "runtimeStatus": instance.runtime_status,
            "input": instance.input,
            "customStatus": instance.custom_status,
            "output": instance.output,
            "createdTime": _host_time(instance.created_time),
            "lastUpdatedTime": _host_time(instance.last_updated_time),
        }
        if show_history:
            payload["historyEvents"] = []
        code = 202 if instance.runtime_status in NOT_OVERRIDABLE else 200
        # Through JSON and back, as the answer travels: tests cannot share objects with it.
        return code, json.loads(json.dumps(payload))

    def _host_raise(self, instance_id: str, event_name: str, data: Any,
                    received: str) -> int:
        """``POST instances/{id}/raiseEvent/{name}``: 202, 404 unknown, 410 ended."""
        instance = self._instances.get(instance_id)
        if instance is None:
            return 404
        if instance.runtime_status in GONE:
            return 410
        event = Raised(instance_id, event_name, _json_copy(data), received)
        instance.events.append(event)
        self.raised.append(event)
        return 202


def _json_copy(value: Any) -> Any:
    """A deep copy through JSON, so later changes to the caller's object do not leak in."""
    return None if value is None else json.loads(json.dumps(value))
