"""The flow-change walkthrough of devhost's README, on a copy of the order app.

Orders in flight are recorded on the memory hub (virtual clock); the flow gains a step
(``confirmed`` after ``received``). Without versioning, replay names where every recorded
order would break; with ``defaultVersion`` raised and the step taken only by new versions
(``context.version``), replay is clean, the orders in flight finish the old way on the new
code, and new orders take the new step.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from devhost.app.settings import HostSettings
from devhost.clock import VirtualClock
from devhost.history import InstanceHistory, export_hub, replay
from devhost.host import LocalHost
from devhost.taskhub.base import RuntimeStatus, TaskHub
from devhost.taskhub.memory import MemoryTaskHub
from fcm_emulator import FcmEmulator
from tests.host.history.conftest import app_loaded_fresh
from tests.support import APP_DIR
from tests.support.local_host import (
    WAIT_SECONDS,
    HttpApi,
    at_stage,
    base_settings,
    custom_status,
    order_body,
    segment,
)
from tests.support.process_state import forget_sdk_session, process_state_kept

APP_PARTS = ("function_app.py", "constants.py", "host.json", "activities", "http_triggers",
             "models", "orchestrators", "push")
TOKEN = "device-token-flow-change"
IN_FLIGHT = ("change-waiting-1", "change-waiting-2")
DONE = "change-finished-1"
NEW = "change-new-order"

# The change, as the README shows it: a stage, its push text, and the step in the flow.
STAGE_ANCHOR = '    RECEIVED = "received"\n'
NEW_STAGE = STAGE_ANCHOR + '    CONFIRMED = "confirmed"\n'
TEXT_ANCHOR = '    Stage.RECEIVED: ("Order received", "The restaurant has your order."),\n'
NEW_TEXT = TEXT_ANCHOR + ('    Stage.CONFIRMED: ("Order confirmed", '
                          '"The kitchen confirmed your order."),\n')
STEP_ANCHOR = "    received = yield from announce(context, journey, order, Stage.RECEIVED)\n"
NEW_STEP = STEP_ANCHOR + "    yield from announce(context, journey, order, Stage.CONFIRMED)\n"
VERSIONED_STEP = STEP_ANCHOR + (
    "    if context.version not in FLOW_VERSIONS_WITHOUT_CONFIRMATION:\n"
    "        yield from announce(context, journey, order, Stage.CONFIRMED)\n")
VERSIONS_ANCHOR = "MAX_FAILURE_TEXT = 300\n"
VERSIONS = VERSIONS_ANCHOR + (
    "# Orders started before 2.0 finish without the confirmation step.\n"
    'FLOW_VERSIONS_WITHOUT_CONFIRMATION = ("", "1.0")\n')


def edit(path: Path, anchor: str, replacement: str) -> None:
    """Replace the one ``anchor`` in the file (it must be there exactly once)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(anchor) == 1, f"{path.name} changed: update the walkthrough"
    path.write_text(text.replace(anchor, replacement), encoding="utf-8")


def add_confirmation(app: Path, versioned: bool) -> None:
    """The flow change: ``confirmed`` pushed after ``received`` (for version 2.0 only)."""
    edit(app / "models" / "stages.py", STAGE_ANCHOR, NEW_STAGE)
    edit(app / "activities" / "backend_action.py", TEXT_ANCHOR, NEW_TEXT)
    order = app / "orchestrators" / "order.py"
    if versioned:
        edit(order, VERSIONS_ANCHOR, VERSIONS)
        edit(order, STEP_ANCHOR, VERSIONED_STEP)
        edit(app / "host.json", '"defaultVersion": "1.0"', '"defaultVersion": "2.0"')
    else:
        edit(order, STEP_ANCHOR, NEW_STEP)


def copy_order_app(target: Path) -> Path:
    """The order app's deployable parts, copied to ``target``."""
    target.mkdir()
    for part in APP_PARTS:
        source = APP_DIR / part
        if source.is_dir():
            shutil.copytree(source, target / part,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / part)
    return target


@contextlib.asynccontextmanager
async def hosting(app: Path, hub: MemoryTaskHub, fcm: FcmEmulator
                  ) -> AsyncIterator[tuple[LocalHost, HttpApi]]:
    """The app's code as it is now, on ``hub``, with raw HTTP to it."""
    def task_hub(settings: HostSettings) -> TaskHub:
        return hub

    with process_state_kept(base_settings(fcm)), app_loaded_fresh(app):
        forget_sdk_session()
        async with LocalHost(app, task_hub, port=0) as host, aiohttp.ClientSession() as session:
            yield host, HttpApi(session, host)


async def place_waiting(host: LocalHost, api: HttpApi, order_id: str) -> None:
    """Place an order and wait until it asks for approval."""
    placed = await api.place(order_body(order_id, TOKEN))
    assert placed.status == 202, placed.text
    assert host.runtime is not None
    await host.runtime.client.wait_for(order_id, at_stage("awaiting_approval"), WAIT_SECONDS)


async def approve(host: LocalHost, api: HttpApi, order_id: str) -> Any:
    """Approve the order through the staff route and wait until it ends."""
    answer = await api.approve(segment(order_id), {"approved": True})
    assert answer.status == 202, answer.text
    assert host.runtime is not None
    return await host.runtime.client.wait_for(order_id, timeout=WAIT_SECONDS)


def stages(record: Any) -> list[str]:
    """The stages of the order's timeline, in order."""
    return [entry["stage"] for entry in custom_status(record)["timeline"]]


async def record_orders(app: Path, hub: MemoryTaskHub,
                        fcm: FcmEmulator) -> list[InstanceHistory]:
    """Two orders waiting for approval and one finished, on the flow as deployed today."""
    async with hosting(app, hub, fcm) as (host, api):
        for order_id in (*IN_FLIGHT, DONE):
            await place_waiting(host, api, order_id)
        finished = await approve(host, api, DONE)
        assert stages(finished)[-1] == "finished"
        in_flight = await export_hub(hub)
        assert [item.instance_id for item in in_flight] == list(IN_FLIGHT)
        return in_flight + await export_hub(hub, [DONE])


def test_the_order_app_stamps_its_flow_version() -> None:
    """host.json names the flow's version, so a later change can tell old orders apart."""
    durable = json.loads((APP_DIR / "host.json").read_text())["extensions"]["durableTask"]
    assert durable["defaultVersion"] == "1.0"


async def test_a_new_step_without_versioning_breaks_every_recorded_order(
        tmp_path: Path, fcm: FcmEmulator) -> None:
    """Replay names, for each order, the push the history made where the code now pushes
    ``confirmed``: task 1, which history called with ``processing``."""
    app = copy_order_app(tmp_path / "app")
    recorded = await record_orders(app, MemoryTaskHub(VirtualClock()), fcm)
    assert {item.version for item in recorded} == {"1.0"}
    assert replay(app, recorded).ok
    # The repository's own folder too: it also holds the host, the tests and a virtualenv,
    # which the replay leaves as they are.
    assert replay(APP_DIR, recorded).ok
    add_confirmation(app, versioned=False)
    report = replay(app, recorded)
    assert sorted(d.instance_id for d in report.divergences) == sorted([*IN_FLIGHT, DONE])
    for divergence in report.divergences:
        assert divergence.orchestrator == "OrderOrchestrator"
        assert divergence.event["EventId"] == 1
        assert divergence.history_holds.startswith(
            "TaskScheduled #1: activity 'BackendAction' called with input ")
        assert '"orderStatus": "processing"' in divergence.history_holds
        assert divergence.code_does.startswith("calls activity 'BackendAction' with input ")
        assert '"orderStatus": "confirmed"' in divergence.code_does


async def test_a_versioned_new_step_replays_clean_and_only_new_orders_take_it(
        tmp_path: Path, fcm: FcmEmulator) -> None:
    """With ``defaultVersion`` 2.0 and the step behind ``context.version``, the recorded
    orders replay the same; on the new code the waiting ones finish the old way, and a new
    order (version 2.0) is confirmed after it is received."""
    app = copy_order_app(tmp_path / "app")
    hub = MemoryTaskHub(VirtualClock())
    recorded = await record_orders(app, hub, fcm)
    add_confirmation(app, versioned=True)
    report = replay(app, recorded)
    assert report.ok, report.text()
    assert report.replayed == [*IN_FLIGHT, DONE]
    async with hosting(app, hub, fcm) as (host, api):
        for order_id in IN_FLIGHT:
            finished = await approve(host, api, order_id)
            assert finished.runtime_status == RuntimeStatus.COMPLETED, finished.output
            assert stages(finished) == ["received", "processing", "awaiting_approval",
                                        "finished"]
        await place_waiting(host, api, NEW)
        new = await approve(host, api, NEW)
        assert new.version == "2.0"
        assert stages(new) == ["received", "confirmed", "processing", "awaiting_approval",
                               "finished"]
        exported = await export_hub(hub, [*IN_FLIGHT, NEW])
    assert replay(app, exported).ok

