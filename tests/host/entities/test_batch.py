"""The entity scheduler on its own: one work item -> one commit, through the SDK's handle."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import pytest

from devhost.app.loader import FunctionIndex, import_state_kept, load_app
from devhost.entities.batch import EntityBatch
from devhost.entities.ids import EntityId
from devhost.entities.messages import EntityRequest, client_request, orchestration_request
from devhost.entities.sorter import REORDER_WINDOW
from devhost.entities.state import APPLIED_REQUESTS_KEPT, SchedulerState
from devhost.taskhub.base import Message, OrchestrationWorkItem
from tests.host.entities.conftest import COUNTER_APP

AT = datetime(2030, 1, 1, tzinfo=timezone.utc)
ENTITY = "@counter@unit"


@pytest.fixture(scope="module")
def index() -> Iterator[FunctionIndex]:
    """The counter app, indexed as the host indexes it."""
    with import_state_kept():
        yield load_app(COUNTER_APP)


def handles(index: FunctionIndex) -> dict[str, Callable[[str], str]]:
    """The entity handles a batch calls."""
    return {name: entity.handle for name, entity in index.entities.items()}


def add(amount: int) -> EntityRequest:
    """A client's signal to add ``amount``, its input as the SDK's client sends it."""
    return client_request("add", json.dumps(json.dumps(amount)))


def run(index: FunctionIndex, messages: list[Message], state: SchedulerState | None = None,
        at: datetime = AT) -> tuple[SchedulerState, list[Message]]:
    """Run one work item of ``messages`` over ``state`` at ``at``; the new state (the old
    one when nothing was written) and the answers."""
    record = state.record_for(EntityId.parse(ENTITY), None, at) if state is not None else None
    item = OrchestrationWorkItem(ENTITY, messages, record, [])
    commit = EntityBatch(item, handles(index), at).run()
    if commit.record is None:
        return state or SchedulerState(), commit.outbound
    return SchedulerState.of(commit.record), commit.outbound


def shift(sequence: int, digit: int, predecessor_at: datetime | None = AT) -> Message:
    """The ``sequence``-th signal of one orchestration to the entity: shift in ``digit``."""
    request = orchestration_request("sender", "exec-1", sequence, "shift", json.dumps(digit),
                                    is_signal=True, sequence=sequence,
                                    predecessor_at=predecessor_at if sequence > 1 else None)
    return request.message_to(ENTITY, AT)


def test_a_request_delivered_twice_is_applied_once(index: FunctionIndex) -> None:
    """The same request in one item, and again in a later item after its commit, counts once
    (a crash between commit and message deletion delivers it again)."""
    first = add(5)
    message = first.message_to(ENTITY, AT)
    state, _ = run(index, [message, message])
    assert state.state == "5"
    again, _ = run(index, [message, add(1).message_to(ENTITY, AT)], state)
    assert again.state == "6"


def test_call_answers_go_to_the_callers_execution(index: FunctionIndex) -> None:
    """A call's answer is an EventRaised named after its request id, for the caller's
    execution, under an id fixed by the request (the same when the batch runs again)."""
    call = orchestration_request("caller", "exec-1", 4, "add", json.dumps(2), is_signal=False)
    _, answers = run(index, [call.message_to(ENTITY, AT)])
    _, again = run(index, [call.message_to(ENTITY, AT)])
    assert len(answers) == 1
    answer = answers[0]
    assert (answer.instance_id, answer.event["Name"]) == ("caller", call.request_id)
    assert answer.event["ExecutionId"] == "exec-1"
    assert json.loads(answer.event["Input"] or "") == {"result": "2"}
    assert again[0].message_id == answer.message_id


def test_failed_operation_answers_with_error_type(index: FunctionIndex) -> None:
    """An operation that raises answers ``{"result": "\\"message\\"", "exceptionType":
    "Error"}`` (TaskEntityShim.ExecuteOutOfProcBatch); the operations after it still run."""
    fail = orchestration_request("caller", "exec-1", 0, "fail", None, is_signal=False)
    state, answers = run(index, [add(3).message_to(ENTITY, AT), fail.message_to(ENTITY, AT),
                                 add(4).message_to(ENTITY, AT)])
    assert state.state == "7"
    assert json.loads(answers[0].event["Input"] or "") == {
        "result": json.dumps("refused at 3"), "exceptionType": "Error"}


def test_other_messages_are_dropped(index: FunctionIndex) -> None:
    """Events that are no operation request (a raised event of another name, a request
    without an id) change nothing."""
    stray = add(1).message_to(ENTITY, AT)
    stray.event["Name"] = "not-op"
    broken = add(1).message_to(ENTITY, AT)
    broken.event["Input"] = json.dumps({"op": "add"})
    state, answers = run(index, [stray, broken])
    assert (state.exists, answers) == (False, [])


def test_applied_ids_are_bounded(index: FunctionIndex) -> None:
    """The record remembers the newest applied request ids only, up to the bound."""
    requests = [add(1) for _ in range(APPLIED_REQUESTS_KEPT + 3)]
    state, _ = run(index, [r.message_to(ENTITY, AT) for r in requests])
    assert state.state == json.dumps(len(requests))
    assert state.applied == [r.request_id for r in requests[-APPLIED_REQUESTS_KEPT:]]


def test_one_senders_requests_apply_in_the_order_sent(index: FunctionIndex) -> None:
    """A request that overtook its predecessor from the same orchestration waits in the
    entity's state until the predecessor comes (the extension's MessageSorter), then both
    apply in the order sent; a copy of an applied one is dropped (by its id)."""
    state, _ = run(index, [shift(2, 2), shift(3, 3)])
    assert (state.exists, [h.request.sequence for h in state.held]) == (False, [2, 3])
    state, _ = run(index, [shift(1, 1)], state)
    assert (state.state, state.held) == ("123", [])
    state, _ = run(index, [shift(2, 2), shift(4, 4)], state)
    assert state.state == "1234"


def test_requests_stop_waiting_after_the_reorder_window(index: FunctionIndex) -> None:
    """A request whose predecessor was sent a whole window ago is not held; one held for a
    whole window is applied first in the next batch, as the sorter gives up waiting, and a
    predecessor coming even later still applies."""
    long_ago = AT - REORDER_WINDOW
    state, _ = run(index, [shift(5, 5, predecessor_at=long_ago)])
    assert state.state == "5"
    state, _ = run(index, [shift(7, 7)], state)
    assert [h.request.sequence for h in state.held] == [7]
    later = AT + REORDER_WINDOW
    state, _ = run(index, [add(1).message_to(ENTITY, later)], state, at=later)
    assert (state.state, state.held) == ("58", [])
    state, _ = run(index, [shift(6, 6)], state, at=later)
    assert state.state == "586"
