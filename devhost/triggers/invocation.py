"""Call a timer or queue function with what the Python worker passes, and collect its outputs.

The trigger value goes through the functions library's own converters, fed the binding
data the Functions host sends: the timer's ``TimerInfo`` JSON (``Schedule``,
``ScheduleStatus``, ``IsPastDue``) to ``TimerRequestConverter``, the queue message's text
and trigger metadata (``Id``, ``DequeueCount``, ``InsertionTime``, ``ExpirationTime``,
``NextVisibleTime``, ``PopReceipt``, ``QueueTrigger``) to ``QueueMessageInConverter``.
Output values go through ``QueueMessageOutConverter`` as the worker encodes them; the host
writes them only once the function has succeeded.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from azure.functions.meta import Datum
from azure.functions.queue import QueueMessageInConverter, QueueMessageOutConverter
from azure.functions.timer import TimerRequestConverter

from devhost.triggers.functions import RETURN, OutValue, QueueOutput, TriggerFunction
from devhost.triggers.queues import ReceivedMessage
from devhost.triggers.schedule_status import ScheduleStatus

OutputWriter = Callable[[dict[QueueOutput, list[bytes]]], Awaitable[None]]

__all__ = ["Invocation", "OutputWriter", "encode_output", "queue_trigger_value",
           "timer_trigger_value"]


def _when(moment: datetime) -> Datum:
    # The host sends DateTimeOffset metadata as JSON text.
    return Datum(json.dumps(moment.astimezone(timezone.utc).isoformat()), "json")


def timer_trigger_value(function: TriggerFunction, status: ScheduleStatus | None,
                        past_due: bool) -> Any:
    """The timer parameter's value: ``func.TimerRequest`` (or the JSON text for ``str``)."""
    info = json.dumps({"Schedule": {"AdjustForDST": True},
                       "ScheduleStatus": status.as_json() if status is not None else None,
                       "IsPastDue": past_due})
    if function.trigger_form == "str":
        return info
    if function.trigger_form == "bytes":
        return info.encode()
    return TimerRequestConverter.decode(Datum(info, "json"), trigger_metadata={})


def queue_trigger_value(function: TriggerFunction, message: ReceivedMessage,
                        body: bytes) -> Any:
    """The queue parameter's value: ``func.QueueMessage`` with its metadata, or the body."""
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if function.trigger_form == "bytes":
        return body
    if function.trigger_form == "str":
        return text if text is not None else body
    data = Datum(text, "string") if text is not None else Datum(body, "bytes")
    metadata = {
        "Id": Datum(message.id, "string"),
        "PopReceipt": Datum(message.pop_receipt, "string"),
        "DequeueCount": Datum(message.dequeue_count, "int"),
        "InsertionTime": _when(message.insertion_time),
        "ExpirationTime": _when(message.expiration_time),
        "NextVisibleTime": _when(message.next_visible_time),
        "QueueTrigger": data,
    }
    return QueueMessageInConverter.decode(data, trigger_metadata=metadata)


def encode_output(value: Any) -> list[bytes]:
    """The messages one output value makes: none for None, one for text, bytes or a
    ``func.QueueMessage``, one per item for a list (as the worker encodes them)."""
    if value is None:
        return []
    datum = QueueMessageOutConverter.encode(value, expected_type=None)
    if datum.type == "string":
        return [str(datum.value).encode("utf-8")]
    if datum.type == "bytes":
        return [bytes(datum.value)]
    decoded = json.loads(datum.value)
    items = decoded if isinstance(decoded, list) else [decoded]
    return [(item["body"] if isinstance(item, dict) else str(item)).encode("utf-8")
            for item in items]


@dataclass(frozen=True)
class Invocation:
    """One call of a trigger function: its arguments in, its output messages out."""

    function: TriggerFunction
    client_json: str
    # Writes the outputs' messages; an error there fails the invocation, as in Azure.
    write: OutputWriter
    # Where a sync function runs: the worker's one pool for sync functions (None: asyncio's
    # default executor).
    sync_pool: Executor | None = None

    async def run(self, trigger_value: Any) -> None:
        """Call the function, then write its queue outputs (errors propagate)."""
        function = self.function
        kwargs: dict[str, Any] = {function.trigger_param: trigger_value}
        if function.client_param is not None:
            kwargs[function.client_param] = self.client_json
        outs: Mapping[str, OutValue] = {
            o.param: OutValue() for o in function.outputs if o.param != RETURN}
        kwargs.update(outs)
        if function.is_async:
            result = await function.func(**kwargs)
        else:
            result = await asyncio.get_running_loop().run_in_executor(
                self.sync_pool, functools.partial(function.func, **kwargs))
        messages: dict[QueueOutput, list[bytes]] = {}
        for output in function.outputs:
            value = result if output.param == RETURN else outs[output.param].get()
            messages[output] = encode_output(value)
        await self.write(messages)
