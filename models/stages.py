"""The stages a customer sees on the phone, in the order the flow passes them."""

from enum import Enum


class Stage(str, Enum):
    """A customer-facing stage of an order; the value is what the app and the pushes carry."""

    RECEIVED = "received"
    PROCESSING = "processing"
    AWAITING_APPROVAL = "awaiting_approval"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """True for the stages an order ends in."""
        return self in TERMINAL_STAGES


TERMINAL_STAGES = frozenset({Stage.FINISHED, Stage.CANCELLED, Stage.EXPIRED})
