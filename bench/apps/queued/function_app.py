"""The queue benchmark's app: each message on ``BENCH_QUEUE`` starts one orchestration.

The message body is JSON with the moment it was sent (``sent``, seconds since the epoch);
it becomes the orchestration's input, so the benchmark reads, from the instance's first
episode, how long after its message was written the orchestration started.
"""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp()


@app.queue_trigger(arg_name="msg", queue_name="%BENCH_QUEUE%", connection="AzureWebJobsStorage")
@app.durable_client_input(client_name="client")
async def on_message(msg: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    """Start one ``queued`` orchestration with the message body as its input."""
    await client.start_new("queued", None, msg.get_json())


@app.orchestration_trigger(context_name="context", orchestration="queued")
def queued(context: df.DurableOrchestrationContext) -> None:
    """Nothing to do: the benchmark only times the start."""
    return None
