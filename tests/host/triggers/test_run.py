"""``python -m devhost run`` (what ``make run APP=`` calls) on an app with its own requirements
that reads ``AzureWebJobsStorage`` itself: a fresh folder starts with one command."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests
from azure.storage.queue import QueueServiceClient

from devhost.local.storage_setting import provide_storage_setting
from tests.host.triggers.wheels import PACKAGE, build_wheel
from tests.support import APP_DIR
from tests.support.front_end import AppWriter

pytestmark = pytest.mark.e2e

APP = f"""
import os

import azure.durable_functions as df
import azure.functions as func
import {PACKAGE}

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="storage")
def storage(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(os.environ.get("AzureWebJobsStorage", ""))


@app.route(route="greet")
@app.durable_client_input(client_name="client")
async def greet(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    instance_id = await client.start_new("greeting")
    return await client.wait_for_completion_or_create_check_status_response(
        req, instance_id, 30000)


@app.orchestration_trigger(context_name="context")
def greeting(context):
    return {PACKAGE}.MESSAGE
"""
START_SECONDS = 180.0


def test_run_installs_requirements_and_hands_the_app_its_azurite(write_app: AppWriter) -> None:
    """The requirement is installed and importable in the host and its replay worker, the
    output says so, and the app's AzureWebJobsStorage reaches the Azurite that runs."""
    folder = write_app(APP, requirements__txt=(
        f"azure-functions\n./wheels/{PACKAGE}-1.0-py3-none-any.whl\n"))
    build_wheel(folder / "wheels", message="hello from the app's own package")
    env = {k: v for k, v in os.environ.items() if k != "AzureWebJobsStorage"}
    log = folder / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "devhost", "run", "--app", str(folder), "--port", "0"],
            cwd=APP_DIR, env={**env, "PYTHONUNBUFFERED": "1"}, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not (ready := re.search(r"Local host ready on (\S+)", log.read_text())):
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        output = log.read_text()
        assert f"installed in .local/requirements/: {PACKAGE} 1.0" in output
        assert "provided by the host: azure-functions" in output
        ports = re.search(r"Azurite on ports \(\d+, (\d+), \d+\)", output)
        assert ports is not None, output
        queue_port = int(ports[1])
        base = ready[1]

        storage = requests.get(f"{base}/api/storage", timeout=10).text
        assert f"QueueEndpoint=http://127.0.0.1:{queue_port}/devstoreaccount1" in storage
        with QueueServiceClient.from_connection_string(storage) as service:
            service.create_queue("reached-from-the-app-setting")
            assert "reached-from-the-app-setting" in [q.name for q in service.list_queues()]

        greeted = requests.get(f"{base}/api/greet", timeout=60)
        assert greeted.status_code == 200, greeted.text
        # The SDK answers a completed instance with its output as the body's text.
        assert greeted.text == "hello from the app's own package"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_a_storage_setting_the_user_chose_is_kept() -> None:
    """Only an unset setting or the development shorthand is replaced by the running Azurite."""
    running = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;QueueEndpoint=x"
    for given in ({}, {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}):
        env: dict[str, str] = dict(given)
        assert provide_storage_setting(running, {}, env)
        assert env["AzureWebJobsStorage"] == running
    values_only: dict[str, str] = {}
    assert provide_storage_setting(running, {"AzureWebJobsStorage": "UseDevelopmentStorage=true"},
                                   values_only)
    assert values_only["AzureWebJobsStorage"] == running
    mine = "DefaultEndpointsProtocol=https;AccountName=mine;AccountKey=a2V5"
    for env, values in (({"AzureWebJobsStorage": mine}, {}),
                        ({}, {"AzureWebJobsStorage": mine})):
        assert not provide_storage_setting(running, values, env)
        assert env.get("AzureWebJobsStorage", mine) == mine
