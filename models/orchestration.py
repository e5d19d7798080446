"""Contracts between the starter, the order orchestrator and the BackendAction activity."""

from datetime import datetime
from enum import Enum
from typing import Annotated

from pydantic import Field

from models.base import Contract
from models.orders import OrderItem
from models.push import DeliveryResult
from models.stages import Stage


class PushRetryPolicy(Contract):
    """How often the durable retry policy tries a push that failed transiently."""

    max_attempts: Annotated[int, Field(ge=1, le=20)]
    first_retry_milliseconds: Annotated[int, Field(ge=1)]


class OrderInput(Contract):
    """The orchestration's input.

    Settings the flow depends on travel in the input, read once by the starter: an
    orchestrator must not read the environment, since a replay after a settings change
    would otherwise take a different path than the history it replays.
    """

    order_id: str
    reg_id: str
    items: list[OrderItem]
    approval_timeout_seconds: Annotated[int, Field(ge=1)]
    push_retry: PushRetryPolicy


class BackendActionInput(Contract):
    """The BackendAction activity's input: which stage to push to which device."""

    order_id: str
    reg_id: str
    order_status: Stage
    seq: Annotated[int, Field(ge=1)]


class BackendActionResult(Contract):
    """What one BackendAction did: the stage it announced and how the push went."""

    order_id: str
    stage: Stage
    seq: int
    push: DeliveryResult


class ApprovalOutcome(str, Enum):
    """How the wait for a decision ended."""

    APPROVED = "approved"
    DECLINED = "declined"
    EXPIRED = "expired"
    INVALID = "invalid"


class ApprovalState(Contract):
    """The approval request as the customer and staff see it."""

    requested_at: datetime
    expires_at: datetime
    outcome: ApprovalOutcome | None = None
    note: str | None = None
    decided_at: datetime | None = None


class TimelineEntry(Contract):
    """A stage the order reached, when, and how the push that announced it went."""

    stage: Stage
    at: datetime
    seq: int
    push: DeliveryResult


class OrderCustomStatus(Contract):
    """The orchestration's custom status: the single source of what the customer sees."""

    stage: Stage
    timeline: list[TimelineEntry]
    approval: ApprovalState | None = None
