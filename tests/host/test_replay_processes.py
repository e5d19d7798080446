"""Orchestrators replayed in worker processes: same answers as in the host, no lost episode,
no process left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from devhost.app.loader import load_app
from devhost.clock import SystemClock
from devhost.engine.protocol import (
    as_played,
    execution_started,
    orchestration_context,
    orchestrator_completed,
    orchestrator_started,
    task_completed,
    task_scheduled,
)
from devhost.engine.replay_processes import ReplayProcesses
from devhost.engine.replay_worker import OTHER_ERROR, SDK_RAISED, STATE, answer
from devhost.engine.sdk_call import ReplayedError, call_orchestrator
from devhost.errors import AppLoadError, ReplayWorkerLost
from devhost.host import LocalHost
from devhost.taskhub.base import RuntimeStatus
from devhost.taskhub.memory import MemoryTaskHub
from tests.support import APP_DIR
from tests.support.front_end import AppWriter

REPLAY_APP = '''
import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def greet(context: df.DurableOrchestrationContext):
    name = context.get_input()
    decision = yield context.wait_for_external_event("Go")
    greeting = yield context.call_activity("shout", f"{name}:{decision}")
    return greeting


@app.orchestration_trigger(context_name="context")
def chatty(context: df.DurableOrchestrationContext):
    print("user code printing to stdout must not reach the host's pipe")
    return "said"
    yield  # a generator


@app.orchestration_trigger(context_name="context")
def broken(context: df.DurableOrchestrationContext):
    yield context.call_activity("shout", "x")
    raise ValueError("the kitchen is on fire")


@app.orchestration_trigger(context_name="context")
def crashes(context: df.DurableOrchestrationContext):
    import os
    os._exit(3)  # user code that ends its process, e.g. a crashing native library
    yield


@app.activity_trigger(input_name="text")
def shout(text: str) -> str:
    return text.upper()
'''
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
EXIT_WAIT_SECONDS = 10.0


def first_episode(name: str, input_value: object) -> str:
    """The context JSON of an instance's first episode."""
    input_text = json.dumps(input_value)
    history = [orchestrator_started(NOW), execution_started(name, "i-1", input_text, NOW)]
    for item in history:
        item["IsPlayed"] = False
    return orchestration_context("i-1", history, input_text)


def after_first_activity(name: str, result: object) -> str:
    """The context JSON of the episode in which task 0 (an activity) completed."""
    played = [orchestrator_started(NOW), execution_started(name, "i-1", None, NOW),
              task_scheduled(0, "shout", json.dumps("x"), NOW), orchestrator_completed(NOW)]
    new = [orchestrator_started(NOW), task_completed(0, json.dumps(result), NOW)]
    history = as_played(played) + [{**item, "IsPlayed": False} for item in new]
    return orchestration_context("i-1", history, None)


def gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_gone(pids: list[int]) -> None:
    """Fail unless every process in ``pids`` exits within EXIT_WAIT_SECONDS."""
    deadline = time.monotonic() + EXIT_WAIT_SECONDS
    while not all(gone(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {[p for p in pids if not gone(p)]}"
        time.sleep(0.05)


@pytest.fixture
def app_dir(write_app: AppWriter) -> Path:
    """The sample app with orchestrators that wait, print and raise."""
    return write_app(REPLAY_APP)


@pytest.fixture
def workers(app_dir: Path) -> Iterator[ReplayProcesses]:
    """Two started workers for the sample app, closed after the test."""
    replay = ReplayProcesses(app_dir, 2)
    replay.start()
    try:
        yield replay
    finally:
        replay.close()


def test_a_worker_answers_as_the_host_process_would(app_dir: Path,
                                                    workers: ReplayProcesses) -> None:
    """Same context in, same state out: the worker runs the app's own orchestrator."""
    local = load_app(app_dir).orchestrators
    remote = workers.functions(local)
    context = first_episode("greet", "ada")
    in_host = json.loads(local["greet"].handle(context))
    in_worker = json.loads(remote["greet"].handle(context))
    assert in_worker == in_host
    # The first episode waits for the event: one wait action, not done.
    assert in_worker["isDone"] is False
    assert len(workers.pids()) == 2
    assert os.getpid() not in workers.pids()


def test_an_orchestrator_that_raises_fails_with_the_same_error_as_in_the_host(
        app_dir: Path, workers: ReplayProcesses) -> None:
    """The SDK's exception crosses the pipe with its state: the same failed answer."""
    local = load_app(app_dir).orchestrators
    remote = workers.functions(local)
    context = after_first_activity("broken", "X")
    in_host = call_orchestrator(local["broken"].handle, context)
    with pytest.raises(ReplayedError, match="the kitchen is on fire"):
        remote["broken"].handle(context)
    in_worker = call_orchestrator(remote["broken"].handle, context)
    assert in_host.error is not None and "the kitchen is on fire" in in_host.error
    assert in_worker == in_host


def test_user_code_printing_to_stdout_does_not_break_the_pipe(app_dir: Path,
                                                              workers: ReplayProcesses) -> None:
    """print() in an orchestrator goes to stderr, not into the answer stream."""
    remote = workers.functions(load_app(app_dir).orchestrators)
    state = json.loads(remote["chatty"].handle(first_episode("chatty", None)))
    assert state["isDone"] is True
    assert state["output"] == "said"


def test_a_killed_worker_loses_the_episode_once_and_a_new_worker_takes_its_slot(
        app_dir: Path) -> None:
    """The episode in flight raises ReplayWorkerLost (the runtime retries it)."""
    replay = ReplayProcesses(app_dir, 1)
    replay.start()
    try:
        [first] = replay.pids()
        os.kill(first, signal.SIGKILL)
        wait_gone([first])
        context = first_episode("greet", "ada")
        with pytest.raises(ReplayWorkerLost):
            replay.replay("greet", context)
        # The next episode starts a new worker and gets an answer.
        assert json.loads(replay.replay("greet", context))["isDone"] is False
        [second] = replay.pids()
        assert second != first
    finally:
        replay.close()


def test_close_stops_every_worker(app_dir: Path) -> None:
    """close() waits for the workers to exit, and refuses episodes after."""
    replay = ReplayProcesses(app_dir, 2)
    replay.start()
    pids = replay.pids()
    assert len(pids) == 2
    replay.close()
    wait_gone(pids)
    with pytest.raises(ReplayWorkerLost):
        replay.replay("greet", first_episode("greet", "ada"))


def test_an_app_a_worker_cannot_load_is_refused_and_leaves_no_process(tmp_path: Path) -> None:
    """A worker that cannot import the app stops the start with AppLoadError."""
    replay = ReplayProcesses(tmp_path / "no-such-app", 2)
    with pytest.raises(AppLoadError, match="replay worker"):
        replay.start()
    assert replay.pids() == []


def test_workers_exit_when_their_host_is_killed(app_dir: Path) -> None:
    """kill -9 of the host process alone (not its group): its workers exit by themselves."""
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from devhost.engine.replay_processes import ReplayProcesses
        replay = ReplayProcesses(Path({str(app_dir)!r}), 2)
        replay.start()
        print(" ".join(map(str, replay.pids())), flush=True)
        time.sleep(60)
    """)
    root = APP_DIR
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             cwd=root, start_new_session=True)
    try:
        assert owner.stdout is not None
        pids = [int(pid) for pid in owner.stdout.readline().split()]
        assert len(pids) == 2
        owner.kill()
        owner.wait(timeout=EXIT_WAIT_SECONDS)
        wait_gone(pids)
    finally:
        if owner.poll() is None:
            os.killpg(owner.pid, signal.SIGKILL)
            owner.wait()


def test_answer_frames_say_which_kind_of_error_it_was() -> None:
    """State, the SDK's exception, and any other exception get distinct frames."""
    def fine(context: str) -> str:
        return '{"isDone": true}'

    def sdk_style(context: str) -> str:
        raise Exception('boom$OutOfProcData$:{"error": "boom"}')

    def plain(context: str) -> str:
        raise KeyError("lost")

    handles = {"fine": fine, "sdk": sdk_style, "plain": plain}
    assert answer(handles, b"fine\n{}") == STATE + b'{"isDone": true}'
    assert answer(handles, b"sdk\n{}").startswith(SDK_RAISED + b"boom$OutOfProcData$:")
    assert answer(handles, b"plain\n{}") == OTHER_ERROR + b"KeyError: 'lost'"
    assert answer(handles, b"missing\n{}") == OTHER_ERROR + b"KeyError: 'missing'"


@pytest.fixture
async def replaying_host(app_dir: Path) -> AsyncIterator[LocalHost]:
    """The sample app on a memory hub, its orchestrators replayed in one worker process."""
    host = LocalHost(app_dir, lambda _settings: MemoryTaskHub(SystemClock()), port=0,
                     replay_processes=1)
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


async def test_a_host_with_a_replay_worker_survives_the_worker_being_killed(
        replaying_host: LocalHost) -> None:
    """Mid-flow, the worker dies: the instance still completes, with one result."""
    runtime, replay = replaying_host.runtime, replaying_host.replay
    assert runtime is not None and replay is not None
    instance = await runtime.client.start_new("greet", "kill-1", json.dumps("ada"))
    await runtime.client.wait_for(instance, lambda r: r.custom_status is None
                           and r.runtime_status == RuntimeStatus.RUNNING, timeout=10)
    [worker] = replay.pids()
    os.kill(worker, signal.SIGKILL)
    wait_gone([worker])
    await runtime.client.raise_event(instance, "Go", json.dumps("now"))
    record = await runtime.client.wait_for(instance, timeout=20)
    assert record.runtime_status == RuntimeStatus.COMPLETED, record
    assert json.loads(record.output or "null") == "ADA:NOW"
    assert replay.pids() and replay.pids()[0] != worker
    await replaying_host.stop()
    assert replay.pids() == []


async def test_an_orchestrator_that_keeps_ending_its_worker_fails_with_the_reason(
        replaying_host: LocalHost) -> None:
    """Three dead workers in a row fail the instance, with why; the host goes on."""
    runtime = replaying_host.runtime
    assert runtime is not None
    instance = await runtime.client.start_new("crashes", "crash-1", None)
    record = await runtime.client.wait_for(instance, timeout=60)
    assert record.runtime_status == RuntimeStatus.FAILED, record
    assert "ended the orchestrator worker process 3 times in a row" in (record.output or "")
    other = await runtime.client.start_new("chatty", "chatty-1", None)
    assert (await runtime.client.wait_for(
        other, timeout=30)).runtime_status == RuntimeStatus.COMPLETED
