"""The benchmark app: a Python v2 Durable Functions app whose work costs nothing.

Its activity returns its input at once, so what the benchmarks time is the host: episodes
through the SDK, the task hub, and the queues between them. Loaded by the benchmarks with
``devhost.app.loader.load_app``, exactly as the host loads any app.
"""

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
from noop_names import CHAIN, EVENT_WAITER, FAN_OUT, NOOP, event_name

app = df.DFApp()

Flow = Generator[Any, Any, Any]


@app.activity_trigger(input_name="value", activity=NOOP)
def noop(value: Any) -> Any:
    """Return ``value`` unchanged (a sync activity, run on the host's thread pool)."""
    return value


@app.orchestration_trigger(context_name="context", orchestration=CHAIN)
def chain(context: df.DurableOrchestrationContext) -> Flow:
    """Call the no-op activity ``count`` times, one after the other."""
    count = int(context.get_input()["count"])
    for step in range(count):
        yield context.call_activity(NOOP, step)
    return count


@app.orchestration_trigger(context_name="context", orchestration=FAN_OUT)
def fan_out(context: df.DurableOrchestrationContext) -> Flow:
    """Call the no-op activity ``count`` times at once and wait for all of them."""
    count = int(context.get_input()["count"])
    results = yield context.task_all([context.call_activity(NOOP, step)
                                      for step in range(count)])
    return len(results)


@app.orchestration_trigger(context_name="context", orchestration=EVENT_WAITER)
def event_waiter(context: df.DurableOrchestrationContext) -> Flow:
    """Wait for ``count`` external events one by one, each under a name of its own.

    Distinct names, because the SDK re-delivers an event that arrived during an earlier
    wait to every later wait of the same name (durable SDK issue #507).
    """
    count = int(context.get_input()["count"])
    for number in range(count):
        yield context.wait_for_external_event(event_name(number))
    return count
