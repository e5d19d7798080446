"""The order orchestrator: the customer's experience, one stage at a time.

received -> processing -> awaiting_approval -> finished | cancelled | expired.
Every stage is pushed to the customer's phone by the BackendAction activity and published
in the custom status the status route reads.
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


@bp.orchestration_trigger(context_name="context", orchestration=ORDER_ORCHESTRATOR)
def order_orchestrator(context: df.DurableOrchestrationContext) -> Flow:
    """Take an order from the kitchen's first look to the customer's pizza."""
    order = OrderInput.model_validate(context.get_input())
    journey = OrderJourney(order)

    received = yield from announce(context, journey, order, Stage.RECEIVED)
    processing = yield from announce(context, journey, order, Stage.PROCESSING)
    (outcome, note), asked = yield from ask_customer_to_accept_change(context, journey, order)
    final_stage = journey.decide(outcome, note, context.current_utc_datetime)
    final = yield from announce(context, journey, order, final_stage)

    return [result.to_json_dict() for result in (received, processing, asked, final)]


def announce(
    context: df.DurableOrchestrationContext,
    journey: OrderJourney,
    order: OrderInput,
    stage: Stage,
) -> Flow:
    """Move the order to ``stage``, push it to the phone, and record how the push went."""
    push = journey.reach(stage, context.current_utc_datetime)
    context.set_custom_status(journey.custom_status())
    task = start_push(context, order, push)
    result = yield from settle_push(task, push)
    journey.record_push(result)
    context.set_custom_status(journey.custom_status())
    return result


def ask_customer_to_accept_change(
    context: df.DurableOrchestrationContext, journey: OrderJourney, order: OrderInput
) -> Flow:
    """Ask the customer (through staff) to accept a change, and wait once for the decision.

    The custom status says ``awaiting_approval`` in the same episode that starts the wait,
    and the approve route raises the event only while it says so: no approval is ever
    buffered before this wait, which the SDK would otherwise re-deliver to later waits.
    The push asking the customer runs while we already wait.
    """
    now = context.current_utc_datetime
    expires_at = now + timedelta(seconds=order.approval_timeout_seconds)
    push = journey.reach(Stage.AWAITING_APPROVAL, now)
    journey.request_approval(now, expires_at)
    push_task = start_push(context, order, push)
    decision = context.wait_for_external_event(APPROVAL_EVENT)
    deadline = context.create_timer(expires_at)
    context.set_custom_status(journey.custom_status())

    winner = yield context.task_any([decision, deadline])
    if winner is decision:
        deadline.cancel()
        outcome = read_decision(decision.result)
    else:
        outcome = (ApprovalOutcome.EXPIRED, None)

    asked = yield from settle_push(push_task, push)
    journey.record_push(asked)
    return outcome, asked


def start_push(
    context: df.DurableOrchestrationContext, order: OrderInput, push: BackendActionInput
) -> df.models.Task.TaskBase:
    """Schedule the BackendAction for one stage, retried by the durable retry policy."""
    retry = df.RetryOptions(
        first_retry_interval_in_milliseconds=order.push_retry.first_retry_milliseconds,
        max_number_of_attempts=order.push_retry.max_attempts,
    )
    return context.call_activity_with_retry(BACKEND_ACTION, retry, push.to_json_dict())


def settle_push(task: df.models.Task.TaskBase, push: BackendActionInput) -> Flow:
    """Wait for a push; when every attempt failed, record it as failed and go on.

    A push that could not be delivered must never cost the customer the order.
    """
    try:
        output = yield task
    except Exception as error:  # noqa: BLE001 - any activity failure is recorded the same way
        return BackendActionResult(
            order_id=push.order_id,
            stage=push.order_status,
            seq=push.seq,
            push=DeliveryResult(
                outcome=DeliveryOutcome.FAILED, error=str(error)[:MAX_FAILURE_TEXT]
            ),
        )
    return BackendActionResult.model_validate(output)
