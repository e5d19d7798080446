"""What each HTTP route takes and answers, as data the OpenAPI document is generated from.

One entry per route function: its name, route and method (the constants its decorator
uses), whether it needs the function key, the pydantic models of its body, query and
answers, and every status it answers. ``tests/app/test_openapi.py`` checks these entries
against the functions the app really registers, and schemathesis checks the answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from constants import (
    APPROVE_FUNCTION,
    APPROVE_ROUTE,
    LIST_ORDERS_FUNCTION,
    MAX_APPROVAL_BODY_BYTES,
    MAX_ORDER_BODY_BYTES,
    OPENAPI_FUNCTION,
    OPENAPI_ROUTE,
    ORDER_STATUS_FUNCTION,
    ORDER_STATUS_ROUTE,
    ORDERS_ROUTE,
    PLACE_ORDER_FUNCTION,
    STAFF_CONSOLE_FUNCTION,
    STAFF_CONSOLE_ROUTE,
)
from http_triggers.staff import ASSETS
from models.approval import ApprovalAccepted, ApprovalRequest
from models.errors import ErrorBody
from models.listing import OrderList, OrderListQuery
from models.orders import OrderAccepted, OrderId, PlaceOrderRequest
from models.status import OrderStatusView

JSON = "application/json"
# Header names the answers document.
LOCATION = "Location"
RETRY_AFTER = "Retry-After"

# The ``asset`` route parameter: one of the page's file names.
ASSET_NAME_SCHEMA = {"type": "string", "enum": list(ASSETS)}


@dataclass(frozen=True)
class Answer:
    """One status a route answers: what it means, its body, the headers it always carries.

    ``body`` is a pydantic model (JSON), or a map of media type to None for text bodies
    (pages, scripts), or None for no defined body.
    """

    status: int
    description: str
    body: type[BaseModel] | dict[str, None] | None = None
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    """One HTTP function as the API document shows it."""

    function: str
    route: str
    method: Literal["GET", "POST"]
    summary: str
    answers: tuple[Answer, ...]
    needs_function_key: bool = False
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    # Each route parameter's type (or JSON schema), by name; the route template names them.
    path_types: dict[str, object] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


def _error(status: int, description: str) -> Answer:
    """An answer with the app's one error shape."""
    return Answer(status, description, ErrorBody)


UNAVAILABLE = Answer(503, "The task hub's storage cannot be reached; retry after the delay.",
                     ErrorBody, (RETRY_AFTER,))
NO_KEY = Answer(401, "No function key, or not a key of this app (`x-functions-key` or `code`).")
BAD_ORDER_ID = _error(400, "The order id is not 8-64 of A-Z a-z 0-9 _ -.")

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        PLACE_ORDER_FUNCTION, ORDERS_ROUTE, "POST", "Place an order (the mobile app)",
        body=PlaceOrderRequest, tags=("mobile app",),
        answers=(
            Answer(202, "A new order was started.", OrderAccepted, (LOCATION,)),
            Answer(200, "The same order (id and content) was placed before: nothing new "
                        "was started.", OrderAccepted, (LOCATION,)),
            _error(400, "The body is not JSON or not a valid order; details name the fields."),
            _error(409, "The orderId is used by a different order."),
            _error(413, f"The body is larger than {MAX_ORDER_BODY_BYTES} bytes."),
            UNAVAILABLE,
        )),
    Operation(
        LIST_ORDERS_FUNCTION, ORDERS_ROUTE, "GET",
        "List orders, newest first, a page at a time (staff)",
        needs_function_key=True, query=OrderListQuery, tags=("staff",),
        answers=(
            Answer(200, "A page of orders; continuationToken fetches the next.", OrderList),
            _error(400, "A query parameter is invalid or unknown; details name it."),
            NO_KEY,
            UNAVAILABLE,
        )),
    Operation(
        ORDER_STATUS_FUNCTION, ORDER_STATUS_ROUTE, "GET", "Read an order's status (mobile app)",
        path_types={"orderId": OrderId}, tags=("mobile app",),
        answers=(
            Answer(200, "The order: items, stage, timeline, approval, result once ended.",
                   OrderStatusView),
            BAD_ORDER_ID,
            _error(404, "No such order."),
            UNAVAILABLE,
        )),
    Operation(
        APPROVE_FUNCTION, APPROVE_ROUTE, "POST",
        "Approve or decline the change the customer was asked about (staff)",
        needs_function_key=True, body=ApprovalRequest, path_types={"orderId": OrderId},
        tags=("staff",),
        answers=(
            Answer(202, "The decision was sent to the order.", ApprovalAccepted),
            _error(400, "The order id or the body is invalid; details name the fields."),
            NO_KEY,
            _error(404, "No such order."),
            _error(409, "The order is not waiting for approval: too early, or already "
                        "decided (details name the stage or the outcome)."),
            _error(410, "The order has ended (expired, finished or cancelled)."),
            _error(413, f"The body is larger than {MAX_APPROVAL_BODY_BYTES} bytes."),
            UNAVAILABLE,
        )),
    Operation(
        STAFF_CONSOLE_FUNCTION, STAFF_CONSOLE_ROUTE, "GET",
        "The staff console page, or one of the files it loads",
        path_types={"asset": ASSET_NAME_SCHEMA}, tags=("staff",),
        answers=(
            Answer(200, "The page (without asset) or the named file.",
                   {"text/html": None, "text/javascript": None, "text/css": None}),
            _error(404, "No such file."),
        )),
    Operation(
        OPENAPI_FUNCTION, OPENAPI_ROUTE, "GET", "This document",
        answers=(Answer(200, "The OpenAPI 3.1 document of the app's routes.",
                        {JSON: None}),)),
)
