"""What restaurant staff ask ``GET /api/orders`` for, and the page of orders it answers."""

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from constants import DEFAULT_LIST_PAGE_SIZE, MAX_LIST_PAGE_SIZE
from models.base import Contract, WireRequest
from models.orchestration import ApprovalState
from models.orders import OrderItem
from models.stages import Stage

# An opaque position in the newest-first list: base64url text, as the route hands it out.
LIST_POSITION_PATTERN = r"^[A-Za-z0-9_-]{1,1024}$"

ContinuationToken = Annotated[str, StringConstraints(pattern=LIST_POSITION_PATTERN)]


class OrderListQuery(WireRequest):
    """The query string of ``GET /api/orders``; any other parameter is refused.

    ``stage`` keeps the orders at that stage (``awaiting_approval``: still undecided);
    without it every order is listed.
    """

    stage: Stage | None = None
    page_size: Annotated[int, Field(ge=1, le=MAX_LIST_PAGE_SIZE)] = DEFAULT_LIST_PAGE_SIZE
    continuation_token: ContinuationToken | None = None


class ListPosition(Contract):
    """Where a page of the list ended: the last order's creation time and id.

    The list is ordered newest first by (creation time, order id), so the next page is
    every order that sorts after this one; orders placed meanwhile sort before it and never
    shift a later page.
    """

    created_at: datetime
    order_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class OrderSummary(Contract):
    """One order as the staff list shows it."""

    order_id: str
    stage: Stage
    runtime_status: str
    created_at: datetime
    items: list[OrderItem]
    approval: ApprovalState | None = None


class OrderList(Contract):
    """A page of orders, newest first; ``continuation_token`` fetches the next page."""

    orders: list[OrderSummary]
    continuation_token: str | None = None
