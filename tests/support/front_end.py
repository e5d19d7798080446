"""The sample app, and an app folder served for real: its front end on a durable runtime.

``served_app`` loads an app folder, starts a ``DurableRuntime`` for its orchestrators and
activities on a memory task hub under a virtual clock, and serves the app's HTTP functions
and the management API on a free port with ``runtime.client`` behind them.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from devhost.app.loader import load_app
from devhost.app.settings import load_settings
from devhost.clock import VirtualClock
from devhost.engine.client import DurableClient
from devhost.engine.runtime import DurableRuntime
from devhost.http.keys import HostKeys
from devhost.http.server import HttpFrontEnd
from devhost.taskhub.base import TaskHub
from tests.support.local_host import GatedTaskHub

# Where the virtual clock of a served app starts: instances started before any advance
# are created at this moment.
CLOCK_START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ServedApp:
    """An app folder's running front end and the durable runtime behind it."""

    front_end: HttpFrontEnd
    runtime: DurableRuntime
    hub: TaskHub
    keys: HostKeys

    @property
    def client(self) -> DurableClient:
        """The durable client the front end calls."""
        return self.runtime.client


AppWriter = Callable[..., Path]
FrontEndStarter = Callable[..., Awaitable[HttpFrontEnd]]
AppServer = Callable[..., Awaitable[ServedApp]]


@asynccontextmanager
async def served_app(app_dir: Path, keys: HostKeys | None = None, hub: TaskHub | None = None,
                     **options: Any) -> AsyncIterator[ServedApp]:
    """Serve ``app_dir`` on a free loopback port until the block ends.

    The runtime's hub is ``hub``, by default a ``GatedTaskHub`` (open unless the test holds
    its work) on a ``VirtualClock`` at ``CLOCK_START``; ``keys`` default to the folder's own;
    ``options`` go to ``HttpFrontEnd``.
    """
    index = load_app(app_dir)
    hub = hub or GatedTaskHub(VirtualClock(CLOCK_START))
    runtime = DurableRuntime(hub, index.orchestrators, index.activities)
    await runtime.start()
    try:
        keys = keys or HostKeys.load(app_dir)
        options.setdefault("sync_pool", runtime.workers.sync_pool)
        front_end = HttpFrontEnd(index, runtime.client, keys,
                                 load_settings(app_dir, environ={}), port=0, **options)
        await front_end.start()
        try:
            yield ServedApp(front_end, runtime, hub, keys)
        finally:
            await front_end.stop()
    finally:
        await runtime.stop()


# A small app exercising what the front end must do; functions report what they received.
# Its orchestrators put instances in each state: Hello runs an activity, AwaitApproval
# (custom status {"stage": "cooking"}) runs until an Approval event and returns its data,
# Echo completes with its input, Fail fails with its input as the error message.
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
        "thread": threading.current_thread().name,
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


@app.orchestration_trigger(context_name="context", orchestration="AwaitApproval")
def await_approval(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "cooking"})
    approval = yield context.wait_for_external_event("Approval")
    return approval


@app.orchestration_trigger(context_name="context", orchestration="Echo")
def echo_input(context: df.DurableOrchestrationContext):
    return context.get_input()


@app.orchestration_trigger(context_name="context", orchestration="Fail")
def fail(context: df.DurableOrchestrationContext):
    raise RuntimeError(context.get_input())


@app.activity_trigger(input_name="city", activity="SayHello")
def say_hello(city: str) -> str:
    return f"Hello {city}"
'''
