"""The staff's list of orders: ``GET /api/orders?stage=...``, newest first, a page at a time.

It answers from the durable client alone: each order's runtime status, its custom status
(which carries the stage and the approval request) and its input (the items). The durable
query returns instances in no useful order, so every instance the stage can be in is read
(``instance_pages``) and sorted here; the continuation token this route hands out is a
position in that order, not the durable query's own token.
"""

import base64
import logging
from datetime import datetime, timedelta, timezone

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from pydantic import ValidationError

from constants import LIST_ORDERS_FUNCTION, ORDER_ORCHESTRATOR, ORDERS_ROUTE
from http_triggers.instance_pages import InstanceQueryFailed, all_instances
from http_triggers.order_views import custom_status_of, items_of
from http_triggers.responses import (
    RequestRejected,
    error_response,
    json_response,
    service_unavailable,
)
from models.errors import details_from_validation
from models.listing import ListPosition, OrderList, OrderListQuery, OrderSummary
from models.stages import Stage

bp = df.Blueprint()
log = logging.getLogger(__name__)

# The function key may come as ``?code=``: the host checks it, the list ignores it.
KEY_PARAMETER = "code"
LIVE = (OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running,
        OrchestrationRuntimeStatus.Suspended)
# The durable query shows creation times to the second: a bound one second later keeps
# every instance created within the position's second.
CREATED_TIME_RESOLUTION = timedelta(seconds=1)


def runtime_statuses_for(stage: Stage | None) -> tuple[OrchestrationRuntimeStatus, ...]:
    """The runtime statuses an order at ``stage`` can have (empty: any).

    An order still at a stage before its end is live; one at a final stage completed. An
    order that failed or was terminated midway is listed only without a stage filter.
    """
    if stage is None:
        return ()
    if stage.is_terminal:
        return (OrchestrationRuntimeStatus.Completed,)
    return LIVE


def parse_query(req: func.HttpRequest) -> OrderListQuery:
    """The list's query, or ``RequestRejected`` (400) naming each bad or unknown parameter."""
    params = {name: value for name, value in req.params.items() if name != KEY_PARAMETER}
    try:
        return OrderListQuery.model_validate(params)
    except ValidationError as error:
        raise RequestRejected(error_response(
            400, "query is invalid", details_from_validation(error))) from None


def encode_position(position: ListPosition) -> str:
    """The continuation token for ``position``: its JSON, base64url without padding."""
    text = position.model_dump_json(by_alias=True).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode_position(token: str) -> ListPosition:
    """The position a token of ``encode_position`` holds, or ``RequestRejected`` (400)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return ListPosition.model_validate_json(raw)
    except (ValueError, ValidationError):
        raise RequestRejected(error_response(
            400, "continuationToken is not one this list handed out",
            [{"field": "continuationToken", "message": "start again without it"}])) from None


def _utc(moment: datetime) -> datetime:
    """``moment`` as aware UTC (a naive time is taken as UTC, as the durable query means it)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def summary_of(status: DurableOrchestrationStatus, stage: Stage | None) -> OrderSummary | None:
    """The list entry for ``status``, or None when it is no order or not at ``stage``.

    ``awaiting_approval`` means still undecided: an order whose decision is recorded but
    whose final stage is not yet pushed has left the staff's list.
    """
    if (status.name or "").casefold() != ORDER_ORCHESTRATOR.casefold():
        return None
    if not status.instance_id or status.created_time is None:
        return None
    journey = custom_status_of(status)
    current = journey.stage if journey else Stage.RECEIVED
    approval = journey.approval if journey else None
    if stage is not None and current != stage:
        return None
    if stage == Stage.AWAITING_APPROVAL and approval is not None and approval.outcome:
        return None
    runtime = status.runtime_status.value if status.runtime_status else "Pending"
    return OrderSummary(order_id=status.instance_id, stage=current, runtime_status=runtime,
                        created_at=_utc(status.created_time), items=items_of(status),
                        approval=approval)


def _sort_key(summary: OrderSummary) -> tuple[datetime, str]:
    """Newest first: creation time, then order id, both descending."""
    return summary.created_at, summary.order_id


def page_of(summaries: list[OrderSummary], page_size: int,
            after: ListPosition | None) -> OrderList:
    """The page after ``after`` (from the start when None), newest first."""
    ordered = sorted(summaries, key=_sort_key, reverse=True)
    if after is not None:
        bound = (_utc(after.created_at), after.order_id)
        ordered = [summary for summary in ordered if _sort_key(summary) < bound]
    page = ordered[:page_size]
    token = None
    if len(ordered) > page_size:
        last = page[-1]
        token = encode_position(ListPosition(created_at=last.created_at,
                                             order_id=last.order_id))
    return OrderList(orders=page, continuation_token=token)


@bp.function_name(LIST_ORDERS_FUNCTION)
@bp.route(route=ORDERS_ROUTE, methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def list_orders(req: func.HttpRequest, client: df.DurableOrchestrationClient
                      ) -> func.HttpResponse:
    """A page of orders, newest first: ``stage`` filters, ``pageSize`` (1-100) sizes it,
    ``continuationToken`` (from the previous page) goes on. 400 names a bad parameter."""
    try:
        query = parse_query(req)
        after = (decode_position(query.continuation_token)
                 if query.continuation_token else None)
    except RequestRejected as rejected:
        return rejected.response
    created_to = _utc(after.created_at) + CREATED_TIME_RESOLUTION if after else None
    try:
        statuses = await all_instances(client, runtime_statuses_for(query.stage), created_to)
    except InstanceQueryFailed:
        log.exception("orders could not be listed")
        return service_unavailable()
    summaries = [summary for summary in (summary_of(status, query.stage) for status in statuses)
                 if summary is not None]
    return json_response(page_of(summaries, query.page_size, after).to_json_dict(), 200)
