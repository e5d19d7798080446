"""What the mobile app reads from ``GET /api/orders/{orderId}``."""

from models.base import Contract
from models.orchestration import ApprovalState, BackendActionResult, TimelineEntry
from models.orders import OrderItem
from models.stages import Stage


class OrderStatusView(Contract):
    """The customer's view of an order: what was ordered, the stage, its history, the outcome."""

    order_id: str
    stage: Stage
    items: list[OrderItem]
    runtime_status: str
    timeline: list[TimelineEntry]
    approval: ApprovalState | None = None
    result: list[BackendActionResult] | None = None
