"""Instance ids that look like table-query syntax stay data on the Azure Storage task hub.

Runs against a real Azurite (in memory, free ports); skipped when the Azure hub or Azurite
is not available here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from devhost.app.settings import HostSettings
from devhost.clock import SystemClock
from devhost.engine import protocol
from devhost.host import LocalHost
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.base import (
    Commit,
    InstanceQuery,
    InstanceRecord,
    Message,
    RuntimeStatus,
    TaskHub,
)
from tests.support.local_host import (
    APP_DIR,
    WEBHOOK,
    HttpApi,
    segment,
)
from tests.support.process_state import forget_sdk_session, process_state_kept

azure_storage = pytest.importorskip("devhost.taskhub.azure.hub")

pytestmark = pytest.mark.e2e

QUERY_LIKE_IDS = [
    "' or PartitionKey ne '",
    "' or ''='",
    "x') or (PartitionKey ne 'x",
    "victim-0001' or '1' eq '1",
    "victim-0001' and RowKey ne '",
    "$filter=PartitionKey ne ''",
    "PartitionKey eq 'victim-0001'",
    "@key",
    "' or PartitionKey ge '",
    "%27 or 1 eq 1",
    "%", "*", "'", "''", "\\", "victim-0001%00", "victim-0001\x00", "victim-0001 ",
    "VICTIM-0001", "victim-000", "victim-00011", "ünïcödé-'😀'", "\u202e1000-mitciv",
    "x" * 600, "",
]


def new_hub(azurite: AzuriteProcess) -> TaskHub:
    """An Azure Storage task hub of its own on the Azurite."""
    hub: TaskHub = azure_storage.AzureStorageTaskHub(
        azurite.connection_string, f"hardening{uuid.uuid4().hex[:12]}", SystemClock(),
        visibility_timeout=5.0, min_poll_seconds=0.01, max_poll_seconds=0.1)
    return hub


async def victim(hub: TaskHub, instance_id: str, status: RuntimeStatus) -> InstanceRecord:
    """Create an instance and commit one episode ending in ``status``."""
    now = hub.clock.now()
    record = InstanceRecord(instance_id=instance_id, name="OrderOrchestrator",
                            runtime_status=RuntimeStatus.PENDING, created_at=now,
                            updated_at=now, input='{"order": 1}')
    start = Message(instance_id, protocol.execution_started(record.name, instance_id,
                                                            record.input, now))
    await hub.create_instance(record, start)
    while True:
        item = await hub.fetch_orchestration_work(5.0)
        assert item is not None and item.record is not None
        if item.instance_id == instance_id:
            break
        await hub.abandon_orchestration_work(item)
    done = replace(item.record, runtime_status=status)
    await hub.complete_orchestration_work(item, Commit(
        done, new_history=[m.event for m in item.messages]))
    return done


async def test_query_like_ids_never_widen_table_reads(azurite: AzuriteProcess) -> None:
    """Protection: ids go to tables only as escaped keys and @parameters, never as filter text."""
    hub = new_hub(azurite)
    await hub.start()
    try:
        victims = [await victim(hub, "victim-0001", RuntimeStatus.RUNNING),
                   await victim(hub, "victim-0002", RuntimeStatus.COMPLETED)]
        histories = {v.instance_id: await hub.get_history(v.instance_id) for v in victims}
        assert all(histories.values())
        for instance_id in QUERY_LIKE_IDS:
            assert await hub.get_instance(instance_id) is None, instance_id
            assert await hub.get_history(instance_id) == [], instance_id
            assert await hub.purge_instance(instance_id) is False, instance_id
        for instance_id in QUERY_LIKE_IDS[:4]:  # such ids are valid, separate instances
            made = await victim(hub, instance_id, RuntimeStatus.COMPLETED)
            assert await hub.get_instance(instance_id) == made
            assert await hub.purge_instance(instance_id) is True
        for record in victims:
            assert await hub.get_instance(record.instance_id) == record
            assert await hub.get_history(record.instance_id) == histories[record.instance_id]
        assert {r.instance_id for r in await hub.query_instances()} == {"victim-0001",
                                                                       "victim-0002"}
        assert [r.instance_id for r in await hub.query_instances(InstanceQuery(
            statuses=frozenset({RuntimeStatus.RUNNING})))] == [
            "victim-0001"]
    finally:
        await hub.close()


@pytest.fixture
async def azure_host(azurite: AzuriteProcess, monkeypatch: pytest.MonkeyPatch
                     ) -> AsyncIterator[LocalHost]:
    """The order app on a LocalHost over the Azure Storage hub on Azurite."""
    def task_hub(settings: HostSettings) -> TaskHub:
        return new_hub(azurite)

    with process_state_kept():
        monkeypatch.setenv("FCM_PROJECT_ID", "")
        monkeypatch.setenv("FCM_EMULATOR_HOST", "")
        forget_sdk_session()
        async with LocalHost(Path(APP_DIR), task_hub, port=0) as host:
            yield host


async def test_management_api_keeps_query_like_ids_data_on_azure_storage(
        azure_host: LocalHost) -> None:
    """Protection: every management route answers 4xx for such ids and touches no other instance."""
    assert azure_host.runtime is not None
    await azure_host.runtime.client.start_new("OrderOrchestrator", "victim-0001", "{}")
    await azure_host.runtime.client.wait_for("victim-0001", timeout=20.0)  # fails: invalid input
    before = await azure_host.runtime.client.get_history("victim-0001")
    async with aiohttp.ClientSession() as session:
        api = HttpApi(session, azure_host)
        for instance_id in QUERY_LIKE_IDS:
            if not instance_id:
                continue
            path = f"instances/{segment(instance_id)}"
            for method, route in (("GET", path), ("DELETE", path),
                                  ("POST", f"{path}/terminate"),
                                  ("POST", f"{path}/raiseEvent/Approval")):
                reply = await api.management(method, route, data=b'{"approved": true}')
                assert reply.status in (400, 404), (method, instance_id, reply.status,
                                                    reply.text[:200])
        listed = await api.request("GET", f"{WEBHOOK}/instances",
                                   query=f"code={segment(api.key('system'))}")
    assert [item["instanceId"] for item in listed.body] == ["victim-0001"]
    assert await azure_host.runtime.client.get_history("victim-0001") == before
