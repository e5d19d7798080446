"""Reshape a durable instance's status into what the mobile app and staff routes need."""

import json
import logging

from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from pydantic import ValidationError

from models.orchestration import BackendActionResult, OrderCustomStatus, OrderInput
from models.orders import OrderItem
from models.stages import Stage
from models.status import OrderStatusView

log = logging.getLogger(__name__)

ENDED = frozenset({
    OrchestrationRuntimeStatus.Completed,
    OrchestrationRuntimeStatus.Failed,
    OrchestrationRuntimeStatus.Terminated,
})


def _decoded(value: object) -> object:
    """Status fields arrive as JSON values or as JSON text, depending on the host."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def has_ended(status: DurableOrchestrationStatus) -> bool:
    """True when the instance completed, failed or was terminated."""
    return status.runtime_status in ENDED


def custom_status_of(status: DurableOrchestrationStatus) -> OrderCustomStatus | None:
    """The orchestrator's published journey, or None before its first episode."""
    raw = _decoded(status.custom_status)
    if raw is None:
        return None
    try:
        return OrderCustomStatus.model_validate(raw)
    except ValidationError:
        log.error("instance %s has a custom status that is not an order journey",
                  status.instance_id)
        return None


def input_of(status: DurableOrchestrationStatus) -> object:
    """The instance's input as a JSON value (needs ``show_input=True`` on the query)."""
    return _decoded(status.input_)


def items_of(status: DurableOrchestrationStatus) -> list[OrderItem]:
    """What the order holds, read from the instance's input; [] when the input is no order.

    Only the items: the input also holds the customer's device token, which no view shows.
    """
    raw = input_of(status)
    if raw is None:
        return []
    try:
        return list(OrderInput.model_validate(raw).items)
    except ValidationError:
        log.error("instance %s has an input that is not an order", status.instance_id)
        return []


def order_view(order_id: str, status: DurableOrchestrationStatus) -> OrderStatusView:
    """The status route's answer: items, stage, timeline, approval and, once ended, the result.

    ``status`` must carry the input (``show_input=True``) for the items to show.
    """
    journey = custom_status_of(status)
    runtime = status.runtime_status.value if status.runtime_status else "Pending"
    result = None
    output = _decoded(status.output)
    if status.runtime_status == OrchestrationRuntimeStatus.Completed and isinstance(output, list):
        result = [BackendActionResult.model_validate(item) for item in output]
    return OrderStatusView(
        order_id=order_id,
        stage=journey.stage if journey else Stage.RECEIVED,
        items=items_of(status),
        runtime_status=runtime,
        timeline=journey.timeline if journey else [],
        approval=journey.approval if journey else None,
        result=result,
    )
