"""A tiny Durable Functions app (Python v2) exercising every feature the engine runs.

Loaded by the engine tests the way the worker loads an app; it is never imported as
``function_app`` next to the order app. Function names are constants so tests and
orchestrators cannot drift apart.
"""

import asyncio
import threading
import time
from datetime import timedelta

import azure.durable_functions as df

app = df.DFApp()

# Activities.
HELLO = "hello"
DOUBLE = "double"
FLAKY = "flaky"
EXPLODE = "explode"
NAP = "nap"
MISSING = "no_such_activity"

# Orchestrators.
SEQUENCE = "sequence"
FAN_OUT = "fan_out"
RETRY = "retry"
RETRY_FAN_OUT = "retry_fan_out"
FRESH_RETRY_FAN_OUT = "fresh_retry_fan_out"
CATCH_FAILURE = "catch_failure"
CALL_MISSING = "call_missing"
CHILD = "child"
FLAKY_CHILD = "flaky_child"
PARENT = "parent"
RAISER = "raiser"
PARENT_OF_RAISER = "parent_of_raiser"
COUNTER = "counter"
COUNTER_THEN_WAIT = "counter_then_wait"
WAIT_EVENT = "wait_event"
TIMER = "timer"
APPROVAL = "approval"
STATUS = "status"
RAISE_EARLY = "raise_early"
FICKLE = "fickle"
ENTITY_CALLER = "entity_caller"
HTTP_CALLER = "http_caller"
SLEEPY = "sleepy"
MONITOR = "monitor"
PARENT_OF_WAITER = "parent_of_waiter"
BIG_STATUS = "big_status"
CHILD_ID = "child_id"
PARENT_OF_CHILD_ID = "parent_of_child_id"
MISSING_CHILD = "missing_child"
LONG_NAP = "long_nap"
NAMED_RETRY = "named_retry"
MISSING_ORCHESTRATOR = "no_such_orchestrator"
STEPS_THEN_FLAKY = "steps_then_flaky"
RETRIED_UNCAUGHT = "retried_uncaught"

# How often the flaky activity has run, per key (each test uses its own keys).
ATTEMPTS: dict[str, int] = {}
_ATTEMPTS_LOCK = threading.Lock()

# The activity the non-deterministic orchestrator calls; tests flip it between episodes.
FICKLE_SWITCH = {"activity": HELLO}


# Activities ----------------------------------------------------------------------------------

@app.activity_trigger(input_name="name", activity=HELLO)
def hello(name: str) -> str:
    """Greet ``name`` (sync)."""
    return f"Hello {name}!"


@app.activity_trigger(input_name="value", activity=DOUBLE)
async def double(value: int) -> int:
    """Twice ``value`` (async)."""
    await asyncio.sleep(0)
    return value * 2


@app.activity_trigger(input_name="spec", activity=FLAKY)
def flaky(spec: dict) -> str:
    """Fail the first ``spec["fail_times"]`` runs for ``spec["key"]``, then succeed."""
    key = spec["key"]
    with _ATTEMPTS_LOCK:
        ATTEMPTS[key] = attempt = ATTEMPTS.get(key, 0) + 1
    if attempt <= spec["fail_times"]:
        raise RuntimeError(f"{key} attempt {attempt} failed")
    return f"{key} ok on attempt {attempt}"


@app.activity_trigger(input_name="message", activity=EXPLODE)
def explode(message: str) -> None:
    """Always raise."""
    raise ValueError(message)


@app.activity_trigger(input_name="seconds", activity=NAP)
def nap(seconds: float) -> float:
    """Block the calling thread for ``seconds`` (a badly behaved sync activity)."""
    time.sleep(seconds)
    return seconds


# Orchestrators -------------------------------------------------------------------------------

@app.orchestration_trigger(context_name="context", orchestration=SEQUENCE)
def sequence(context: df.DurableOrchestrationContext):
    """Three activities, one after another."""
    results = []
    for city in ("Tokyo", "Seattle", "London"):
        results.append((yield context.call_activity(HELLO, city)))
    return results


@app.orchestration_trigger(context_name="context", orchestration=FAN_OUT)
def fan_out(context: df.DurableOrchestrationContext):
    """Double 0..n-1 in parallel, then add the results."""
    count = context.get_input()
    results = yield context.task_all([context.call_activity(DOUBLE, i) for i in range(count)])
    return {"results": results, "sum": sum(results)}


def _retry(spec: dict) -> df.RetryOptions:
    return df.RetryOptions(spec.get("interval_ms", 1000), spec.get("attempts", 3))


@app.orchestration_trigger(context_name="context", orchestration=RETRY)
def retry(context: df.DurableOrchestrationContext):
    """The flaky activity under a retry policy; reports the error when retries run out."""
    spec = context.get_input()
    try:
        return (yield context.call_activity_with_retry(FLAKY, _retry(spec), spec))
    except Exception as error:  # noqa: BLE001 - the test reads what the orchestrator saw
        return {"error": str(error)}


def _retried_fan_out(context: df.DurableOrchestrationContext, specs: list):
    results = yield context.task_all(
        [context.call_activity_with_retry(FLAKY, _retry(spec), spec) for spec in specs])
    results.append((yield context.call_activity(HELLO, "after")))
    return results


@app.orchestration_trigger(context_name="context", orchestration=RETRY_FAN_OUT)
def retry_fan_out(context: df.DurableOrchestrationContext):
    """Several retried flaky activities at once, then one more plain activity."""
    return (yield from _retried_fan_out(context, context.get_input()))


@app.orchestration_trigger(context_name="context", orchestration=FRESH_RETRY_FAN_OUT)
def fresh_retry_fan_out(context: df.DurableOrchestrationContext):
    """Continue as new once, then do retry_fan_out's work in the new execution."""
    state = context.get_input()
    if state["generation"] == 0:
        yield context.call_activity(HELLO, "first generation")
        context.continue_as_new({**state, "generation": 1})
        return None
    return (yield from _retried_fan_out(context, state["specs"]))


@app.orchestration_trigger(context_name="context", orchestration=CATCH_FAILURE)
def catch_failure(context: df.DurableOrchestrationContext):
    """Call an activity that raises and return what the orchestrator caught."""
    try:
        yield context.call_activity(EXPLODE, context.get_input())
    except Exception as error:  # noqa: BLE001
        return f"caught: {error}"
    return "not reached"


@app.orchestration_trigger(context_name="context", orchestration=CALL_MISSING)
def call_missing(context: df.DurableOrchestrationContext):
    """Call an activity no function implements."""
    try:
        yield context.call_activity(MISSING, 1)
    except Exception as error:  # noqa: BLE001
        return f"caught: {error}"
    return "not reached"


@app.orchestration_trigger(context_name="context", orchestration=CHILD)
def child(context: df.DurableOrchestrationContext):
    """Greet the input and say which instance did it."""
    greeting = yield context.call_activity(HELLO, context.get_input())
    return {"greeting": greeting, "instance": context.instance_id,
            "parent": context.parent_instance_id}


@app.orchestration_trigger(context_name="context", orchestration=FLAKY_CHILD)
def flaky_child(context: df.DurableOrchestrationContext):
    """Call the flaky activity once, without retry: fails as often as it does."""
    return (yield context.call_activity(FLAKY, context.get_input()))


@app.orchestration_trigger(context_name="context", orchestration=PARENT)
def parent(context: df.DurableOrchestrationContext):
    """Sub-orchestrations: plain, with an explicit instance id, and with retry."""
    spec = context.get_input()
    plain = yield context.call_sub_orchestrator(CHILD, "plain")
    named = yield context.call_sub_orchestrator(CHILD, "named",
                                                instance_id=f"{context.instance_id}-named")
    retried = yield context.call_sub_orchestrator_with_retry(FLAKY_CHILD, _retry(spec), spec)
    return {"plain": plain, "named": named, "retried": retried}


@app.orchestration_trigger(context_name="context", orchestration=RAISER)
def raiser(context: df.DurableOrchestrationContext):
    """Schedule an activity, wait for either it or an event 'boom', then raise."""
    first = context.call_activity(HELLO, "first")
    boom = context.wait_for_external_event("boom")
    yield context.task_any([first, boom])
    raise ValueError(f"kaboom in {context.instance_id}")


@app.orchestration_trigger(context_name="context", orchestration=PARENT_OF_RAISER)
def parent_of_raiser(context: df.DurableOrchestrationContext):
    """Call a sub-orchestration that raises; return what the parent saw."""
    try:
        yield context.call_sub_orchestrator(RAISER, None, instance_id=context.get_input())
    except Exception as error:  # noqa: BLE001
        return f"child failed: {error}"
    return "not reached"


@app.orchestration_trigger(context_name="context", orchestration=PARENT_OF_WAITER)
def parent_of_waiter(context: df.DurableOrchestrationContext):
    """Call the waiting orchestrator as a child; return what the parent saw."""
    try:
        result = yield context.call_sub_orchestrator(WAIT_EVENT, None,
                                                     instance_id=context.get_input())
    except Exception as error:  # noqa: BLE001
        return f"child failed: {error}"
    return f"child returned: {result}"


@app.orchestration_trigger(context_name="context", orchestration=COUNTER)
def counter(context: df.DurableOrchestrationContext):
    """Count up through continue_as_new, one activity per generation."""
    state = context.get_input()
    yield context.call_activity(HELLO, str(state["n"]))
    if state["n"] < state["stop"]:
        context.continue_as_new({**state, "n": state["n"] + 1})
        return None
    return state["n"]


@app.orchestration_trigger(context_name="context", orchestration=COUNTER_THEN_WAIT)
def counter_then_wait(context: df.DurableOrchestrationContext):
    """Continue as new once, then the new generation waits for the event 'finish'."""
    generation = context.get_input()
    yield context.call_activity(HELLO, f"generation {generation}")
    if generation == 0:
        context.continue_as_new(1)
        return None
    context.set_custom_status("waiting")
    return (yield context.wait_for_external_event("finish"))


@app.orchestration_trigger(context_name="context", orchestration=WAIT_EVENT)
def wait_event(context: df.DurableOrchestrationContext):
    """Wait for the event 'go' and return its payload."""
    context.set_custom_status("waiting")
    return (yield context.wait_for_external_event("go"))


@app.orchestration_trigger(context_name="context", orchestration=TIMER)
def timer(context: df.DurableOrchestrationContext):
    """Sleep ten durable minutes; return the orchestration's time before and after."""
    before = context.current_utc_datetime
    yield context.create_timer(before + timedelta(minutes=10))
    return [before.isoformat(), context.current_utc_datetime.isoformat()]


@app.orchestration_trigger(context_name="context", orchestration=APPROVAL)
def approval(context: df.DurableOrchestrationContext):
    """Wait for 'approve' or five minutes, whichever comes first; cancel the loser."""
    decision = context.wait_for_external_event("approve")
    deadline = context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    winner = yield context.task_any([decision, deadline])
    if winner is decision:
        deadline.cancel()
        return {"approved": decision.result}
    return "timed out"


@app.orchestration_trigger(context_name="context", orchestration=STATUS)
def status(context: df.DurableOrchestrationContext):
    """Publish a custom status before and after an activity."""
    context.set_custom_status({"step": 1})
    greeting = yield context.call_activity(HELLO, "status")
    context.set_custom_status({"step": 2, "greeting": greeting})
    return (yield context.wait_for_external_event("done"))


@app.orchestration_trigger(context_name="context", orchestration=FICKLE)
def fickle(context: df.DurableOrchestrationContext):
    """Call whichever activity the module switch names: non-deterministic on purpose."""
    result = yield context.call_activity(FICKLE_SWITCH["activity"], "fickle")
    context.set_custom_status("waiting")
    yield context.wait_for_external_event("go")
    return result


@app.orchestration_trigger(context_name="context", orchestration=ENTITY_CALLER)
def entity_caller(context: df.DurableOrchestrationContext):
    """Call a durable entity (not supported by the local host)."""
    return (yield context.call_entity(df.EntityId("Counter", "one"), "add", 1))


@app.orchestration_trigger(context_name="context", orchestration=HTTP_CALLER)
def http_caller(context: df.DurableOrchestrationContext):
    """Make a durable HTTP call (not supported by the local host)."""
    response = yield context.call_http("GET", "https://example.invalid/")
    return response.status_code


@app.orchestration_trigger(context_name="context", orchestration=SLEEPY)
def sleepy(context: df.DurableOrchestrationContext):
    """Run the blocking activity once."""
    return (yield context.call_activity(NAP, context.get_input()))


@app.orchestration_trigger(context_name="context", orchestration=MONITOR)
def monitor(context: df.DurableOrchestrationContext):
    """Wait for 'tick' or a timeout; a tick continues as new with twice the timeout."""
    minutes = context.get_input()
    tick = context.wait_for_external_event("tick")
    timeout = context.create_timer(context.current_utc_datetime + timedelta(minutes=minutes))
    context.set_custom_status(f"waiting {minutes}")
    winner = yield context.task_any([tick, timeout])
    if winner is tick:
        timeout.cancel()
        context.continue_as_new(minutes * 2)
        return None
    return f"timed out after {minutes} minutes"


@app.orchestration_trigger(context_name="context", orchestration=BIG_STATUS)
def big_status(context: df.DurableOrchestrationContext):
    """Set a small custom status, wait for 'go', then set one of the asked number of chars."""
    context.set_custom_status("small")
    yield context.wait_for_external_event("go")
    context.set_custom_status("x" * context.get_input())
    yield context.call_activity(HELLO, "after")
    return "done"


@app.orchestration_trigger(context_name="context", orchestration=CHILD_ID)
def child_id(context: df.DurableOrchestrationContext):
    """Start a child under the id given as input ("self" and "parent" name those ids)."""
    wanted = context.get_input()
    chosen = {"self": context.instance_id, "parent": context.parent_instance_id}.get(wanted,
                                                                                  wanted)
    try:
        return (yield context.call_sub_orchestrator(CHILD, "kid", instance_id=chosen))
    except Exception as error:  # noqa: BLE001 - the host's refusal must not reach here
        return f"caught: {error}"


@app.orchestration_trigger(context_name="context", orchestration=PARENT_OF_CHILD_ID)
def parent_of_child_id(context: df.DurableOrchestrationContext):
    """Run child_id as a sub-orchestration with the input given."""
    return (yield context.call_sub_orchestrator(CHILD_ID, context.get_input(),
                                                instance_id=f"{context.instance_id}-mid"))


@app.orchestration_trigger(context_name="context", orchestration=MISSING_CHILD)
def missing_child(context: df.DurableOrchestrationContext):
    """Call a sub-orchestrator no function implements."""
    try:
        return (yield context.call_sub_orchestrator(MISSING_ORCHESTRATOR, 1))
    except Exception as error:  # noqa: BLE001
        return f"caught: {error}"


@app.orchestration_trigger(context_name="context", orchestration=LONG_NAP)
def long_nap(context: df.DurableOrchestrationContext):
    """Sleep the number of durable days given as input, in one timer."""
    start = context.current_utc_datetime
    yield context.create_timer(start + timedelta(days=context.get_input()))
    return (context.current_utc_datetime - start).days


@app.orchestration_trigger(context_name="context", orchestration=NAMED_RETRY)
def named_retry(context: df.DurableOrchestrationContext):
    """A retried sub-orchestration under an explicit instance id."""
    spec = context.get_input()
    return (yield context.call_sub_orchestrator_with_retry(
        FLAKY_CHILD, _retry(spec), spec, instance_id=f"{context.instance_id}-kid"))


@app.orchestration_trigger(context_name="context", orchestration=STEPS_THEN_FLAKY)
def steps_then_flaky(context: df.DurableOrchestrationContext):
    """Greet, the flaky activity, greet, the flaky activity under another key: uncaught."""
    spec = context.get_input()
    first = yield context.call_activity(HELLO, "first")
    flaky_result = yield context.call_activity(FLAKY, spec)
    beside = yield context.call_activity(HELLO, "beside")
    second = yield context.call_activity(FLAKY, {**spec, "key": spec["key"] + "-b"})
    return [first, flaky_result, second, beside]


@app.orchestration_trigger(context_name="context", orchestration=RETRIED_UNCAUGHT)
def retried_uncaught(context: df.DurableOrchestrationContext):
    """The flaky activity under a retry policy, its last failure uncaught."""
    spec = context.get_input()
    return (yield context.call_activity_with_retry(FLAKY, _retry(spec), spec))


@app.orchestration_trigger(context_name="context", orchestration="versioned")
def versioned(context: df.DurableOrchestrationContext):
    """Return this instance's version and those of a default and an explicit child."""
    child = yield context.call_sub_orchestrator("version_of", None)
    pinned = yield context.call_sub_orchestrator("version_of", None, version="1.5")
    return {"self": context.version, "child": child, "pinned": pinned}


@app.orchestration_trigger(context_name="context", orchestration="version_of")
def version_of(context: df.DurableOrchestrationContext):
    """Return this instance's version."""
    return context.version
    yield  # a generator, as every orchestrator
