"""The BackendAction activity: the restaurant's backend works a little, then tells the phone.

It is async: the backend's wait is an ``asyncio.sleep`` on the worker's event loop, so
waiting orders hold no thread of the worker's pool (``PYTHON_THREADPOOL_THREAD_COUNT``);
the push itself blocks (pyfcm uses ``requests``) and runs on the loop's default executor.
"""

import asyncio
import logging
import os

import azure.durable_functions as df

from constants import BACKEND_ACTION, DEFAULT_BACKEND_DELAY_SECONDS, SETTING_BACKEND_DELAY
from models.orchestration import BackendActionInput, BackendActionResult
from models.stages import Stage
from push import PushMessage, sender_from_settings
from push.traced import order_fields
from telemetry import order_scope

bp = df.Blueprint()
log = logging.getLogger(__name__)

# What the customer reads on the lock screen for each stage.
NOTIFICATION_TEXT: dict[Stage, tuple[str, str]] = {
    Stage.RECEIVED: ("Order received", "The restaurant has your order."),
    Stage.PROCESSING: ("Order in the kitchen", "The restaurant is preparing your order."),
    Stage.AWAITING_APPROVAL: (
        "Please approve a change",
        "The restaurant needs your OK for a change to your order.",
    ),
    Stage.FINISHED: ("Order ready", "Your order is ready. Enjoy your meal!"),
    Stage.CANCELLED: ("Order cancelled", "Your order was cancelled."),
    Stage.EXPIRED: ("Order expired", "We did not hear back in time, so the order was closed."),
}


def backend_delay_seconds() -> float:
    """The simulated backend work per stage, from ``BACKEND_ACTION_DELAY_SECONDS``."""
    raw = os.environ.get(SETTING_BACKEND_DELAY, "")
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_BACKEND_DELAY_SECONDS
    except ValueError:
        log.warning("%s=%r is not a number; using %s", SETTING_BACKEND_DELAY, raw,
                    DEFAULT_BACKEND_DELAY_SECONDS)
        return DEFAULT_BACKEND_DELAY_SECONDS


def stage_message(action: BackendActionInput) -> PushMessage:
    """The push for one stage: human text, machine data, one collapse key per order."""
    title, body = NOTIFICATION_TEXT[action.order_status]
    return PushMessage(
        token=action.reg_id,
        title=title,
        body=body,
        # The original Android client of this flow reads `stage`; `seq` lets it drop
        # duplicates and reorder, since FCM does not guarantee delivery order.
        data={"stage": action.order_status.value, "orderId": action.order_id,
              "seq": str(action.seq)},
        collapse_key=f"order-{action.order_id}",
    )


@bp.function_name(BACKEND_ACTION)
@bp.activity_trigger(input_name="action", activity=BACKEND_ACTION)
async def backend_action(action: dict) -> dict:
    """Do the stage's backend work, then push the stage to the customer's device.

    Transient push failures raise ``TransientPushError`` so the durable retry policy,
    not this activity, decides when to try again.
    """
    request = BackendActionInput.model_validate(action)
    await asyncio.sleep(backend_delay_seconds())
    sender = sender_from_settings()
    message = stage_message(request)
    delivery = await asyncio.to_thread(sender.send, message)
    # The line carries the order's fields as log attributes too, as the push's own do.
    with order_scope(order_fields(message)):
        log.info("order %s stage %s seq %s: push %s", request.order_id,
                 request.order_status.value, request.seq, delivery.outcome.value)
    result = BackendActionResult(
        order_id=request.order_id, stage=request.order_status, seq=request.seq, push=delivery
    )
    return result.to_json_dict()
