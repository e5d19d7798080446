"""Orchestration versioning as Azure applies it: versions stamped, compared and enforced.

DurableTask.Core's ``VersioningSettings.CompareVersions`` and ``TaskOrchestrationDispatcher``
decide; host.json's ``extensions.durableTask`` configures them (docs: "Orchestration
versioning in Durable Functions").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from devhost.app.settings import load_settings
from devhost.clock import SystemClock, VirtualClock
from devhost.engine.protocol import EventType
from devhost.engine.runtime import DurableRuntime
from devhost.engine.versioning import (
    VERSION_MISMATCH,
    FailureStrategy,
    MatchStrategy,
    VersionPolicy,
    compare_versions,
)
from devhost.errors import AppLoadError
from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from devhost.taskhub.base import RuntimeStatus, TaskHub
from devhost.taskhub.memory import MemoryTaskHub
from tests.support.backends import FAST_POLL
from tests.support.engine import of_kind

Runtimes = Callable[..., Any]


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
async def versioned_runtime(request: pytest.FixtureRequest,
                            samples: Any) -> AsyncIterator[Runtimes]:
    """Start runtimes for the sample app under a version policy, on the memory hub, then on
    Azurite; all stopped afterwards."""
    started: list[DurableRuntime] = []

    def new_hub() -> TaskHub:
        if request.param == "memory":
            return MemoryTaskHub(VirtualClock())
        azurite: AzuriteProcess = request.getfixturevalue("azurite")
        return AzureStorageTaskHub(azurite.connection_string, f"ver{uuid.uuid4().hex[:12]}",
                                   SystemClock(), visibility_timeout=5.0, **FAST_POLL)

    async def start(**policy: Any) -> DurableRuntime:
        runtime = DurableRuntime(new_hub(), samples.orchestrators,
                                 samples.activities, versions=VersionPolicy(**policy))
        await runtime.start()
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        await runtime.stop()


@pytest.mark.parametrize(("left", "right", "sign"), [
    ("", None, 0), ("", "1.0", -1), ("1.0", " ", 1),
    ("1.10", "1.9", 1), ("2.0", "2.0.0", -1), ("1.0.0.1", "1.0.0.1", 0),
    ("v2", "V2", 0), ("2025-01-02", "2025-01-10", -1), ("10", "9", -1),
])
def test_versions_compare_as_durable_task_compares_them(left, right, sign):
    """Empty versions are equal and oldest; System.Version texts compare as versions
    (2.0 < 2.0.0); anything else as text ignoring case ("10" < "9")."""
    result = compare_versions(left, right)
    assert (result > 0) - (result < 0) == sign


async def test_new_instances_and_children_get_the_default_version(versioned_runtime):
    """The defaultVersion is stamped on new instances and on children that name none; a
    child started with a version keeps it; the SDK's context.version reads them."""
    runtime = await versioned_runtime(default_version="2.0")
    instance = await runtime.client.start_new("versioned", None, None)
    record = await runtime.client.wait_for(instance)
    assert json.loads(record.output or "null") == {"self": "2.0", "child": "2.0",
                                                    "pinned": "1.5"}
    [started] = of_kind(await runtime.client.get_history(instance), EventType.EXECUTION_STARTED)
    assert started["Version"] == "2.0"
    assert record.version == "2.0"


async def test_a_newer_instance_waits_under_current_or_older_reject(versioned_runtime):
    """With CurrentOrOlder and Reject (the defaults) an instance newer than the host's
    version is not run: it stays Pending, its work left for another host."""
    runtime = await versioned_runtime(default_version="2.0")
    newer = await runtime.client.start_new("version_of", None, None, version="3.0")
    older = await runtime.client.start_new("version_of", None, None, version="1.9")
    assert (await runtime.client.wait_for(older)).runtime_status == RuntimeStatus.COMPLETED
    with pytest.raises(TimeoutError):
        await runtime.client.wait_for(newer, timeout=1.5)
    record = await runtime.client.get_instance(newer)
    assert record is not None and record.runtime_status == RuntimeStatus.PENDING
    assert await runtime.client.get_history(newer) == []


async def test_a_refused_version_fails_under_the_fail_strategy(versioned_runtime):
    """With versionFailureStrategy Fail a refused instance fails without running, with
    DurableTask's VersionMismatch message."""
    runtime = await versioned_runtime(default_version="2.0", failure=FailureStrategy.FAIL)
    instance = await runtime.client.start_new("version_of", None, None, version="3.0")
    record = await runtime.client.wait_for(instance)
    assert record.runtime_status == RuntimeStatus.FAILED
    assert json.loads(record.output or "null") == VERSION_MISMATCH


async def test_strict_runs_only_the_same_version(versioned_runtime):
    """Strict refuses an older version too; None runs every version."""
    strict = await versioned_runtime(default_version="2.0", match=MatchStrategy.STRICT,
                                     failure=FailureStrategy.FAIL)
    older = await strict.client.start_new("version_of", None, None, version="1.0")
    assert (await strict.client.wait_for(older)).runtime_status == RuntimeStatus.FAILED
    loose = await versioned_runtime(default_version="2.0", match=MatchStrategy.NONE)
    newer = await loose.client.start_new("version_of", None, None, version="9.0")
    record = await loose.client.wait_for(newer)
    assert json.loads(record.output or "null") == "9.0"


def test_host_json_versioning_is_read_and_bad_strategies_refused(tmp_path):
    """host.json's defaultVersion and strategies are read (enum names in any case); an
    unknown strategy stops the host at start."""
    durable = {"defaultVersion": "1.2", "versionMatchStrategy": "strict",
               "versionFailureStrategy": "Fail"}
    (tmp_path / "host.json").write_text(json.dumps({"extensions": {"durableTask": durable}}))
    assert load_settings(tmp_path, environ={}).versions == VersionPolicy(
        "1.2", MatchStrategy.STRICT, FailureStrategy.FAIL)
    durable["versionMatchStrategy"] = "Newest"
    (tmp_path / "host.json").write_text(json.dumps({"extensions": {"durableTask": durable}}))
    with pytest.raises(AppLoadError, match="versionMatchStrategy must be one of None, Strict"):
        load_settings(tmp_path, environ={})
