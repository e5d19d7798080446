"""A tiny app for the task hub's payload tests: big activity results and big outputs.

Loaded through devhost's app loader by tests/host/taskhub/test_payloads.py; never imported
as ``function_app`` by anything else.
"""

import azure.durable_functions as df

app = df.DFApp()


@app.activity_trigger(input_name="size", activity="make_text")
def make_text(size: int) -> str:
    """A string of ``size`` ASCII characters."""
    return "x" * size


@app.activity_trigger(input_name="value", activity="echo")
def echo(value: int) -> int:
    """``value`` unchanged."""
    return value


@app.orchestration_trigger(context_name="context", orchestration="big_result")
def big_result(context: df.DurableOrchestrationContext):
    """Ask for a text of the input's size and return it."""
    text = yield context.call_activity("make_text", context.get_input())
    return text


@app.orchestration_trigger(context_name="context", orchestration="big_output")
def big_output(context: df.DurableOrchestrationContext):
    """Return a text of the input's size, built in the orchestrator itself."""
    yield context.call_activity("echo", 1)
    return "y" * context.get_input()


@app.orchestration_trigger(context_name="context", orchestration="small_steps")
def small_steps(context: df.DurableOrchestrationContext):
    """Call ``echo`` the input's number of times, one after another; return their sum."""
    total = 0
    for step in range(context.get_input()):
        total += yield context.call_activity("echo", step)
    return total
