"""The restaurant staff's route: approve or decline the change the customer was asked about."""

import logging

import azure.durable_functions as df
import azure.functions as func

from constants import APPROVAL_EVENT, APPROVE_FUNCTION, APPROVE_ROUTE, MAX_APPROVAL_BODY_BYTES
from http_triggers.order_views import custom_status_of, has_ended
from http_triggers.responses import (
    RequestRejected,
    error_response,
    json_response,
    order_id_from_route,
    parse_body,
    service_unavailable,
    status_url,
)
from models.approval import ApprovalAccepted, ApprovalDecision, ApprovalRequest
from models.stages import Stage

bp = df.Blueprint()
log = logging.getLogger(__name__)


def _refusal_for_raise_error(order_id: str, error: Exception) -> func.HttpResponse | None:
    """Map the SDK client's plain ``Exception`` for a refused event back to our answer."""
    text = str(error)
    if "is gone" in text:
        return error_response(410, "the order has already ended",
                              [{"field": "orderId", "message": order_id}])
    if "No instance" in text:
        return error_response(404, "no such order", [{"field": "orderId", "message": order_id}])
    return None


@bp.function_name(APPROVE_FUNCTION)
@bp.route(route=APPROVE_ROUTE, methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def approve_order(req: func.HttpRequest, client: df.DurableOrchestrationClient
                        ) -> func.HttpResponse:
    """Raise the ``Approval`` event, but only while the order is waiting for it.

    202 raised; 400 bad body; 404 unknown order; 409 not waiting (too early or already
    decided); 410 ended. An early approval is refused rather than buffered, because a
    buffered event would approve what nobody was asked yet.
    """
    try:
        order_id = order_id_from_route(req)
        request = parse_body(req, ApprovalRequest, MAX_APPROVAL_BODY_BYTES)
    except RequestRejected as rejected:
        return rejected.response

    try:
        status = await client.get_status(order_id)
    except Exception:
        log.exception("status of order %s could not be read", order_id)
        return service_unavailable()
    if not status:
        return error_response(404, "no such order", [{"field": "orderId", "message": order_id}])
    if has_ended(status):
        return error_response(410, "the order has already ended",
                              [{"field": "orderId", "message": order_id}])
    journey = custom_status_of(status)
    if journey is None or journey.stage != Stage.AWAITING_APPROVAL:
        stage = journey.stage.value if journey else Stage.RECEIVED.value
        return error_response(409, "the order is not waiting for approval",
                              [{"field": "stage", "message": stage}])
    if journey.approval is not None and journey.approval.outcome is not None:
        return error_response(409, "the order's approval was already decided",
                              [{"field": "approval", "message": journey.approval.outcome.value}])

    decision = ApprovalDecision(approved=request.approved, note=request.note)
    try:
        await client.raise_event(order_id, APPROVAL_EVENT, decision.to_json_dict())
    except Exception as error:
        refusal = _refusal_for_raise_error(order_id, error)
        if refusal is None:
            log.exception("approval of order %s could not be raised", order_id)
            return service_unavailable()
        return refusal
    log.info("order %s: approval %s raised", order_id, request.approved)
    accepted = ApprovalAccepted(order_id=order_id, approved=request.approved,
                                status_url=status_url(req, order_id))
    return json_response(accepted.to_json_dict(), 202)
