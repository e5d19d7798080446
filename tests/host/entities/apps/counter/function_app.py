"""A small Durable Functions app (Python v2) with a function-based entity.

A counter entity, orchestrators that call and signal it, and HTTP functions that start
them and signal or read the entity through the SDK's own client. Loaded by the entity tests
the way the worker loads an app.
"""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

COUNTER = "Counter"  # mixed case on purpose: its instances are @counter@{key}
ADD = "add"
GET = "get"
RESET = "reset"
FAIL = "fail"
SET_THEN_FAIL = "set_then_fail"
SHIFT = "shift"  # order matters: state * 10 + input
DELETE = "delete"

CALL_AND_SIGNAL = "call_and_signal"
CALL_FAILING = "call_failing"
CALL_MANY = "call_many"
CALL_MISSING_ENTITY = "call_missing_entity"
FICKLE_CALLER = "fickle_caller"
# Which counter the fickle caller calls: a test changes it to make a replay differ.
FICKLE_SWITCH = {"key": "first"}


@app.entity_trigger(context_name="context", entity_name=COUNTER)
def counter(context: df.DurableEntityContext) -> None:
    """An integer that can be added to, shifted, read, reset, deleted, and made to fail."""
    current = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == ADD:
        amount = context.get_input()
        if not isinstance(amount, int):
            raise ValueError(f"add needs an integer, not {amount!r}")
        context.set_state(current + amount)
        context.set_result(current + amount)
    elif operation == SHIFT:
        context.set_state(current * 10 + context.get_input())
    elif operation == GET:
        context.set_result(current)
    elif operation == RESET:
        context.set_state(0)
    elif operation == FAIL:
        raise ValueError(f"refused at {current}")
    elif operation == SET_THEN_FAIL:
        context.set_state(current + 1000)
        raise ValueError("failed after set_state")
    elif operation == DELETE:
        context.destruct_on_exit()
    else:
        raise ValueError(f"unknown operation {operation!r}")


@app.orchestration_trigger(context_name="context", orchestration=CALL_AND_SIGNAL)
def call_and_signal(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Signal ``add`` (or ``signal_operation``) with each of ``signals``, call ``add`` with
    each of ``calls``, then call ``get``: returns the call answers and the final value."""
    job = context.get_input()
    entity = df.EntityId(COUNTER, job["key"])
    for amount in job.get("signals", []):
        context.signal_entity(entity, job.get("signal_operation", ADD), amount)
    answers = []
    for amount in job.get("calls", []):
        answers.append((yield context.call_entity(entity, ADD, amount)))
    final = yield context.call_entity(entity, GET)
    return {"answers": answers, "final": final}


@app.orchestration_trigger(context_name="context", orchestration=CALL_FAILING)
def call_failing(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Call the operation named in the input, catch its error, then read the value."""
    job = context.get_input()
    entity = df.EntityId(COUNTER, job["key"])
    try:
        yield context.call_entity(entity, job["operation"], job.get("input"))
        error = None
    except Exception as raised:  # noqa: BLE001 - the entity's error arrives as Exception
        error = str(raised)
    final = yield context.call_entity(entity, GET)
    return {"error": error, "final": final}


@app.orchestration_trigger(context_name="context", orchestration=CALL_MANY)
def call_many(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Call ``add`` on several counters at once (``keys``), ``times`` rounds."""
    job = context.get_input()
    totals = []
    for _ in range(job["times"]):
        totals = yield context.task_all([
            context.call_entity(df.EntityId(COUNTER, key), ADD, 1) for key in job["keys"]])
    return totals


@app.orchestration_trigger(context_name="context", orchestration=CALL_MISSING_ENTITY)
def call_missing_entity(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Call an entity the app does not have."""
    try:
        yield context.call_entity(df.EntityId("nosuchentity", "k"), GET)
    except Exception:  # noqa: BLE001 - Azure fails the orchestration outside user code
        return "caught"
    return "answered"


@app.orchestration_trigger(context_name="context", orchestration=FICKLE_CALLER)
def fickle_caller(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Call the counter FICKLE_SWITCH names, then wait for the event ``go``."""
    yield context.call_entity(df.EntityId(COUNTER, FICKLE_SWITCH["key"]), GET)
    context.set_custom_status("waiting")
    yield context.wait_for_external_event("go")
    return "done"


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start orchestrator ``name`` with the JSON body as its input."""
    instance_id = await client.start_new(req.route_params["name"], None, req.get_json())
    return func.HttpResponse(json.dumps({"id": instance_id}), status_code=202,
                             mimetype="application/json")


@app.route(route="counters/{key}/{operation}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def signal(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Signal the counter ``key`` with ``operation`` and the JSON body as its input."""
    body = req.get_body()
    await client.signal_entity(df.EntityId(COUNTER, req.route_params["key"]),
                               req.route_params["operation"],
                               json.loads(body) if body else None)
    return func.HttpResponse(status_code=202)


@app.route(route="counters/{key}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def read(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The counter's state as the SDK's ``read_entity_state`` sees it."""
    found = await client.read_entity_state(df.EntityId(COUNTER, req.route_params["key"]))
    return func.HttpResponse(json.dumps({"exists": found.entity_exists,
                                         "state": found.entity_state}),
                             mimetype="application/json")


@app.route(route="status/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """An orchestration's runtime status and output, as the SDK's ``get_status`` reads them."""
    found = await client.get_status(req.route_params["instanceId"])
    runtime_status = found.runtime_status.value if found.runtime_status else None
    return func.HttpResponse(json.dumps({"runtimeStatus": runtime_status,
                                         "output": found.output}),
                             mimetype="application/json")
