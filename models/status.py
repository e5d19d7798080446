"""What the mobile app reads from ``GET /api/orders/{orderId}``."""

from models.base import Contract
from models.orchestration import ApprovalState, BackendActionResult, TimelineEntry
from models.stages import Stage


class OrderStatusView(Contract):
    """The customer's view of an order: the stage, its history, and the outcome once ended."""

    order_id: str
    stage: Stage
    runtime_status: str
    timeline: list[TimelineEntry]
    approval: ApprovalState | None = None
    result: list[BackendActionResult] | None = None
