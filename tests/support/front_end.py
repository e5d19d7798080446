"""Sample app sources and fixture types shared by the host tests."""

from collections.abc import Awaitable, Callable
from pathlib import Path

from devhost.http.server import HttpFrontEnd

AppWriter = Callable[..., Path]
FrontEndStarter = Callable[..., Awaitable[HttpFrontEnd]]

# A small app exercising what the front end must do; functions report what they received.
SAMPLE_APP = '''
import json
import threading

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


def _seen(req):
    return {
        "method": req.method,
        "url": req.url,
        "route": dict(req.route_params),
        "params": dict(req.params),
        "headers": {k: v for k, v in req.headers.items() if k.startswith("x-test")},
        "body": req.get_body().decode(),
        "loop_thread": threading.current_thread() is threading.main_thread(),
    }


@app.route(route="echo/{id:int}/{rest?}", methods=["GET", "POST"],
           auth_level=func.AuthLevel.ANONYMOUS)
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(_seen(req)), mimetype="application/json",
                             headers={"X-Echo": "sync"})


@app.route(route="async-echo", auth_level=func.AuthLevel.ANONYMOUS)
async def async_echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(_seen(req)), status_code=201, mimetype="text/plain",
                             charset="latin-1", headers={"X-Echo": "async"})


@app.route(route="secret")
def secret(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("function level")


@app.route(route="admin-only", auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin level")


@app.route(route="open", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def open_route(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("open")


@app.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("kaboom: internal detail")


@app.route(route="bad-return", auth_level=func.AuthLevel.ANONYMOUS)
def bad_return(req: func.HttpRequest) -> func.HttpResponse:
    return {"not": "a response"}


_gate = threading.Event()


@app.route(route="wait", auth_level=func.AuthLevel.ANONYMOUS)
def wait(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("released" if _gate.wait(5) else "timed out")


@app.route(route="release", auth_level=func.AuthLevel.ANONYMOUS)
async def release(req: func.HttpRequest) -> func.HttpResponse:
    _gate.set()
    return func.HttpResponse("ok")


@app.route(route="start/{name}", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient
                ) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["name"], None, req.get_json())
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context", orchestration="Hello")
def hello(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("SayHello", context.get_input())
    return result


@app.activity_trigger(input_name="city", activity="SayHello")
def say_hello(city: str) -> str:
    return f"Hello {city}"
'''
