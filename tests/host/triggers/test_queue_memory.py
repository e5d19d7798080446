"""Queue triggers and the queue output binding on the memory hub, on its virtual clock.

Completion follows ``QueueProcessor.CompleteProcessingMessageAsync`` (azure-webjobs-sdk):
success deletes, a failure at ``DequeueCount >= MaxDequeueCount`` moves the message to
``{queue}-poison``, any other failure releases it for ``visibilityTimeout``. The app's
host.json sets ``maxDequeueCount`` 3 and ``visibilityTimeout`` 2 s.
"""

from __future__ import annotations

import base64
import sys
from datetime import datetime, timedelta

import aiohttp

from devhost.clock import VirtualClock
from devhost.taskhub.memory import MemoryTaskHub
from devhost.triggers.queues import MemoryQueues, memory_queues
from tests.host.triggers.conftest import (
    QUEUE_APP,
    LocalStarter,
    inputs_of,
    settle,
    wait_for_inputs,
)
from tests.support.front_end import AppWriter

SETTINGS = {"JOBS_QUEUE": "jobs", "JOBS_HUB": "jobs"}


def b64(text: str) -> str:
    """``text`` as the base64 message content the queue holds."""
    return base64.b64encode(text.encode()).decode()


def unb64(contents: list[str]) -> list[str]:
    """Message contents back to text."""
    return [base64.b64decode(c).decode() for c in contents]


async def hosted(start_local: LocalStarter, **settings: str) -> tuple[MemoryTaskHub,
                                                                     MemoryQueues]:
    """The queue app on a memory hub of its own, and that hub's queues."""
    clock = VirtualClock()
    hub = MemoryTaskHub(clock)
    await start_local(QUEUE_APP, hub, **{**SETTINGS, **settings})
    return hub, memory_queues(hub, clock)


async def test_each_message_starts_an_orchestration_with_its_details(
        start_local: LocalStarter) -> None:
    """``func.QueueMessage`` carries id, body, dequeue count, insertion and expiration
    times and pop receipt; the output binding queues a reply; the message is deleted."""
    hub, queues = await hosted(start_local)
    now = hub.clock.now()
    await queues.send("jobs", b64("hello"))
    (started,) = await wait_for_inputs(hub, "job", 1)
    assert started["body"] == "hello"
    assert started["dequeue_count"] == 1
    assert started["id"] and started["pop_receipt"]
    assert datetime.fromisoformat(started["insertion_time"]) == now
    assert datetime.fromisoformat(started["expiration_time"]) == now + timedelta(days=7)
    await settle()
    assert queues.messages("jobs") == []
    (instance,) = await hub.query_instances()
    assert unb64(queues.messages("jobs-done")) == [f"started {instance.instance_id}"]


async def test_a_failed_message_is_retried_after_the_visibility_timeout(
        start_local: LocalStarter) -> None:
    """A failure leaves the message for its retry, hidden for ``visibilityTimeout`` (2 s
    of the virtual clock); the retry sees dequeue count 2."""
    hub, queues = await hosted(start_local)
    await queues.send("jobs", b64("flaky:2"))
    await settle(0.5)
    assert await inputs_of(hub, "job") == []
    assert len(queues.messages("jobs")) == 1  # kept for the retry, not lost
    await hub.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    await settle()
    assert await inputs_of(hub, "job") == []
    await hub.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    (started,) = await wait_for_inputs(hub, "job", 1)
    assert started["dequeue_count"] == 2


async def test_after_max_dequeue_count_failures_the_message_is_poisoned(
        start_local: LocalStarter) -> None:
    """The third failure (``maxDequeueCount`` 3) moves the message, unchanged, to
    ``jobs-poison``; no output is written for a failed run."""
    hub, queues = await hosted(start_local)
    await queues.send("jobs", b64("fail"))
    for _ in range(2):
        await settle()
        await hub.clock.advance(timedelta(seconds=2))  # type: ignore[attr-defined]
    await settle(0.5)
    assert unb64(queues.messages("jobs-poison")) == ["fail"]
    assert queues.messages("jobs") == []
    assert queues.messages("jobs-done") == []
    assert await inputs_of(hub, "job") == []


async def test_a_message_delivered_too_often_is_poisoned_unrun(
        start_local: LocalStarter) -> None:
    """A message already received ``maxDequeueCount`` times (by hosts that died on it) is
    moved to the poison queue before its function runs (``BeginProcessingMessageAsync``)."""
    clock = VirtualClock()
    hub = MemoryTaskHub(clock)
    queues = memory_queues(hub, clock)
    await queues.send("jobs", b64("hello"))
    for _ in range(3):
        assert len(await queues.receive("jobs", 1, 0.0)) == 1
    await start_local(QUEUE_APP, hub, **SETTINGS)
    for _ in range(100):
        if queues.messages("jobs-poison"):
            break
        await settle(0.02)
    assert unb64(queues.messages("jobs-poison")) == ["hello"]
    assert await inputs_of(hub, "job") == []


async def test_a_message_that_is_not_base64_is_poisoned_unprocessed(
        start_local: LocalStarter) -> None:
    """With ``messageEncoding`` base64 (the default) undecodable text cannot be processed;
    the extension's ``MessageDecodingFailed`` handler moves it to the poison queue."""
    hub, queues = await hosted(start_local)
    await queues.send("jobs", "plain text, not base64!")
    await settle(0.5)
    assert queues.messages("jobs-poison") == ["plain text, not base64!"]
    assert await inputs_of(hub, "job") == []


async def test_message_encoding_none_reads_and_writes_plain_text(
        start_local: LocalStarter) -> None:
    """``messageEncoding: none`` (here as its app setting override) takes text as it is."""
    hub, queues = await hosted(
        start_local, AzureFunctionsJobHost__extensions__queues__messageEncoding="none")
    await queues.send("jobs", "as is")
    (started,) = await wait_for_inputs(hub, "job", 1)
    assert started["body"] == "as is"
    await settle()
    assert queues.messages("jobs-done")[0].startswith("started ")


async def test_many_messages_each_start_one_orchestration(start_local: LocalStarter) -> None:
    """Forty messages, batches of 8: every one processed once."""
    hub, queues = await hosted(start_local)
    bodies = [f"job-{n}" for n in range(40)]
    for body in bodies:
        await queues.send("jobs", b64(body))
    started = await wait_for_inputs(hub, "job", 40)
    assert sorted(s["body"] for s in started) == sorted(bodies)
    await settle()
    assert len(await inputs_of(hub, "job")) == 40
    assert len(queues.messages("jobs-done")) == 40


OUTPUTS_APP = """
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="enqueue/{text}")
@app.queue_output(arg_name="out", queue_name="%JOBS_QUEUE%", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
    if req.route_params["text"] == "refuse":
        out.set("never written")
        raise ValueError("refused")
    out.set(req.route_params["text"])
    return func.HttpResponse("queued", status_code=202)


@app.queue_trigger(arg_name="msg", queue_name="%JOBS_QUEUE%", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="$return", queue_name="%JOBS_QUEUE%-echo",
                  connection="AzureWebJobsStorage")
def relay(msg: func.QueueMessage) -> str:
    return "echo " + msg.get_body().decode()
"""


async def test_http_and_return_queue_outputs_write_messages(
        start_local: LocalStarter, write_app: AppWriter) -> None:
    """An HTTP function's ``func.Out`` output queues a message (only when it succeeds); the
    queue function reading it returns its reply through a ``$return`` queue output."""
    folder = write_app(OUTPUTS_APP)
    clock = VirtualClock()
    hub = MemoryTaskHub(clock)
    host = await start_local(folder, hub, **SETTINGS)
    queues = memory_queues(hub, clock)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{host.base_url}/api/enqueue/hi") as reply:
            assert reply.status == 202
        async with session.post(f"{host.base_url}/api/enqueue/refuse") as reply:
            assert reply.status == 500
    for _ in range(200):
        if queues.messages("jobs-echo"):
            break
        await settle(0.02)
    assert unb64(queues.messages("jobs-echo")) == ["echo hi"]
    await settle()
    assert queues.messages("jobs") == []


COUNTING_APP = """
import asyncio

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp()
SEEN = {"running": 0, "most": 0, "done": 0}


@app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
async def work(msg: func.QueueMessage) -> None:
    SEEN["running"] += 1
    SEEN["most"] = max(SEEN["most"], SEEN["running"])
    await asyncio.sleep(0.05)
    SEEN["running"] -= 1
    SEEN["done"] += 1
"""
COUNTING_HOST = """{"version": "2.0", "extensions": {"queues": {"batchSize": 4,
                                                                 "newBatchThreshold": 2}}}"""


async def test_at_most_a_batch_plus_the_threshold_run_at_once(
        start_local: LocalStarter, write_app: AppWriter) -> None:
    """``batchSize`` 4, ``newBatchThreshold`` 2: a new batch is fetched only once at most 2
    are running, so never more than 6 run at once, and more than one does."""
    folder = write_app(COUNTING_APP, host__json=COUNTING_HOST)
    clock = VirtualClock()
    hub = MemoryTaskHub(clock)
    queues = memory_queues(hub, clock)
    for n in range(30):
        await queues.send("work", b64(f"m{n}"))
    await start_local(folder, hub)
    seen = sys.modules["function_app"].SEEN
    for _ in range(500):
        if seen["done"] == 30:
            break
        await settle(0.02)
    assert seen["done"] == 30
    assert 4 <= seen["most"] <= 6
