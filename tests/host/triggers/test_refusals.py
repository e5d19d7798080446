"""What the host still refuses, and the worker's load-time checks on timer and queue functions:
each refusal names the function, the binding and what is supported."""

from __future__ import annotations

import pytest

from devhost.app.loader import load_app
from devhost.clock import VirtualClock
from devhost.errors import AppLoadError
from devhost.taskhub.memory import MemoryTaskHub
from devhost.triggers.functions import QueueFunction
from devhost.triggers.queues import memory_queues
from tests.host.triggers.conftest import LocalStarter, wait_for_inputs
from tests.support.front_end import AppWriter

HEAD = """
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
"""


def refusal(write_app: AppWriter, body: str) -> str:
    """The text of the AppLoadError loading the app raises."""
    with pytest.raises(AppLoadError) as refused:
        load_app(write_app(HEAD + body))
    return str(refused.value)


def test_an_unsupported_input_binding_on_a_timer_is_refused(write_app: AppWriter) -> None:
    """A blob input beside a timer trigger: the function, the binding and what is supported."""
    text = refusal(write_app, """
@app.timer_trigger(arg_name="timer", schedule="0 0 * * * *")
@app.blob_input(arg_name="data", path="box/item", connection="AzureWebJobsStorage")
def nightly(timer: func.TimerRequest, data: str) -> None:
    pass
""")
    assert "function 'nightly'" in text and "'data' of type 'blob'" in text
    assert "supported here: durableClient, queue output 'queue'" in text


def test_an_unsupported_trigger_is_refused_naming_the_supported_ones(
        write_app: AppWriter) -> None:
    """A blob trigger is not hosted; the message lists the triggers that are."""
    text = refusal(write_app, """
@app.blob_trigger(arg_name="blob", path="box/{name}", connection="AzureWebJobsStorage")
def on_blob(blob: func.InputStream) -> None:
    pass
""")
    assert "function 'on_blob'" in text and "'blobTrigger' is not supported" in text
    assert "timerTrigger, queueTrigger" in text


def test_a_queue_return_on_an_http_function_is_refused(write_app: AppWriter) -> None:
    """An HTTP function's return value is its response: a queue output needs a parameter."""
    text = refusal(write_app, """
@app.route(route="enqueue")
@app.queue_output(arg_name="$return", queue_name="work", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest) -> str:
    return "ok"
""")
    assert "function 'enqueue'" in text and "'$return' of type 'queue'" in text
    assert "queue outputs through func.Out parameters" in text


def test_a_trigger_annotation_the_worker_rejects_is_refused(write_app: AppWriter) -> None:
    """``msg: int`` on a queue trigger fails the worker's load-time type check."""
    text = refusal(write_app, """
@app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
def worker(msg: int) -> None:
    pass
""")
    assert "function 'worker'" in text
    assert 'type of msg binding "queueTrigger" does not match its Python annotation "int"' in text


def test_an_output_parameter_must_be_out(write_app: AppWriter) -> None:
    """An annotated output parameter that is not ``func.Out`` is the worker's load error."""
    text = refusal(write_app, """
@app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="out", queue_name="done", connection="AzureWebJobsStorage")
def worker(msg: func.QueueMessage, out: str) -> None:
    pass
""")
    assert "function 'worker'" in text
    assert "not a subclass of azure.functions.Out" in text


QUEUE_BODY = """
@app.queue_trigger(arg_name="msg", queue_name="%WORK_QUEUE%", connection="CONNECTION")
@app.durable_client_input(client_name="client")
async def worker(msg: str, client: df.DurableOrchestrationClient) -> None:
    await client.start_new("echo", None, msg)


@app.orchestration_trigger(context_name="context")
def echo(context):
    return context.get_input()
"""


def queue_app(write_app: AppWriter, connection: str = "AzureWebJobsStorage") -> str:
    """The app's source with its trigger on ``connection``."""
    return HEAD + QUEUE_BODY.replace("CONNECTION", connection)


async def test_a_str_parameter_gets_the_body_text(write_app: AppWriter,
                                                 start_local: LocalStarter) -> None:
    """``msg: str`` is the worker's generic binding: the decoded body as text."""
    folder = write_app(queue_app(write_app))
    index = load_app(folder)
    (worker,) = index.triggers
    assert isinstance(worker, QueueFunction) and worker.trigger_form == "str"
    clock = VirtualClock()
    hub = MemoryTaskHub(clock)
    await start_local(folder, hub, WORK_QUEUE="work")
    await memory_queues(hub, clock).send("work", "aGVsbG8=")  # "hello" in base64
    assert await wait_for_inputs(hub, "echo", 1) == ["hello"]


@pytest.mark.parametrize(("connection", "settings", "problem"), [
    ("AzureWebJobsStorage", {"WORK_QUEUE": "Bad_Name"}, "queue name 'bad_name' is invalid"),
    ("AzureWebJobsStorage", {}, "'WORK_QUEUE', which is not set"),
    ("OtherStorage", {"WORK_QUEUE": "ok-queue"},
     "connection 'OtherStorage' names an app setting that is not set"),
])
async def test_queue_bindings_azure_refuses_stop_the_start(
        write_app: AppWriter, start_local: LocalStarter, connection: str,
        settings: dict[str, str], problem: str) -> None:
    """A queue name Azure Storage refuses, an unset reference or connection: no start."""
    folder = write_app(queue_app(write_app, connection))
    with pytest.raises(AppLoadError, match="function 'worker'") as refused:
        await start_local(folder, MemoryTaskHub(VirtualClock()), **settings)
    assert problem in str(refused.value)
