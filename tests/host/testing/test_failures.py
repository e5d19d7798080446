"""Failures on an app the kit was not written with: a failing activity, a sub-orchestration,
an orchestrator that raises. The status output is Azure's; the app's traceback comes with it."""

from __future__ import annotations

from pathlib import Path

import azure.durable_functions as df
import pytest

from devhost.testing import DurableTestHost

Status = df.OrchestrationRuntimeStatus


async def test_sub_orchestrations_complete_through_the_kit(ledger_app: Path) -> None:
    """Each entry is posted by a child orchestration; the parent collects their results."""
    async with DurableTestHost(ledger_app) as host:
        instance_id = await host.start_new("settle", [{"amount": 3}, {"amount": 4}])
        status = await host.status(instance_id)
        assert (status.runtime_status, status.output) == (Status.Completed, [3, 4])
        assert status.app_traceback is None


async def test_a_failing_activity_fails_child_and_parent_with_its_reason(
        ledger_app: Path) -> None:
    """A negative amount: the activity's ValueError fails the child, which fails the parent.

    The reason reads as Azure's (``Activity function 'book' failed:  ValueError: ...``,
    engine/failures.py); the child's default id is ``{parentExecutionId}:{taskId}``.
    """
    async with DurableTestHost(ledger_app) as host:
        instance_id = await host.start_new("settle", [{"amount": 3}, {"amount": -5}],
                                           instance_id="books-1")
        parent = await host.wait_for_completion(instance_id)
        assert parent.runtime_status == Status.Failed
        assert "negative amount -5" in parent.output
        history = (await host.export(instance_id))["history"]
        created = [e for e in history if e["EventType"] == 7]
        children = [e["InstanceId"] for e in created]
        executions = {child.rpartition(":")[0] for child in children}
        assert [child.rpartition(":")[2] for child in children] == ["0", "1"]
        assert len(executions) == 1 and "books-1" not in executions.pop()
        child = await host.status(children[1])
        assert child.runtime_status == Status.Failed
        assert child.output.startswith(
            "Orchestrator function 'post_entry' failed: Activity function 'book' failed:  "
            "ValueError: negative amount -5")
        # The activity's own traceback, down to the line of its module that raised.
        assert 'raise ValueError(f"negative amount {amount}")' in child.app_traceback
        assert "common.py" in child.app_traceback


async def test_an_orchestrator_that_raises_shows_where(ledger_app: Path) -> None:
    """The output is the reason alone, as on Azure; app_traceback names the app's line."""
    async with DurableTestHost(ledger_app) as host:
        instance_id = await host.start_new("close_books")
        status = await host.wait_for_completion(instance_id)
        assert status.runtime_status == Status.Failed
        assert status.output == "Orchestrator function 'close_books' failed: the ledger is closed"
        assert 'raise RuntimeError("the ledger is closed")' in status.app_traceback
        assert "function_app.py" in status.app_traceback


async def test_a_failed_instance_explains_a_wait_that_cannot_be_met(ledger_app: Path) -> None:
    """Waiting for something a failed instance never shows: the error carries its failure."""
    async with DurableTestHost(ledger_app) as host:
        instance_id = await host.start_new("close_books")
        with pytest.raises(TimeoutError) as raised:
            await host.wait_for(instance_id, lambda s: s.output == "done")
        text = str(raised.value)
        assert "Failed" in text and "the ledger is closed" in text
        assert 'raise RuntimeError("the ledger is closed")' in text


async def test_a_fake_that_raises_fails_the_activity_as_the_real_one_would(
        ledger_app: Path) -> None:
    """A stand-in's exception reaches the orchestration as a TaskFailed with its reason."""
    async with DurableTestHost(ledger_app) as host:
        def book(entry: dict[str, int]) -> int:
            raise KeyError("account missing")

        host.mock_activity("book", book)
        instance_id = await host.start_new("post_entry", {"amount": 1})
        status = await host.wait_for_completion(instance_id)
        assert status.runtime_status == Status.Failed
        assert "Activity function 'book' failed:  KeyError: 'account missing'" in status.output
        assert "raise KeyError" in status.app_traceback
