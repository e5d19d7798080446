"""The order orchestrator: the customer's experience, one stage at a time.

received -> processing -> awaiting_approval -> finished | cancelled | expired.
Each stage is first pushed to the customer's phone by the BackendAction activity, then
published in the custom status the status route reads, so what the phone shows and what the
status says never disagree.
"""

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from constants import APPROVAL_EVENT, BACKEND_ACTION, ORDER_ORCHESTRATOR
from models.orchestration import (
    ApprovalOutcome,
    BackendActionInput,
    BackendActionResult,
    OrderInput,
)
from models.push import DeliveryOutcome, DeliveryResult
from models.stages import Stage
from orchestrators.journey import OrderJourney, read_decision

bp = df.Blueprint()

Flow = Generator[Any, Any, Any]

MAX_FAILURE_TEXT = 300


@bp.function_name(ORDER_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context", orchestration=ORDER_ORCHESTRATOR)
def order_orchestrator(context: df.DurableOrchestrationContext) -> Flow:
    """Take an order from the kitchen's first look to the customer's pizza."""
    order = OrderInput.model_validate(context.get_input())
    journey = OrderJourney(order)

    received = yield from announce(context, journey, order, Stage.RECEIVED)
    processing = yield from announce(context, journey, order, Stage.PROCESSING)
    asked = yield from announce(context, journey, order, Stage.AWAITING_APPROVAL)
    outcome, note = yield from wait_for_decision(context, journey, order)
    final_stage = journey.decide(outcome, note, context.current_utc_datetime)
    context.set_custom_status(journey.custom_status())
    final = yield from announce(context, journey, order, final_stage)

    return [result.to_json_dict() for result in (received, processing, asked, final)]


def announce(
    context: df.DurableOrchestrationContext,
    journey: OrderJourney,
    order: OrderInput,
    stage: Stage,
) -> Flow:
    """Push ``stage`` to the phone, then publish it with how the push went."""
    push = journey.next_push(stage)
    result = yield from push_stage(context, order, push)
    journey.reach(result, context.current_utc_datetime)
    context.set_custom_status(journey.custom_status())
    return result


def wait_for_decision(
    context: df.DurableOrchestrationContext, journey: OrderJourney, order: OrderInput
) -> Flow:
    """Wait once for staff to say whether the customer accepts the change, or for time out.

    This runs in the same episode that published ``awaiting_approval``, and the approve
    route raises the event only while the status says so: no approval is ever buffered
    before this wait (the SDK would re-deliver such an event to every later wait).
    """
    now = context.current_utc_datetime
    expires_at = now + timedelta(seconds=order.approval_timeout_seconds)
    journey.request_approval(now, expires_at)
    context.set_custom_status(journey.custom_status())

    decision = context.wait_for_external_event(APPROVAL_EVENT)
    deadline = context.create_timer(expires_at)
    winner = yield context.task_any([decision, deadline])
    if winner is decision:
        deadline.cancel()
        return read_decision(decision.result)
    return ApprovalOutcome.EXPIRED, None


def push_stage(
    context: df.DurableOrchestrationContext, order: OrderInput, push: BackendActionInput
) -> Flow:
    """Run BackendAction for one stage under the durable retry policy.

    When every attempt failed, the push is recorded as failed and the order goes on:
    a push that could not be delivered must never cost the customer the order.
    """
    retry = df.RetryOptions(
        first_retry_interval_in_milliseconds=order.push_retry.first_retry_milliseconds,
        max_number_of_attempts=order.push_retry.max_attempts,
    )
    try:
        output = yield context.call_activity_with_retry(BACKEND_ACTION, retry,
                                                        push.to_json_dict())
    except Exception as error:  # noqa: BLE001 - every activity failure is recorded alike
        return BackendActionResult(
            order_id=push.order_id,
            stage=push.order_status,
            seq=push.seq,
            push=DeliveryResult(
                outcome=DeliveryOutcome.FAILED, error=str(error)[:MAX_FAILURE_TEXT]
            ),
        )
    return BackendActionResult.model_validate(output)
