"""Replay of recorded histories against changed code: same code passes, a change is named.

Histories are recorded by the engine on a memory hub, then replayed through the SDK's
``handle`` against the app's files as they are after the change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devhost.cli import main
from devhost.engine.protocol import RETRY_FOR, RETRY_OF, RETRY_POLICY, EventType
from devhost.history import HistoryFormatError, InstanceHistory, export_hub, replay
from devhost.history.describe import EVENT_NAMES
from devhost.taskhub.base import RuntimeStatus
from tests.host.history.conftest import FIRST_STEPS, LAST_STEP, WAIT, run_app, write_flow
from tests.support.engine import history_has

WAITING, DONE = "flow-waiting", "flow-done"


async def record_flows(folder: Path) -> list[InstanceHistory]:
    """One Flow still waiting for "Go" and one that got it and completed, exported."""
    async with run_app(folder) as runtime:
        client = runtime.client
        for instance_id in (WAITING, DONE):
            await client.start_new("Flow", instance_id, None)
            await history_has(runtime.hub, instance_id, EventType.TIMER_CREATED)
        await client.raise_event(DONE, "Go", json.dumps("now"))
        done = await client.wait_for(DONE)
        assert done.runtime_status == RuntimeStatus.COMPLETED, done.output
        return await export_hub(runtime.hub, [WAITING, DONE])


def divergence_of(report: Any, instance_id: str) -> Any:
    """The report's divergence for one instance (it must have one)."""
    found = [d for d in report.divergences if d.instance_id == instance_id]
    assert len(found) == 1, report.text()
    return found[0]


async def test_unchanged_code_replays_the_same(flow_dir: Path) -> None:
    """A waiting and a completed instance both replay to what their histories hold."""
    recorded = await record_flows(flow_dir)
    report = replay(flow_dir, recorded)
    assert report.ok, report.text()
    assert report.replayed == [WAITING, DONE]


async def test_a_step_inserted_before_the_others_is_named_where_it_differs(
        flow_dir: Path) -> None:
    """Both instances differ at task 0: history called Step "a", the code now calls "x"."""
    recorded = await record_flows(flow_dir)
    write_flow(flow_dir, first='''
    yield context.call_activity("Step", "x")
''' + FIRST_STEPS)
    report = replay(flow_dir, recorded)
    assert not report.ok
    assert len(report.divergences) == 2
    for divergence in report.divergences:
        assert divergence.orchestrator == "Flow"
        assert divergence.event["EventType"] == EventType.TASK_SCHEDULED
        assert divergence.event["EventId"] == 0
        record = next(r for r in recorded if r.instance_id == divergence.instance_id)
        assert record.history[divergence.event_index] == divergence.event
        assert divergence.history_holds == ("TaskScheduled #0: activity 'Step' called with "
                                            'input "a"')
        assert divergence.code_does == "calls activity 'Step' with input \"x\""


async def test_a_step_added_before_the_wait_breaks_the_waiting_instance(
        flow_dir: Path) -> None:
    """Where history created the timer (task 2), the code now calls another step."""
    recorded = await record_flows(flow_dir)
    write_flow(flow_dir, first=FIRST_STEPS + '''
    yield context.call_activity("Step", "check")
''')
    divergence = divergence_of(replay(flow_dir, recorded), WAITING)
    assert divergence.event["EventType"] == EventType.TIMER_CREATED
    assert divergence.event["EventId"] == 2
    assert divergence.history_holds.startswith("TimerCreated #2: a timer firing at ")
    assert divergence.code_does == "calls activity 'Step' with input \"check\""


async def test_a_longer_timeout_is_a_different_timer(flow_dir: Path) -> None:
    """The timer the history created fires at another moment than the code's would."""
    recorded = await record_flows(flow_dir)
    write_flow(flow_dir, wait=WAIT.replace("minutes=30", "minutes=45"))
    divergence = divergence_of(replay(flow_dir, recorded), WAITING)
    assert divergence.event["EventId"] == 2
    assert divergence.code_does.startswith("creates a timer firing at ")
    assert divergence.history_holds.split(" at ")[-1] != divergence.code_does.split(" at ")[-1]


async def test_a_removed_last_step_differs_only_for_the_instance_that_ran_it(
        flow_dir: Path) -> None:
    """The completed instance scheduled Step "c"; the code now completes without it. The
    waiting instance never got there, so it replays the same."""
    recorded = await record_flows(flow_dir)
    write_flow(flow_dir, last="\n    return [first, second]\n")
    report = replay(flow_dir, recorded)
    assert [d.instance_id for d in report.divergences] == [DONE]
    divergence = report.divergences[0]
    assert divergence.event["EventId"] == 3
    assert divergence.code_does == "completes, scheduling nothing more"


async def test_code_that_now_raises_reports_its_failure(flow_dir: Path) -> None:
    """An orchestrator that raises on replay fails where history went on."""
    recorded = await record_flows(flow_dir)
    write_flow(flow_dir, first='''
    first = yield context.call_activity("Step", "a")
    raise RuntimeError("no second step today")
    second = None
''')
    divergence = divergence_of(replay(flow_dir, recorded), WAITING)
    assert divergence.event["EventId"] == 1
    assert divergence.code_does.startswith("fails: ")
    assert "no second step today" in divergence.code_does


async def test_a_step_added_after_what_history_reached_is_no_divergence(
        flow_dir: Path) -> None:
    """A step the waiting instance has not reached yet changes nothing it recorded; the
    completed one ran past that point and differs."""
    recorded = await record_flows(flow_dir)
    write_flow(flow_dir, last='''
    yield context.call_activity("Step", "extra")
''' + LAST_STEP)
    report = replay(flow_dir, recorded)
    assert [d.instance_id for d in report.divergences] == [DONE]


async def test_an_action_history_never_took_names_the_episode_that_now_takes_it(
        tmp_path: Path) -> None:
    """Old code waited for "Go" alone; the new code also sets a timer in the episode where
    the second step completed. That episode's end is where the report points."""
    folder = write_flow(tmp_path / "flow", wait='''
    yield context.wait_for_external_event("Go")
''')
    async with run_app(folder) as runtime:
        await runtime.client.start_new("Flow", WAITING, None)
        await history_has(runtime.hub, WAITING, EventType.TASK_COMPLETED, count=2)
        await history_has(runtime.hub, WAITING, EventType.ORCHESTRATOR_COMPLETED, count=3)
        recorded = await export_hub(runtime.hub, [WAITING])
    write_flow(folder)
    divergence = divergence_of(replay(folder, recorded), WAITING)
    history = recorded[0].history
    assert divergence.event["EventType"] == EventType.ORCHESTRATOR_COMPLETED
    episode = history[:divergence.event_index + 1]
    completed = [e for e in episode if e["EventType"] == EventType.TASK_COMPLETED]
    assert [e["TaskScheduledId"] for e in completed] == [0, 1]
    assert divergence.history_holds == "nothing more scheduled"
    assert divergence.code_does.startswith("creates a timer firing at ")


async def test_retried_calls_replay_the_same_with_or_without_the_engines_marks(
        flow_dir: Path) -> None:
    """Two failed attempts, their retry timers and the third attempt are the SDK's own
    steps: the history replays the same, also with the engine's retry marks removed, as a
    history Durable Task wrote has none."""
    async with run_app(flow_dir) as runtime:
        await runtime.client.start_new("Retried", "retried", json.dumps("key-1"))
        for _ in range(2):
            await history_has(runtime.hub, "retried", EventType.TIMER_CREATED,
                              count=_ + 1)
            await runtime.advance(seconds=1)
        record = await runtime.client.wait_for("retried")
        assert record.runtime_status == RuntimeStatus.COMPLETED, record.output
        recorded = await export_hub(runtime.hub, ["retried"])
    kinds = [EVENT_NAMES[e["EventType"]] for e in recorded[0].history]
    assert kinds.count("TaskFailed") == 2 and kinds.count("TaskScheduled") == 3
    unmarked = [{k: v for k, v in event.items() if k not in (RETRY_OF, RETRY_FOR,
                                                              RETRY_POLICY, "Attempt")}
                for event in recorded[0].history]
    assert unmarked != recorded[0].history
    as_written = {**recorded[0].to_json(), "history": unmarked}
    for exported in (recorded, as_written):
        report = replay(flow_dir, exported)
        assert report.ok, report.text()
    write_flow(flow_dir, flaky="Steady")
    for exported in (recorded, as_written):
        divergence = divergence_of(replay(flow_dir, exported), "retried")
        assert divergence.event["EventId"] == 0
        assert divergence.code_does == "calls activity 'Steady' with input \"key-1\""


async def test_an_orchestrator_the_app_no_longer_has_is_reported(flow_dir: Path) -> None:
    """A history of an orchestrator the code does not define any more diverges at its
    start, naming the orchestrators the app has."""
    recorded = await record_flows(flow_dir)
    renamed = [{**item.to_json(), "name": "OldFlow",
                "history": [{**e, "Name": "OldFlow"}
                            if e["EventType"] == EventType.EXECUTION_STARTED else e
                            for e in item.history]} for item in recorded]
    report = replay(flow_dir, renamed)
    assert len(report.divergences) == 2
    divergence = report.divergences[0]
    assert divergence.event["EventType"] == EventType.EXECUTION_STARTED
    assert "no orchestrator 'OldFlow'" in divergence.code_does
    assert "Flow, Retried" in divergence.code_does


async def test_replay_takes_a_document_a_record_or_a_list(flow_dir: Path) -> None:
    """The three shapes of the export format replay alike."""
    recorded = await record_flows(flow_dir)
    records = [item.to_json() for item in recorded]
    document = {"format": "devhost.history/1", "instances": records}
    for exported, count in ((document, 2), (records[0], 1), (records, 2)):
        report = replay(flow_dir, json.loads(json.dumps(exported)))
        assert report.ok and len(report.replayed) == count


async def test_bad_input_replays_nothing(flow_dir: Path) -> None:
    """One bad record refuses the whole input, saying where, before anything runs."""
    recorded = await record_flows(flow_dir)
    good = recorded[0].to_json()
    broken = {**good, "history": [*good["history"][:3], {"EventType": 5, "EventId": -1,
                                                         "IsPlayed": False,
                                                         "Timestamp": "2024-01-01T00:00:00Z"}]}
    with pytest.raises(HistoryFormatError, match=r"\[1\]\.history\[3\]: TaskCompleted has "
                                                 r"no 'TaskScheduledId'"):
        replay(flow_dir, [good, broken])


async def test_an_activity_renamed_only_in_case_is_the_same_call(flow_dir: Path) -> None:
    """Function names match ignoring case, as DurableTask.Core compares them
    (TaskOrchestrationContext.HandleTaskScheduledEvent, OrdinalIgnoreCase)."""
    recorded = await record_flows(flow_dir)
    write_flow(flow_dir, first=FIRST_STEPS.replace('"Step"', '"STEP"'))
    assert replay(flow_dir, recorded).ok


def test_the_replay_command_on_files(flow_dir: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0 for an empty export, 2 for a missing file, a file that is no export, or an
    app folder without an app (nothing is replayed then), 1 with the report."""
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"format": "devhost.history/1", "instances": []}))
    assert main(["replay", "--app", str(flow_dir), str(empty)]) == 0
    assert "nothing replayed" in capsys.readouterr().out
    assert main(["replay", "--app", str(flow_dir), str(tmp_path / "none.json")]) == 2
    assert "none.json: cannot read it" in capsys.readouterr().err
    (tmp_path / "list.json").write_text("[1]")
    assert main(["replay", "--app", str(flow_dir), str(tmp_path / "list.json")]) == 2
    assert "an instance record must be an object" in capsys.readouterr().err
    record = {"instanceId": "one", "name": "Flow", "version": "", "runtimeStatus": "Running",
              "history": [{"EventType": 0, "EventId": -1, "IsPlayed": False,
                           "Timestamp": "2024-01-01T00:00:00Z", "Name": "Flow",
                           "Version": "", "Input": None}]}
    (tmp_path / "one.json").write_text(json.dumps(record))
    assert main(["replay", "--app", str(flow_dir), str(tmp_path / "one.json")]) == 2
    assert "must open with an OrchestratorStarted" in capsys.readouterr().err
    opened = {"EventType": 12, "EventId": -1, "IsPlayed": False,
              "Timestamp": "2024-01-01T00:00:00Z"}
    record["history"] = [opened, *record["history"], {**opened, "EventType": 13}]
    (tmp_path / "one.json").write_text(json.dumps(record))
    assert main(["replay", "--app", str(tmp_path / "no-app"), str(tmp_path / "one.json")]) == 2
    assert "no function_app.py" in capsys.readouterr().err
    # A first episode that scheduled nothing, where the code now calls its first step.
    assert main(["replay", "--app", str(flow_dir), str(tmp_path / "one.json")]) == 1
    printed = capsys.readouterr().out
    assert "one (Flow): differs at history event 2" in printed
    assert "history holds: nothing more scheduled" in printed
    assert "code now:      calls activity 'Step' with input \"a\"" in printed
