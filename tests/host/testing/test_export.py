"""``export``: one instance with its full history, in the shape replay tooling reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.engine.protocol import EventType
from devhost.errors import InstanceNotFound
from devhost.testing import DurableTestHost


async def test_export_holds_the_record_and_every_history_event(reminders_app: Path) -> None:
    """Exactly the five keys; the history is the engine's, every event played, JSON-ready."""
    async with DurableTestHost(reminders_app) as host:
        instance_id = await host.start_new("remind", {"name": "x", "minutes": 15},
                                           instance_id="reminder-export")
        await host.wait_for_completion(instance_id)
        exported = await host.export(instance_id)
        assert set(exported) == {"instanceId", "name", "version", "runtimeStatus", "history"}
        assert (exported["instanceId"], exported["name"], exported["version"],
                exported["runtimeStatus"]) == ("reminder-export", "remind", "", "Completed")
        history = exported["history"]
        assert json.loads(json.dumps(exported)) == exported
        assert all(event["IsPlayed"] is True for event in history)
        kinds = [EventType(event["EventType"]) for event in history]
        assert kinds[:2] == [EventType.ORCHESTRATOR_STARTED, EventType.EXECUTION_STARTED]
        assert kinds.count(EventType.TASK_SCHEDULED) == 2
        assert EventType.TIMER_FIRED in kinds and EventType.EXECUTION_COMPLETED in kinds
        scheduled = [e["Name"] for e in history if e["EventType"] == EventType.TASK_SCHEDULED]
        assert scheduled == ["compose", "nag"]
        timer = next(e for e in history if e["EventType"] == EventType.TIMER_CREATED)
        fired = next(e for e in history if e["EventType"] == EventType.TIMER_FIRED)
        assert (fired["TimerId"], fired["FireAt"]) == (timer["EventId"], timer["FireAt"])


async def test_export_matches_what_the_task_hub_stored(reminders_app: Path) -> None:
    """The exported events are the stored ones, only marked played."""
    async with DurableTestHost(reminders_app) as host:
        instance_id = await host.start_new("remind", {"name": "x", "minutes": 1})
        exported = await host.export(instance_id)
        stored = await host._started().runtime.client.get_history(instance_id)
        assert exported["history"] == [{**event, "IsPlayed": True} for event in stored]
        assert exported["runtimeStatus"] == "Running"


async def test_export_of_an_unknown_instance_is_refused(reminders_app: Path) -> None:
    """No such instance: InstanceNotFound, not an empty record."""
    async with DurableTestHost(reminders_app) as host:
        with pytest.raises(InstanceNotFound):
            await host.export("nobody")
