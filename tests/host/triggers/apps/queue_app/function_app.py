"""A queue app as people write them: one orchestration per message, and a reply queued.

``on_job`` takes messages from the queue named by the ``JOBS_QUEUE`` setting. A body
``fail`` always raises; ``flaky:N`` raises until the message's dequeue count reaches N;
any other body starts ``job`` with what its ``func.QueueMessage`` said and writes
``started <instance id>`` to ``{JOBS_QUEUE}-done`` through the queue output binding.
``JOBS_DELAY_SECONDS`` (default 0) makes each message take that long, so that messages are
still in flight when a test kills the host.
"""

import asyncio
import os

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.queue_trigger(arg_name="msg", queue_name="%JOBS_QUEUE%", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="done", queue_name="%JOBS_QUEUE%-done",
                  connection="AzureWebJobsStorage")
@app.durable_client_input(client_name="client")
async def on_job(msg: func.QueueMessage, done: func.Out[str],
                 client: df.DurableOrchestrationClient) -> None:
    """Start one ``job`` per message (or fail, as the body asks) and queue a reply."""
    body = msg.get_body().decode("utf-8")
    if body == "fail":
        raise ValueError("this message always fails")
    if body.startswith("flaky:") and msg.dequeue_count < int(body.partition(":")[2]):
        raise ValueError(f"failing on attempt {msg.dequeue_count}")
    await asyncio.sleep(float(os.environ.get("JOBS_DELAY_SECONDS", "0")))
    instance_id = await client.start_new("job", None, {
        "body": body,
        "id": msg.id,
        "dequeue_count": msg.dequeue_count,
        "insertion_time": msg.insertion_time.isoformat(),
        "expiration_time": msg.expiration_time.isoformat(),
        "pop_receipt": msg.pop_receipt,
    })
    done.set(f"started {instance_id}")


@app.orchestration_trigger(context_name="context")
def job(context: df.DurableOrchestrationContext) -> object:
    """Return what the queue function saw."""
    return context.get_input()
