"""What a host changes in the process is undone on exit, so hosts run one after another."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from devhost.errors import AppLoadError
from devhost.testing import DurableTestHost, HostNotIdle
from devhost.testing.pytest_plugin import HostFactory

SETTING = "DEVHOST_TESTKIT_PROBE"


async def test_exit_undoes_imports_path_and_settings(reminders_app: Path) -> None:
    """After the block: function_app is what it was before (another app's, or none), no
    common module, the folder off sys.path, the settings (given and from
    local.settings.json) gone from the environment."""
    (reminders_app / "local.settings.json").write_text(json.dumps(
        {"IsEncrypted": False, "Values": {"FROM_LOCAL_SETTINGS": "yes"}}))
    modules, path = set(sys.modules), list(sys.path)
    before = sys.modules.get("function_app")
    assert "common" not in sys.modules and SETTING not in os.environ
    async with DurableTestHost(reminders_app, settings={SETTING: "on"}) as host:
        assert os.environ[SETTING] == "on" and os.environ["FROM_LOCAL_SETTINGS"] == "yes"
        assert {"function_app", "common"} <= set(sys.modules)
        assert sys.modules["function_app"] is not before
        await host.start_new("remind", {"name": "x", "minutes": 1})
    assert SETTING not in os.environ and "FROM_LOCAL_SETTINGS" not in os.environ
    assert sys.modules.get("function_app") is before and "common" not in sys.modules
    assert sys.path == path
    assert not {name for name in set(sys.modules) - modules
                if str(reminders_app) in str(getattr(sys.modules[name], "__file__", ""))}


async def test_two_apps_with_a_module_of_the_same_name_each_get_their_own(
        reminders_app: Path, ledger_app: Path) -> None:
    """One host after the other: each app imports its own ``common``."""
    for _ in range(2):
        async with DurableTestHost(reminders_app) as host:
            instance_id = await host.start_new("remind", {"name": "x", "minutes": 1})
            assert (await host.status(instance_id)).custom_status["text"] == "Remember x"
        async with DurableTestHost(ledger_app) as host:
            instance_id = await host.start_new("post_entry", {"amount": 2})
            assert (await host.status(instance_id)).output == 2


async def test_a_second_open_host_is_refused_and_the_first_carries_on(
        reminders_app: Path, ledger_app: Path) -> None:
    """One host at a time: the second is refused with the reason, the first still works."""
    async with DurableTestHost(reminders_app) as host:
        with pytest.raises(RuntimeError, match="another DurableTestHost"):
            async with DurableTestHost(ledger_app, settings={SETTING: "on"}):
                pass
        assert SETTING not in os.environ and "function_app" in sys.modules
        instance_id = await host.start_new("remind", {"name": "y", "minutes": 1})
        assert (await host.wait_for_completion(instance_id)).output["nagged"] == "nagged y"


async def test_an_app_that_cannot_load_leaves_the_process_as_it_was(tmp_path: Path,
                                                                    ledger_app: Path) -> None:
    """A folder without function_app.py: AppLoadError, nothing left behind, next host opens."""
    path = list(sys.path)
    with pytest.raises(AppLoadError, match=r"function_app\.py"):
        async with DurableTestHost(tmp_path, settings={SETTING: "on"}):
            pass
    assert SETTING not in os.environ and sys.path == path
    async with DurableTestHost(ledger_app) as host:
        assert (await host.status("nobody")) is None


async def test_calls_outside_the_block_are_refused(ledger_app: Path) -> None:
    """A host that is not started says how to start it."""
    host = DurableTestHost(ledger_app)
    with pytest.raises(RuntimeError, match="async with"):
        await host.start_new("settle", [])
    with pytest.raises(RuntimeError, match="async with"):
        host.mock_activity("book", lambda entry: 0)


async def test_a_host_that_never_gets_idle_says_so(ledger_app: Path) -> None:
    """An activity that never returns: HostNotIdle after the wall-clock bound, and the host
    still stops cleanly."""
    async with DurableTestHost(ledger_app, idle_seconds=0.5) as host:
        async def book(entry: dict[str, int]) -> int:
            await asyncio.Event().wait()
            return 0

        host.mock_activity("book", book)
        with pytest.raises(HostNotIdle, match="still had work"):
            await host.start_new("post_entry", {"amount": 1})


async def test_the_fixture_opens_hosts_and_stops_them(durable_test_host: HostFactory,
                                                      reminders_app: Path) -> None:
    """``durable_test_host(app_dir, settings)`` gives a started host (stopped after the test,
    or the next test's host would be refused as a second one open)."""
    host = await durable_test_host(reminders_app, {"REMINDER_MINUTES": "2"})
    start = host.now
    instance_id = await host.start_new("remind", {"name": "z", "minutes": 2})
    await host.wait_for_completion(instance_id)
    assert host.now - start == timedelta(minutes=2)
