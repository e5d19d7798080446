"""The mobile app's routes: place an order, read its status. Both anonymous."""

import logging
import uuid

import azure.durable_functions as df
import azure.functions as func

from constants import (
    MAX_ORDER_BODY_BYTES,
    ORDER_ORCHESTRATOR,
    ORDER_STATUS_FUNCTION,
    ORDER_STATUS_ROUTE,
    ORDERS_ROUTE,
    PLACE_ORDER_FUNCTION,
)
from http_triggers.order_settings import approval_timeout_seconds, push_retry_policy
from http_triggers.order_views import custom_status_of, input_of, order_view
from http_triggers.responses import (
    RequestRejected,
    error_response,
    json_response,
    order_id_from_route,
    parse_body,
    service_unavailable,
    status_url,
)
from models.orchestration import OrderInput
from models.orders import OrderAccepted, PlaceOrderRequest
from models.stages import Stage

bp = df.Blueprint()
log = logging.getLogger(__name__)


def _accepted(req: func.HttpRequest, order_id: str, stage: Stage, status: int
              ) -> func.HttpResponse:
    """The answer to a placed order: where to watch it, never a management URL."""
    url = status_url(req, order_id)
    body = OrderAccepted(order_id=order_id, stage=stage, status_url=url)
    return json_response(body.to_json_dict(), status, headers={"Location": url})


def _same_order(existing_input: object, order: OrderInput) -> bool:
    """Whether a retried start describes the order that already runs under its id."""
    if not isinstance(existing_input, dict):
        return False
    return (existing_input.get("regId") == order.reg_id
            and existing_input.get("items") == [i.to_json_dict() for i in order.items])


async def _answer_existing(req: func.HttpRequest, client: df.DurableOrchestrationClient,
                           order: OrderInput) -> func.HttpResponse | None:
    """Answer a start whose order id already exists, or None when it does not exist."""
    status = await client.get_status(order.order_id, show_input=True)
    if not status:
        return None
    if not _same_order(input_of(status), order):
        return error_response(409, "orderId is already used by a different order",
                              [{"field": "orderId", "message": "choose a new order id"}])
    journey = custom_status_of(status)
    return _accepted(req, order.order_id, journey.stage if journey else Stage.RECEIVED, 200)


@bp.function_name(PLACE_ORDER_FUNCTION)
@bp.route(route=ORDERS_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def place_order(req: func.HttpRequest, client: df.DurableOrchestrationClient
                      ) -> func.HttpResponse:
    """Place an order: validate it, start its orchestration once, point at its status.

    202 for a new order; 200 with the current stage when the same order id was already
    placed with the same content (a safe retry); 409 when that id holds another order.
    """
    try:
        request = parse_body(req, PlaceOrderRequest, MAX_ORDER_BODY_BYTES)
    except RequestRejected as rejected:
        return rejected.response
    order = OrderInput(
        order_id=request.order_id or uuid.uuid4().hex,
        reg_id=request.reg_id,
        items=request.items,
        approval_timeout_seconds=approval_timeout_seconds(),
        push_retry=push_retry_policy(),
    )
    try:
        return await _start_once(req, client, order)
    except Exception:
        log.exception("order %s could not be started", order.order_id)
        return service_unavailable()


async def _start_once(req: func.HttpRequest, client: df.DurableOrchestrationClient,
                      order: OrderInput) -> func.HttpResponse:
    """Start the order unless its id exists; answer with the existing order if it does."""
    existing = await _answer_existing(req, client, order)
    if existing is not None:
        return existing
    try:
        await client.start_new(ORDER_ORCHESTRATOR, order.order_id, order.to_json_dict())
    except Exception:
        # Another request with the same id may have started it between our check and
        # this start: then answer with that order rather than fail.
        existing = await _answer_existing(req, client, order)
        if existing is not None:
            return existing
        raise
    log.info("order %s placed with %d items", order.order_id, len(order.items))
    return _accepted(req, order.order_id, Stage.RECEIVED, 202)


@bp.function_name(ORDER_STATUS_FUNCTION)
@bp.route(route=ORDER_STATUS_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def order_status(req: func.HttpRequest, client: df.DurableOrchestrationClient
                       ) -> func.HttpResponse:
    """The order's items, stage and timeline as the customer sees them; 404 for an unknown order."""
    try:
        order_id = order_id_from_route(req)
    except RequestRejected as rejected:
        return rejected.response
    try:
        status = await client.get_status(order_id, show_input=True)
    except Exception:
        log.exception("status of order %s could not be read", order_id)
        return service_unavailable()
    if not status:
        return error_response(404, "no such order", [{"field": "orderId", "message": order_id}])
    return json_response(order_view(order_id, status).to_json_dict(), 200)
