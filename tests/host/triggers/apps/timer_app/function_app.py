"""A timer app as people write them: a schedule that starts an orchestration each time.

``tick`` runs on the schedule named by the ``TICK_SCHEDULE`` setting with the schedule
monitor on; ``wake_up`` runs once when the host starts (its own schedule is yearly). Each
starts ``record_tick`` with what its ``func.TimerRequest`` said, so a test reads every run
back from the task hub.
"""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _seen(source: str, timer: func.TimerRequest) -> dict[str, object]:
    return {"source": source, "past_due": timer.past_due, "status": timer.schedule_status}


@app.timer_trigger(arg_name="timer", schedule="%TICK_SCHEDULE%", use_monitor=True)
@app.durable_client_input(client_name="client")
async def tick(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Record a scheduled run."""
    await client.start_new("record_tick", None, _seen("tick", timer))


@app.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", run_on_startup=True)
@app.durable_client_input(client_name="client")
async def wake_up(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Record the run on startup."""
    await client.start_new("record_tick", None, _seen("startup", timer))


@app.orchestration_trigger(context_name="context")
def record_tick(context: df.DurableOrchestrationContext) -> object:
    """Return what the timer function saw."""
    return context.get_input()
