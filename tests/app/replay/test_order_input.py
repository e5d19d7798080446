"""A bad orchestration input fails the instance through the SDK's $OutOfProcData$ contract."""

import json

import pytest

from constants import ORDER_ORCHESTRATOR
from devhost.engine.protocol import EventType
from tests.support.history import OUT_OF_PROC_MARK, History, OrderHistory, order_input

BAD_INPUTS = {
    "missing-reg-id": json.dumps({k: v for k, v in order_input().items() if k != "regId"}),
    "zero-timeout": json.dumps(order_input(approvalTimeoutSeconds=0)),
    "zero-attempts": json.dumps(order_input(pushRetry={"maxAttempts": 0,
                                                       "firstRetryMilliseconds": 10})),
    "unknown-field": json.dumps(order_input(couponCode="FREE")),
    "not-an-object": json.dumps(["order-0001"]),
}


@pytest.mark.parametrize("input_text", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_a_bad_input_fails_through_out_of_proc_data(handle, input_text) -> None:
    """handle raises with the state after $OutOfProcData$: not done, an error, no actions."""
    h = OrderHistory(input_text=input_text, instance_id="order-bad").start()
    with pytest.raises(Exception, match=r"\$OutOfProcData\$:") as raised:
        handle(h.context_json())

    message = str(raised.value)
    failure, _, state_text = message.partition(OUT_OF_PROC_MARK)
    state = json.loads(state_text)
    assert "validation error for OrderInput" in failure
    assert state["isDone"] is False
    assert "validation error for OrderInput" in state["error"]
    assert state["actions"] == [[]]
    assert "customStatus" not in state


def test_a_missing_input_fails_the_instance(run) -> None:
    """No input at all fails like a bad one, and the host records ExecutionFailed."""
    h = History(ORDER_ORCHESTRATOR, "order-none", None).start()
    failed = run(h)

    assert failed.failure is not None
    assert "validation error for OrderInput" in failed.error
    assert not failed.is_done
    assert [e["EventType"] for e in failed.recorded] == [EventType.EXECUTION_FAILED]
    assert h.ended
