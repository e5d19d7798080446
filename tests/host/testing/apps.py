"""Two small apps written for these tests only, in the shapes other people write them.

``REMINDERS``: an HTTP starter (function key), an anonymous route that raises an event, an
admin route, and an orchestrator that calls an activity, then waits for ``Ack`` or a timer.
``LEDGER``: an orchestrator that posts entries through a sub-orchestration whose activity
fails for a negative amount, and one whose own code raises. Both have a ``common`` module
of their own, so a process that hosts one after the other must not mix them up.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

REMINDERS = '''
import json
import os
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

from common import reminder_text

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="reminders/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_reminder(req: func.HttpRequest, client) -> func.HttpResponse:
    minutes = int(os.environ.get("REMINDER_MINUTES", "60"))
    instance_id = await client.start_new(
        "remind", None, {"name": req.route_params["name"], "minutes": minutes})
    return func.HttpResponse(json.dumps({"id": instance_id}), status_code=202,
                             mimetype="application/json")


@app.route(route="reminders/{id}/ack", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@app.durable_client_input(client_name="client")
async def ack_reminder(req: func.HttpRequest, client) -> func.HttpResponse:
    await client.raise_event(req.route_params["id"], "Ack", req.get_json())
    return func.HttpResponse(status_code=202)


@app.route(route="admin/reminders", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@app.durable_client_input(client_name="client")
async def list_reminders(req: func.HttpRequest, client) -> func.HttpResponse:
    statuses = await client.get_status_all()
    return func.HttpResponse(json.dumps(sorted(s.instance_id for s in statuses)),
                             mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def remind(context: df.DurableOrchestrationContext):
    request = context.get_input()
    text = yield context.call_activity("compose", request["name"])
    context.set_custom_status({"step": "waiting", "text": text})
    ack = context.wait_for_external_event("Ack")
    deadline = context.current_utc_datetime + timedelta(minutes=request["minutes"])
    timer = context.create_timer(deadline)
    winner = yield context.task_any([ack, timer])
    if winner == ack:
        timer.cancel()
        value = ack.result
        if isinstance(value, str):
            value = json.loads(value)
        context.set_custom_status({"step": "acknowledged"})
        return {"ack": value}
    context.set_custom_status({"step": "nagged"})
    nagged = yield context.call_activity("nag", request["name"])
    return {"ack": None, "nagged": nagged}


@app.activity_trigger(input_name="name")
def compose(name: str) -> str:
    return reminder_text(name)


@app.activity_trigger(input_name="name")
async def nag(name: str) -> str:
    return f"nagged {name}"
'''

REMINDER_COMMON = '''
def reminder_text(name: str) -> str:
    return f"Remember {name}"
'''

LEDGER = '''
import azure.durable_functions as df

from common import checked_amount

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def settle(context: df.DurableOrchestrationContext):
    results = []
    for entry in context.get_input():
        posted = yield context.call_sub_orchestrator("post_entry", entry)
        results.append(posted)
    return results


@app.orchestration_trigger(context_name="context")
def post_entry(context: df.DurableOrchestrationContext):
    booked = yield context.call_activity("book", context.get_input())
    return booked


@app.orchestration_trigger(context_name="context")
def close_books(context: df.DurableOrchestrationContext):
    yield context.call_activity("book", {"amount": 1})
    raise RuntimeError("the ledger is closed")


@app.activity_trigger(input_name="entry")
def book(entry: dict) -> int:
    return checked_amount(entry["amount"])
'''

LEDGER_COMMON = '''
def checked_amount(amount: int) -> int:
    if amount < 0:
        raise ValueError(f"negative amount {amount}")
    return amount
'''


def write_app(folder: Path, source: str, common: str, **files: str) -> Path:
    """Write an app folder: ``function_app.py``, ``common.py`` and ``files`` by name."""
    folder.mkdir(parents=True)
    (folder / "function_app.py").write_text(textwrap.dedent(source))
    (folder / "common.py").write_text(textwrap.dedent(common))
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder
