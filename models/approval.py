"""What restaurant staff send to decide on a change, and the event the orchestrator receives."""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from models.base import NO_CONTROL_BUT_LAYOUT_PATTERN, Contract, WireRequest, no_control_but_layout

# A note a person typed: no control characters but tab and line breaks.
Note = Annotated[str, StringConstraints(max_length=500), AfterValidator(no_control_but_layout),
                 Field(json_schema_extra={"pattern": NO_CONTROL_BUT_LAYOUT_PATTERN})]


class ApprovalRequest(WireRequest):
    """The body of ``POST /api/orders/{orderId}/approve``."""

    approved: Annotated[bool, Field(strict=True)]
    note: Note | None = None


class ApprovalDecision(Contract):
    """The payload of the ``Approval`` event, as the orchestrator validates it."""

    approved: Annotated[bool, Field(strict=True)]
    note: Note | None = None


class ApprovalAccepted(Contract):
    """The answer to a decision the route raised: which order, what was decided, where to look."""

    order_id: str
    approved: bool
    status_url: str
