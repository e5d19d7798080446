"""How the routes read an instance's status, for statuses the local host never produces.

The order orchestrator always publishes its journey as a JSON value, and the local host
has no Suspended or Canceled instances; Azure's host can answer with either, so the
reading is checked here on the SDK's own ``DurableOrchestrationStatus``.
"""

import json
from typing import Any

from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from http_triggers.approval import _refusal_for_raise_error
from http_triggers.order_views import custom_status_of, has_ended, order_view

ORDER_ID = "order-0001"
ENTRY = {"stage": "received", "at": "2025-01-01T12:01:00Z", "seq": 1,
         "push": {"outcome": "sent", "messageId": "projects/demo/messages/1"}}
JOURNEY = {"stage": "processing",
           "timeline": [ENTRY, {**ENTRY, "stage": "processing", "seq": 2,
                                "at": "2025-01-01T12:02:00Z"}]}


def status(runtime_status: str = "Running",
           custom_status: Any = None) -> DurableOrchestrationStatus:
    """A status as the SDK client builds it from the management API's answer."""
    return DurableOrchestrationStatus.from_json({
        "name": "OrderOrchestrator", "instanceId": ORDER_ID, "runtimeStatus": runtime_status,
        "input": None, "customStatus": custom_status, "output": None,
        "createdTime": "2025-01-01T12:00:00Z", "lastUpdatedTime": "2025-01-01T12:02:00Z"})


def test_custom_status_given_as_json_text_reads_as_the_value():
    """A custom status that arrives as JSON text reads the same as one given as a value."""
    as_text = order_view(ORDER_ID, status(custom_status=json.dumps(JOURNEY)))
    as_value = order_view(ORDER_ID, status(custom_status=JOURNEY))
    assert as_text == as_value
    assert as_text.stage.value == "processing"
    assert [entry.stage.value for entry in as_text.timeline] == ["received", "processing"]


def test_custom_status_that_is_no_journey_is_never_taken_as_waiting():
    """A custom status that is not an order journey reads as none, so approval is refused."""
    assert custom_status_of(status(custom_status={"stage": "awaiting_approval"})) is None


def test_suspended_order_has_not_ended():
    """A suspended order is still live: the approval route may raise its event (buffered)."""
    assert not has_ended(status("Suspended"))


def test_canceled_order_is_refused_by_the_hosts_gone_answer():
    """A Canceled order passes the status check; the host's 410 on the raise refuses it."""
    assert not has_ended(status("Canceled"))
    gone = Exception(f"Instance with ID {ORDER_ID} is gone: either completed or failed")
    refusal = _refusal_for_raise_error(ORDER_ID, gone)
    assert refusal is not None
    assert refusal.status_code == 410
    assert json.loads(refusal.get_body())["details"] == [{"field": "orderId",
                                                         "message": ORDER_ID}]
