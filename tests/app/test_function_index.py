"""What the Python worker indexes from ``function_app``: functions, triggers and bindings.

The worker imports ``function_app``, takes its one module-level ``FunctionRegister`` and
sends the host each function's raw bindings; these tests read the same objects.
"""

import inspect
import json

import azure.durable_functions as df
import azure.functions as func
import pytest

import function_app
from constants import (
    APPROVE_FUNCTION,
    APPROVE_ROUTE,
    BACKEND_ACTION,
    LIST_ORDERS_FUNCTION,
    OPENAPI_FUNCTION,
    OPENAPI_ROUTE,
    ORDER_ORCHESTRATOR,
    ORDER_STATUS_FUNCTION,
    ORDER_STATUS_ROUTE,
    ORDERS_ROUTE,
    PLACE_ORDER_FUNCTION,
    STAFF_CONSOLE_FUNCTION,
    STAFF_CONSOLE_ROUTE,
)


def built_functions() -> dict[str, func.Function]:
    """The app's functions as the worker indexes them, by function name.

    ``FunctionApp.get_functions()`` remembers the names it built and refuses a second call
    on the same app; the worker calls it once per process. Tests build as often as they
    like, so the remembered names are set aside for the call and put back afterwards.
    """
    app = function_app.app
    remembered = app.functions_bindings
    app.functions_bindings = None
    try:
        functions = app.get_functions()
    finally:
        app.functions_bindings = remembered
    return {function.get_function_name(): function for function in functions}

HTTP_FUNCTIONS = {
    PLACE_ORDER_FUNCTION: (ORDERS_ROUTE, ["POST"], "ANONYMOUS"),
    ORDER_STATUS_FUNCTION: (ORDER_STATUS_ROUTE, ["GET"], "ANONYMOUS"),
    APPROVE_FUNCTION: (APPROVE_ROUTE, ["POST"], "FUNCTION"),
    LIST_ORDERS_FUNCTION: (ORDERS_ROUTE, ["GET"], "FUNCTION"),
    STAFF_CONSOLE_FUNCTION: (STAFF_CONSOLE_ROUTE, ["GET"], "ANONYMOUS"),
    OPENAPI_FUNCTION: (OPENAPI_ROUTE, ["GET"], "ANONYMOUS"),
}
# The HTTP functions that talk to the task hub, through a durable client binding.
CLIENT_FUNCTIONS = [name for name in HTTP_FUNCTIONS
                    if name not in (STAFF_CONSOLE_FUNCTION, OPENAPI_FUNCTION)]
ORCHESTRATOR_FUNCTION = ORDER_ORCHESTRATOR
ACTIVITY_FUNCTION = BACKEND_ACTION


def raw_bindings(name: str) -> list[dict]:
    """The binding JSON the worker sends the host for function ``name``."""
    return [json.loads(raw) for raw in built_functions()[name].get_raw_bindings()]


def binding_of_type(name: str, binding_type: str) -> dict:
    """The one binding of ``binding_type`` on function ``name``."""
    found = [b for b in raw_bindings(name) if b["type"] == binding_type]
    assert len(found) == 1, f"{name} has {len(found)} {binding_type} bindings"
    return found[0]


def test_app_indexes_exactly_its_functions():
    """The HTTP routes, the order orchestrator and the BackendAction activity; no more."""
    assert set(built_functions()) == {*HTTP_FUNCTIONS, ORCHESTRATOR_FUNCTION, ACTIVITY_FUNCTION}


@pytest.mark.parametrize(("name", "trigger_type"), [
    (PLACE_ORDER_FUNCTION, "httpTrigger"),
    (ORDER_STATUS_FUNCTION, "httpTrigger"),
    (APPROVE_FUNCTION, "httpTrigger"),
    (ORCHESTRATOR_FUNCTION, "orchestrationTrigger"),
    (ACTIVITY_FUNCTION, "activityTrigger"),
])
def test_each_function_has_its_trigger_type(name, trigger_type):
    """Each function is triggered the way its role needs."""
    assert built_functions()[name].get_trigger().type == trigger_type
    assert [b["type"] for b in raw_bindings(name)].count(trigger_type) == 1


@pytest.mark.parametrize("name", list(HTTP_FUNCTIONS))
def test_http_routes_methods_and_auth_levels(name):
    """Orders and status are anonymous; approve needs a function key; routes and verbs fixed."""
    route, methods, auth_level = HTTP_FUNCTIONS[name]
    trigger = binding_of_type(name, "httpTrigger")
    assert (trigger["route"], trigger["methods"], trigger["authLevel"]) == (
        route, methods, auth_level)
    assert trigger["direction"] == "IN"


def test_routes_are_what_the_mobile_app_and_staff_call():
    """The public paths below /api are orders, orders/{orderId} and its approve."""
    assert (ORDERS_ROUTE, ORDER_STATUS_ROUTE, APPROVE_ROUTE) == (
        "orders", "orders/{orderId}", "orders/{orderId}/approve")


@pytest.mark.parametrize("name", CLIENT_FUNCTIONS)
def test_http_functions_have_a_durable_client_and_an_http_return(name):
    """Each route gets a durableClient input named client and answers through $return."""
    client = binding_of_type(name, "durableClient")
    assert (client["name"], client["direction"]) == ("client", "IN")
    output = binding_of_type(name, "http")
    assert (output["name"], output["direction"]) == ("$return", "OUT")
    assert len(raw_bindings(name)) == 3


@pytest.mark.parametrize("name", [ORCHESTRATOR_FUNCTION, ACTIVITY_FUNCTION])
def test_only_http_functions_bind_a_durable_client(name):
    """The orchestrator and the activity have their trigger and nothing else."""
    assert [b["type"] for b in raw_bindings(name)] in (
        ["orchestrationTrigger"], ["activityTrigger"])


def test_orchestrator_is_registered_under_its_orchestration_name():
    """Starts use ORDER_ORCHESTRATOR; the trigger registers exactly that orchestration name."""
    trigger = binding_of_type(ORCHESTRATOR_FUNCTION, "orchestrationTrigger")
    assert (trigger["orchestration"], trigger["name"]) == (ORDER_ORCHESTRATOR, "context")


def test_activity_is_registered_under_its_activity_name():
    """The orchestrator calls BACKEND_ACTION; the trigger registers exactly that name."""
    trigger = binding_of_type(ACTIVITY_FUNCTION, "activityTrigger")
    assert trigger["activity"] == BACKEND_ACTION
    function = built_functions()[ACTIVITY_FUNCTION].get_user_function()
    assert list(inspect.signature(function).parameters) == [trigger["name"]]


@pytest.mark.parametrize("name", CLIENT_FUNCTIONS)
def test_http_user_function_is_the_sdk_client_middleware_around_an_async_route(name):
    """The built function is the async client middleware; the route takes (req, client)."""
    user_function = built_functions()[name].get_user_function()
    assert inspect.iscoroutinefunction(user_function)
    route = user_function.client_function
    assert inspect.iscoroutinefunction(route)
    # The worker passes arguments by binding name, so they must match the parameters.
    inputs = [b["name"] for b in raw_bindings(name) if b["direction"] == "IN"]
    assert sorted(inspect.signature(route).parameters) == sorted(inputs)


def test_orchestrator_user_function_is_the_sdk_handle_around_a_generator():
    """The built orchestrator is the SDK's handle; the original is a generator on context."""
    handle = built_functions()[ORCHESTRATOR_FUNCTION].get_user_function()
    generator = handle.orchestrator_function
    assert inspect.isgeneratorfunction(generator)
    assert list(inspect.signature(generator).parameters) == ["context"]


def test_function_app_has_one_function_register_and_it_is_a_dfapp():
    """The worker finds exactly one FunctionRegister at module level: the DFApp."""
    registers = [value for value in vars(function_app).values()
                 if isinstance(value, func.FunctionRegister)]
    assert registers == [function_app.app]
    assert isinstance(function_app.app, df.DFApp)


async def test_the_client_middleware_accepts_the_binding_json_as_the_worker_passes_it():
    """Called by keyword with the binding's JSON string, the middleware reaches the route."""
    binding = json.dumps({
        "taskHubName": "OrderFlowHub", "creationUrls": {}, "managementUrls": {},
        "baseUrl": "http://127.0.0.1:9/runtime/webhooks/durabletask",
        "requiredQueryStringParameters": "",
        "rpcBaseUrl": "http://127.0.0.1:9/durabletask/",
    })
    req = func.HttpRequest("POST", "http://localhost:7071/api/orders", headers={}, params={},
                           route_params={}, body=b"[]")
    user_function = built_functions()[PLACE_ORDER_FUNCTION].get_user_function()
    # A body the route refuses before any durable call: no host needs to be listening.
    response = await user_function(req=req, client=binding)
    assert response.status_code == 400
