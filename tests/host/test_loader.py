"""Indexing an app folder the way the worker does, and refusing what cannot be hosted."""

import sys

import pytest

from devhost.app.loader import ALL_METHODS, load_app
from devhost.errors import AppLoadError
from tests.support import APP_DIR
from tests.support.front_end import SAMPLE_APP, AppWriter

ORDER_APP = APP_DIR

HEADER = '''
import azure.durable_functions as df
import azure.functions as func
'''


def test_order_app_index() -> None:
    """The order app: its six HTTP functions (starter, status, approval, staff list, staff
    console, OpenAPI), one orchestrator, one activity."""
    index = load_app(ORDER_APP)
    http = {f.name: (f.route, f.methods, f.auth_level, f.client_param, f.is_async)
            for f in index.http}
    assert http == {
        "PlaceOrder": ("orders", ("POST",), "anonymous", "client", True),
        "OrderStatus": ("orders/{orderId}", ("GET",), "anonymous", "client", True),
        "ApproveOrder": ("orders/{orderId}/approve", ("POST",), "function", "client", True),
        "ListOrders": ("orders", ("GET",), "function", "client", True),
        "StaffConsole": ("staff/{asset?}", ("GET",), "anonymous", None, False),
        "OpenApiDocument": ("openapi.json", ("GET",), "anonymous", None, False),
    }
    assert list(index.orchestrators) == ["OrderOrchestrator"]
    assert list(index.activities) == ["BackendAction"]
    activity = index.activities["BackendAction"]
    assert (activity.input_param, activity.is_async) == ("action", True)
    assert index.app_dir == ORDER_APP


def test_orchestrator_handle_speaks_the_protocol() -> None:
    """The indexed orchestrator is the SDK's handle: JSON context in, state JSON out."""
    handle = load_app(ORDER_APP).orchestrators["OrderOrchestrator"].handle
    assert callable(handle)
    assert hasattr(handle, "orchestrator_function")


def test_sample_app_details(write_app: AppWriter) -> None:
    """Routes default to the function name, methods to all, auth to the app's level."""
    index = load_app(write_app(SAMPLE_APP))
    by_name = {f.name: f for f in index.http}
    assert by_name["secret"].route == "secret"
    assert by_name["secret"].methods == ALL_METHODS
    assert by_name["secret"].auth_level == "function"
    assert by_name["admin_only"].auth_level == "admin"
    assert by_name["echo"].methods == ("GET", "POST")
    assert (by_name["echo"].request_param, by_name["echo"].client_param) == ("req", None)
    assert by_name["echo"].is_async is False
    assert by_name["async_echo"].is_async is True
    assert by_name["start"].client_param == "client"
    assert set(index.orchestrators) == {"Hello", "AwaitApproval", "Echo", "Fail"}
    assert index.activities["SayHello"].input_param == "city"


def test_function_name_decorator_and_default_names(write_app: AppWriter) -> None:
    """@function_name renames the function; orchestrators/activities default to it."""
    folder = write_app(HEADER + '''
app = df.DFApp()

@app.function_name("Renamed")
@app.route(auth_level=func.AuthLevel.ANONYMOUS)
def original(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("x")

@app.orchestration_trigger(context_name="context")
def my_orchestrator(context):
    yield context.call_activity("my_activity", None)

@app.activity_trigger(input_name="payload")
async def my_activity(payload):
    return payload
''')
    index = load_app(folder)
    assert [(f.name, f.route) for f in index.http] == [("Renamed", "Renamed")]
    assert set(index.orchestrators) == {"my_orchestrator"}
    assert index.activities["my_activity"].is_async is True


def test_function_app_with_durable_blueprints(write_app: AppWriter) -> None:
    """A plain func.FunctionApp that registers df.Blueprints is hosted like a DFApp."""
    folder = write_app(HEADER + '''
bp = df.Blueprint()

@bp.route(route="go", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="starter")
async def go(req: func.HttpRequest, starter) -> func.HttpResponse:
    return func.HttpResponse("x")

@bp.orchestration_trigger(context_name="context", orchestration="Flow")
def flow(context):
    return None

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(bp)
''')
    index = load_app(folder)
    (go,) = index.http
    assert (go.name, go.client_param, go.is_async) == ("go", "starter", True)
    assert set(index.orchestrators) == {"Flow"}


def test_second_app_gets_its_own_helper_module(write_app: AppWriter) -> None:
    """A module name two app folders share is imported afresh from the app being loaded."""
    source = HEADER + '''
import helper
app = df.DFApp()

@app.route(route=helper.ROUTE, auth_level=func.AuthLevel.ANONYMOUS)
def f(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("x")
'''
    first = write_app(source, "first", helper__py='ROUTE = "one"\n')
    second = write_app(source, "second", helper__py='ROUTE = "two"\n')
    assert load_app(first).http[0].route == "one"
    assert load_app(second).http[0].route == "two"
    assert sys.path[0] == str(second)


@pytest.mark.parametrize(("source", "message"), [
    (None, "no function_app.py"),
    ("import not_a_module_anywhere\n",
     "imports module 'not_a_module_anywhere', which is not installed"),
    ("x = 1\n", "no FunctionRegister"),
    (HEADER + "app = df.DFApp()\nother = func.FunctionApp()\n", "several FunctionRegisters"),
    (HEADER + "bp = df.Blueprint()\n", "no FunctionRegister"),
])
def test_unloadable_app_is_refused(write_app: AppWriter, source: str | None,
                                   message: str) -> None:
    """Missing module, import failure, zero or several registers: AppLoadError says which."""
    with pytest.raises(AppLoadError, match=message):
        load_app(write_app(source))


def test_import_error_quotes_traceback_tail(write_app: AppWriter) -> None:
    """An exception raised while importing the app is reported with its traceback tail."""
    folder = write_app("def broken():\n    raise ValueError('bad config value')\n\nbroken()\n")
    with pytest.raises(AppLoadError) as caught:
        load_app(folder)
    text = str(caught.value)
    assert "ValueError: bad config value" in text
    assert "function_app.py\", line 2, in broken" in text


REFUSALS = [
    ("blob", '''
@app.blob_trigger(arg_name="blob", path="box/{name}", connection="AzureWebJobsStorage")
def on_blob(blob: func.InputStream) -> None:
    pass
''', "function 'on_blob': trigger type 'blobTrigger' is not supported"),
    ("entity context name", '''
@app.entity_trigger(context_name="ctx")
def counter(ctx):
    pass
''', "function 'counter': entityTrigger parameter must be named 'context'"),
    ("queue output as the http return", '''
@app.route(route="q", auth_level=func.AuthLevel.ANONYMOUS)
@app.queue_output(arg_name="$return", queue_name="q", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest) -> str:
    return "x"
''', r"function 'enqueue': binding '\$return' of type 'queue' is not supported"),
    ("duplicate route", '''
@app.route(route="items/{id}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def first(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("1")

@app.route(route="Items/{itemId}", methods=["GET", "POST"])
def second(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("2")
''', r"function 'second': route 'Items/\{itemId\}' \(GET\) is already served by function "
     "'first'"),
    ("context name", '''
@app.orchestration_trigger(context_name="ctx")
def orch(ctx):
    return None
''', "function 'orch': orchestrationTrigger parameter must be named 'context'"),
    ("bad route", '''
@app.route(route="items/{id:regex(x)}", auth_level=func.AuthLevel.ANONYMOUS)
def items(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("1")
''', "function 'items': httpTrigger route"),
    ("unbound parameter", '''
@app.route(route="p", auth_level=func.AuthLevel.ANONYMOUS)
def needs_more(req: func.HttpRequest, extra: str) -> func.HttpResponse:
    return func.HttpResponse("1")
''', "function 'needs_more': parameter 'extra': no binding supplies it"),
    ("client on activity", '''
@app.activity_trigger(input_name="payload")
@app.durable_client_input(client_name="client")
async def act(payload, client):
    return None
''', "function 'act': binding 'client' of type 'durableClient' on an activityTrigger"),
    ("duplicate orchestrator", '''
@app.orchestration_trigger(context_name="context", orchestration="Same")
def one(context):
    return None

@app.orchestration_trigger(context_name="context", orchestration="Same")
def two(context):
    return None
''', "function 'two': orchestrator name 'Same' is already used"),
]


@pytest.mark.parametrize(("case", "body", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_unhostable_function_is_refused(write_app: AppWriter, case: str, body: str,
                                        message: str) -> None:
    """Each unsupported trigger or binding is refused, naming the function and binding."""
    with pytest.raises(AppLoadError, match=message):
        load_app(write_app(HEADER + "app = df.DFApp()\n" + body))


def test_same_route_different_methods_is_fine(write_app: AppWriter) -> None:
    """Two functions may share a route template when their methods differ."""
    folder = write_app(HEADER + '''
app = df.DFApp()

@app.route(route="items/{id}", methods=["GET"])
def read(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("r")

@app.route(route="items/{id}", methods=["DELETE"])
def delete(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("d")
''')
    assert {f.name for f in load_app(folder).http} == {"read", "delete"}
