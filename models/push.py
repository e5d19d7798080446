"""Contracts for the outcome of one push notification."""

from enum import Enum
from typing import Annotated

from pydantic import Field

from models.base import Contract


class DeliveryOutcome(str, Enum):
    """How one push ended, as far as the order flow needs to know."""

    SENT = "sent"
    UNREGISTERED = "unregistered"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - an outcome name, not a secret
    CONFIG_ERROR = "config_error"
    NOT_CONFIGURED = "not_configured"
    FAILED = "failed"


class DeliveryResult(Contract):
    """The result of handing one message to FCM.

    ``message_id`` is FCM's ``name`` on success; ``error`` a short human reason when the
    push did not go out; ``status_code`` the HTTP status FCM answered, when there was one.
    """

    outcome: DeliveryOutcome
    message_id: Annotated[str, Field(min_length=1)] | None = None
    error: Annotated[str, Field(min_length=1)] | None = None
    status_code: Annotated[int, Field(ge=100, le=599)] | None = None

    @property
    def delivered(self) -> bool:
        """True when FCM accepted the message."""
        return self.outcome is DeliveryOutcome.SENT
