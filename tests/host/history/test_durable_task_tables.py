"""Histories Durable Task's Azure Storage provider wrote, read back and replayed.

Rows are written into Azurite with azure-data-tables exactly as DurableTask.AzureStorage's
``AzureTableTrackingStore`` (``UpdateStateAsync``, ``CompressLargeMessageAsync``) and
``TableEntityConverter.Serialize`` write them (see ``dtfx_writer``), and read as
``GetHistoryEventsAsync`` reads them: the sentinel's execution only, in RowKey order, large
values from ``{hub}-largemessages``, partition keys unescaped as ``KeySanitation`` does.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

from devhost.app.loader import load_app
from devhost.cli import main
from devhost.clock import SystemClock
from devhost.engine.protocol import EventType, HistoryEvent
from devhost.engine.runtime import DurableRuntime
from devhost.errors import InstanceNotFound
from devhost.history import InstanceHistory, export_hub, export_storage, read_file, replay
from devhost.history.dtfx_rows import UnreadableRow, escape_key, unescape_key
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import RuntimeStatus
from tests.host.history.conftest import FIRST_STEPS, app_loaded_fresh, run_app, write_flow
from tests.host.history.dtfx_writer import write_instance
from tests.support.engine import history_has

# Fields the SDK reads, compared between what the engine recorded and what was read back.
COMPARED = ("EventType", "EventId", "Timestamp", "Name", "Input", "Result", "TaskScheduledId",
            "TimerId", "FireAt")
IN_AZURE = "flow^1 in azure"  # escaped to flow^^1 in azure
BIG_RESULT = json.dumps("x" * 40_000)  # 80,000 bytes of UTF-16: over 60 KB


def sdk_fields(event: HistoryEvent) -> dict[str, Any]:
    """The event's fields the SDK reads."""
    return {key: event[key] for key in COMPARED if key in event}  # type: ignore[literal-required]


async def recorded_flow(folder: Path) -> InstanceHistory:
    """A Flow waiting for "Go", recorded by the engine on a memory hub."""
    async with run_app(folder) as runtime:
        await runtime.client.start_new("Flow", "recorded", None)
        await history_has(runtime.hub, "recorded", EventType.TIMER_CREATED)
        return (await export_hub(runtime.hub, ["recorded"]))[0]


@pytest.fixture
def hub_name() -> str:
    """A task hub name no other test uses."""
    return f"dtfx{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def in_azure(azurite: AzuriteProcess, hub_name: str, flow_dir: Path
                   ) -> list[HistoryEvent]:
    """The recorded flow written as Durable Task writes it, with a large first result, two
    rows of an older execution after it, and a completed instance beside it; returns the
    history as written."""
    history = [dict(event) for event in (await recorded_flow(flow_dir)).history]
    for event in history:
        if event["EventType"] == EventType.EXECUTION_STARTED:
            event["OrchestrationInstance"] = {"InstanceId": IN_AZURE, "ExecutionId": ""}
        if event["EventType"] == EventType.TASK_COMPLETED and event["TaskScheduledId"] == 0:
            event["Result"] = BIG_RESULT
    typed: list[HistoryEvent] = history  # type: ignore[assignment]
    write_instance(azurite.connection_string, hub_name, IN_AZURE, "flow^^1 in azure", typed,
                   "Running", "exec-2", stale_rows=2)
    write_instance(azurite.connection_string, hub_name, "ended", "ended", typed[:4],
                   "Completed", "exec-1")
    return typed


def test_instance_ids_are_escaped_as_key_sanitation_does() -> None:
    """``^`` doubles, ``/ \\ # ?`` become ``^0``..``^3``, control characters shift by À."""
    assert escape_key("a^b/c\\d#e?f\x01g") == "a^^b^0c^1d^2e^3f^\u00c1g"
    for instance_id in ("a^b/c\\d#e?f\x01g\x7f", "plain", "^^"):
        assert unescape_key(escape_key(instance_id)) == instance_id


@pytest.mark.azurite
async def test_a_durable_task_history_reads_back_as_the_sdk_receives_it(
        azurite: AzuriteProcess, hub_name: str, in_azure: list[HistoryEvent]) -> None:
    """Every event of the current execution, in order, the large value from its blob, no
    sentinel, no older execution's rows; name, version and status from the instance row."""
    exported = await export_storage(azurite.connection_string, hub_name, [IN_AZURE])
    assert len(exported) == 1
    item = exported[0]
    assert (item.instance_id, item.name, item.runtime_status) == (IN_AZURE, "Flow", "Running")
    assert [sdk_fields(e) for e in item.history] == [sdk_fields(e) for e in in_azure]
    start = next(e for e in item.history if e["EventType"] == EventType.EXECUTION_STARTED)
    assert start["OrchestrationInstance"] == {"InstanceId": IN_AZURE, "ExecutionId": "exec-2"}
    assert start["ParentInstance"] is None and start["Version"] == ""
    assert all("ExecutionId" not in e and "ResultBlobName" not in e for e in item.history)


@pytest.mark.azurite
async def test_a_durable_task_history_replays_against_the_app(
        azurite: AzuriteProcess, hub_name: str, in_azure: list[HistoryEvent],
        flow_dir: Path) -> None:
    """The history recorded in Azure replays the same against unchanged code, and names
    the first step a change would break."""
    exported = await export_storage(azurite.connection_string, hub_name, [IN_AZURE])
    assert replay(flow_dir, exported).ok
    write_flow(flow_dir, first='    yield context.call_activity("Step", "x")\n' + FIRST_STEPS)
    report = replay(flow_dir, exported)
    assert [d.instance_id for d in report.divergences] == [IN_AZURE]
    assert report.divergences[0].event["EventId"] == 0


@pytest.mark.azurite
async def test_running_exports_only_the_instances_in_flight(
        azurite: AzuriteProcess, hub_name: str, in_azure: list[HistoryEvent]) -> None:
    """The Instances table says which are in flight: the completed one is left out."""
    exported = await export_storage(azurite.connection_string, hub_name)
    assert [item.instance_id for item in exported] == [IN_AZURE]
    with pytest.raises(InstanceNotFound, match="no-such-instance"):
        await export_storage(azurite.connection_string, hub_name, ["no-such-instance"])


@pytest.mark.azurite
async def test_the_export_and_replay_commands(
        azurite: AzuriteProcess, hub_name: str, in_azure: list[HistoryEvent], flow_dir: Path,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``export`` writes a file ``replay`` reads: exit 0 while the code does what history
    holds, 1 with the report after a change, 2 for bad input (and then no file). The
    commands run on a thread of their own, as from a shell (they start their own loop)."""
    async def run(*argv: str) -> int:
        return await asyncio.to_thread(main, list(argv))

    exported = tmp_path / "running.json"
    storage = ["--app", str(flow_dir), "--storage", azurite.connection_string,
               "--hub", hub_name]
    assert await run("export", *storage, "--running", "-o", str(exported)) == 0
    assert [item.instance_id for item in read_file(exported)] == [IN_AZURE]
    assert await run("replay", "--app", str(flow_dir), str(exported)) == 0
    write_flow(flow_dir, first='    yield context.call_activity("Step", "x")\n' + FIRST_STEPS)
    capsys.readouterr()
    assert await run("replay", "--app", str(flow_dir), str(exported)) == 1
    printed = capsys.readouterr().out
    assert f"{IN_AZURE} (Flow): differs at history event" in printed
    assert "history holds: TaskScheduled #0: activity 'Step' called with input \"a\"" in printed
    missing = tmp_path / "missing.json"
    assert await run("export", *storage, "--instance", "nobody", "-o", str(missing)) == 2
    assert "no instance 'nobody'" in capsys.readouterr().err
    assert not missing.exists()
    assert await run("export", "--app", str(flow_dir), "--storage", "memory", "--running",
                 "-o", str(missing)) == 2
    assert not missing.exists()
    (tmp_path / "bad.json").write_text('{"format": "devhost.history/9", "instances": []}')
    assert await run("replay", "--app", str(flow_dir), str(tmp_path / "bad.json")) == 2
    assert "devhost.history/9" in capsys.readouterr().err


@pytest.mark.azurite
async def test_this_hosts_own_layout_exports_from_the_same_account(
        azurite: AzuriteProcess, hub_name: str, flow_dir: Path) -> None:
    """Instances this host ran on Azurite export through the same call, status included."""
    with app_loaded_fresh(flow_dir):
        index = load_app(flow_dir)
        hub = AzureStorageTaskHub(azurite.connection_string, hub_name, SystemClock(),
                                  visibility_timeout=5.0, min_poll_seconds=0.005,
                                  max_poll_seconds=0.05)
        runtime = DurableRuntime(hub, index.orchestrators, index.activities)
        await runtime.start()
        try:
            await runtime.client.start_new("Flow", "hosted", None)
            await history_has(hub, "hosted", EventType.TIMER_CREATED, timeout=30)
        finally:
            await runtime.stop()
    exported = await export_storage(azurite.connection_string, hub_name)
    assert [(i.instance_id, i.runtime_status) for i in exported] == [
        ("hosted", RuntimeStatus.RUNNING.value)]
    assert replay(flow_dir, exported).ok


@pytest.mark.azurite
async def test_a_large_value_whose_blob_is_gone_is_named(
        azurite: AzuriteProcess, hub_name: str, in_azure: list[HistoryEvent]) -> None:
    """The export stops with the hub, the instance and the blob, rather than a history
    missing a result."""
    with ContainerClient.from_connection_string(
            azurite.connection_string, f"{hub_name}-largemessages") as container:
        names = [blob.name for blob in container.list_blobs()]
        assert len(names) == 1 and names[0].startswith("flow^^1 in azure/history-")
        container.delete_blob(names[0])
    with pytest.raises(UnreadableRow, match=f"{hub_name}History, instance 'flow\\^1 in "
                                            "azure'.*Result is in blob .* which is gone"):
        await export_storage(azurite.connection_string, hub_name, [IN_AZURE])
