"""The test kit on an app it was not written with: HTTP through the app, time, events, mocks."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from devhost.errors import InstanceEnded, InstanceNotFound
from devhost.testing import DurableTestHost, UnknownFunction

Status = df.OrchestrationRuntimeStatus


async def started_reminder(host: DurableTestHost, name: str = "tea") -> str:
    """Start a reminder through the app's own function-level route; its instance id."""
    reply = await host.http("POST", f"/api/reminders/{name}",
                            headers={"x-functions-key": host.function_key})
    assert reply.status_code == 202, reply.text
    instance_id: str = reply.json()["id"]
    return instance_id


async def test_a_call_returns_once_the_activity_it_caused_has_run(reminders_app: Path) -> None:
    """The starter's answer comes back after the orchestration ran as far as it can."""
    async with DurableTestHost(reminders_app) as host:
        instance_id = await started_reminder(host)
        status = await host.status(instance_id)
        assert status.runtime_status == Status.Running
        assert status.custom_status == {"step": "waiting", "text": "Remember tea"}


@pytest.mark.parametrize(("key", "expected"), [
    (None, 401), ("wrong", 401), ("function", 202), ("master", 202), ("system", 401)])
async def test_function_routes_take_the_function_or_master_key(
        reminders_app: Path, key: str | None, expected: int) -> None:
    """Azure's rule for auth level function: the function or master key, header or code=."""
    async with DurableTestHost(reminders_app) as host:
        keys = {"function": host.function_key, "master": host.master_key,
                "system": host.system_key, "wrong": "not-a-key"}
        by_header = await host.http("POST", "/api/reminders/tea", headers=(
            {"x-functions-key": keys[key]} if key else {}))
        by_query = await host.http("POST", "/api/reminders/tea", params=(
            {"code": keys[key]} if key else {}))
        assert (by_header.status_code, by_query.status_code) == (expected, expected)


async def test_admin_routes_take_only_the_master_key(reminders_app: Path) -> None:
    """Auth level admin: the function key is refused, the master key opens it."""
    async with DurableTestHost(reminders_app) as host:
        instance_id = await started_reminder(host)
        refused = await host.http("GET", "/api/admin/reminders",
                                  headers={"x-functions-key": host.function_key})
        listed = await host.http("GET", "/api/admin/reminders",
                                 headers={"x-functions-key": host.master_key})
        assert refused.status_code == 401
        assert (listed.status_code, listed.json()) == (200, [instance_id])


async def test_management_api_takes_the_system_or_master_key(reminders_app: Path) -> None:
    """The durable webhook answers with the system or master key, never the function key."""
    async with DurableTestHost(reminders_app) as host:
        instance_id = await started_reminder(host)
        path = f"/runtime/webhooks/durabletask/instances/{instance_id}"
        answers = {name: (await host.http("GET", path, params={"code": key})).status_code
                   for name, key in (("function", host.function_key),
                                     ("system", host.system_key), ("master", host.master_key))}
        assert answers == {"function": 401, "system": 202, "master": 202}


async def test_an_event_through_the_app_ends_the_wait_without_moving_time(
        reminders_app: Path) -> None:
    """The anonymous ack route raises Ack; the orchestration completes at the same moment."""
    async with DurableTestHost(reminders_app) as host:
        instance_id = await started_reminder(host)
        before = host.now
        reply = await host.http("POST", f"/api/reminders/{instance_id}/ack", json={"by": "me"})
        assert reply.status_code == 202
        status = await host.status(instance_id)
        assert status.runtime_status == Status.Completed
        assert status.output == {"ack": {"by": "me"}}
        assert host.now == before


async def test_waiting_for_completion_skips_to_the_timer(reminders_app: Path) -> None:
    """Nobody acks: the wait moves virtual time to the hour's timer and the nag runs."""
    async with DurableTestHost(reminders_app) as host:
        start = host.now
        instance_id = await started_reminder(host, "walk")
        status = await host.wait_for_completion(instance_id)
        assert status.runtime_status == Status.Completed
        assert status.output == {"ack": None, "nagged": "nagged walk"}
        assert host.now - start == timedelta(minutes=60)


async def test_settings_reach_the_app(reminders_app: Path) -> None:
    """A setting given to the host is what the app reads: a five-minute reminder."""
    async with DurableTestHost(reminders_app, settings={"REMINDER_MINUTES": "5"}) as host:
        start = host.now
        instance_id = await started_reminder(host)
        await host.wait_for_completion(instance_id)
        assert host.now - start == timedelta(minutes=5)


async def test_advance_runs_what_is_due_and_nothing_later(reminders_app: Path) -> None:
    """59 minutes leave the reminder waiting; one more minute fires its timer."""
    async with DurableTestHost(reminders_app) as host:
        instance_id = await started_reminder(host)
        start = host.now
        assert await host.advance(minutes=59) == start + timedelta(minutes=59)
        assert (await host.status(instance_id)).custom_status["step"] == "waiting"
        await host.advance(seconds=60)
        status = await host.status(instance_id)
        assert (status.runtime_status, status.custom_status) == (
            Status.Completed, {"step": "nagged"})


async def test_advance_refuses_to_go_back(reminders_app: Path) -> None:
    """Virtual time only moves forward."""
    async with DurableTestHost(reminders_app) as host:
        with pytest.raises(ValueError, match="forward"):
            await host.advance(minutes=-1)


async def test_a_wait_that_outlasts_its_timeout_raises_at_the_virtual_deadline(
        reminders_app: Path) -> None:
    """A 10-minute timeout passes before the 60-minute timer: TimeoutError, clock at +10."""
    async with DurableTestHost(reminders_app) as host:
        instance_id = await started_reminder(host)
        start = host.now
        with pytest.raises(TimeoutError, match="Running") as raised:
            await host.wait_for_completion(instance_id, timeout=timedelta(minutes=10))
        assert "waiting" in str(raised.value)
        assert host.now - start == timedelta(minutes=10)
        assert (await host.status(instance_id)).runtime_status == Status.Running


async def test_wait_for_returns_as_soon_as_the_condition_holds(reminders_app: Path) -> None:
    """wait_for stops at the first status that meets the predicate, without skipping time."""
    async with DurableTestHost(reminders_app) as host:
        instance_id = await host.start_new("remind", {"name": "x", "minutes": 30})
        start = host.now
        status = await host.wait_for(instance_id, lambda s: s.custom_status["step"] == "waiting")
        assert status.custom_status["text"] == "Remember x"
        assert host.now == start


async def test_a_sync_fake_gets_the_activity_input(reminders_app: Path) -> None:
    """mock_activity by name: the fake gets the decoded input and its result is used."""
    async with DurableTestHost(reminders_app) as host:
        seen: list[Any] = []

        def compose(name: str) -> str:
            seen.append(name)
            return f"fake for {name}"

        host.mock_activity("compose", compose)
        instance_id = await host.start_new("remind", {"name": "bread", "minutes": 1})
        assert seen == ["bread"]
        assert (await host.status(instance_id)).custom_status["text"] == "fake for bread"


async def test_an_async_fake_replaces_an_async_activity(reminders_app: Path) -> None:
    """An async fake is awaited; its result reaches the orchestrator."""
    async with DurableTestHost(reminders_app) as host:
        async def nag(name: str) -> str:
            await asyncio.sleep(0)
            return f"softly {name}"

        host.mock_activity("nag", nag)
        instance_id = await host.start_new("remind", {"name": "cat", "minutes": 1})
        status = await host.wait_for_completion(instance_id)
        assert status.output == {"ack": None, "nagged": "softly cat"}


async def test_unknown_names_are_refused_with_the_known_ones(reminders_app: Path) -> None:
    """An activity or orchestrator the app lacks is a clear error naming what it has."""
    async with DurableTestHost(reminders_app) as host:
        with pytest.raises(UnknownFunction, match="'compose', 'nag'"):
            host.mock_activity("compse", lambda name: name)
        with pytest.raises(TypeError, match="callable"):
            host.mock_activity("compose", "not a function")  # type: ignore[arg-type]
        with pytest.raises(UnknownFunction, match="'remind'"):
            await host.start_new("remnd", {})
        assert await host.status("never-started") is None


async def test_events_to_unknown_or_ended_instances_are_refused(reminders_app: Path) -> None:
    """raise_event: InstanceNotFound for an unknown id, InstanceEnded after the end."""
    async with DurableTestHost(reminders_app) as host:
        with pytest.raises(InstanceNotFound):
            await host.raise_event("nobody", "Ack", {})
        instance_id = await host.start_new("remind", {"name": "x", "minutes": 1})
        await host.raise_event(instance_id, "Ack", {"n": 1})
        assert (await host.status(instance_id)).output == {"ack": {"n": 1}}
        with pytest.raises(InstanceEnded):
            await host.raise_event(instance_id, "Ack", {"n": 2})


async def test_start_new_takes_an_instance_id_and_a_version(reminders_app: Path) -> None:
    """start_new passes id, input and version through the SDK's client."""
    async with DurableTestHost(reminders_app) as host:
        instance_id = await host.start_new("remind", {"name": "v", "minutes": 1},
                                           instance_id="reminder-7", version="1.5")
        assert instance_id == "reminder-7"
        status = await host.status(instance_id)
        # As on Azure, the input of an instance the SDK started reads as the JSON text it sent.
        assert json.loads(status.input_) == {"name": "v", "minutes": 1}
        assert (await host.export(instance_id))["version"] == "1.5"
