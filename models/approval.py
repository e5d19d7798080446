"""What restaurant staff send to decide on a change, and the event the orchestrator receives."""

from typing import Annotated

from pydantic import Field, StringConstraints

from models.base import Contract, WireRequest

Note = Annotated[str, StringConstraints(max_length=500)]


class ApprovalRequest(WireRequest):
    """The body of ``POST /api/orders/{orderId}/approve``."""

    approved: Annotated[bool, Field(strict=True)]
    note: Note | None = None


class ApprovalDecision(Contract):
    """The payload of the ``Approval`` event, as the orchestrator validates it."""

    approved: Annotated[bool, Field(strict=True)]
    note: Note | None = None
