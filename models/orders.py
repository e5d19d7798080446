"""What the mobile app sends to place an order, and what it gets back."""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from models.base import NO_CONTROL_PATTERN, Contract, WireRequest, no_control_characters
from models.stages import Stage

ORDER_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"

OrderId = Annotated[str, StringConstraints(pattern=ORDER_ID_PATTERN)]
"""A client- or server-chosen order id; it is also the orchestration's instance id."""

# A token is printable ASCII without spaces (FCM and APNs tokens are letters, digits and
# ``-_:.``); anything else cannot reach a device.
PRINTABLE_ASCII_PATTERN = r"^[!-~]+$"

RegistrationToken = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4096,
                           pattern=PRINTABLE_ASCII_PATTERN)
]
"""An FCM registration token of the customer's device."""


class OrderItem(WireRequest):
    """One line of an order: what and how many."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                    AfterValidator(no_control_characters),
                    Field(json_schema_extra={"pattern": NO_CONTROL_PATTERN})]
    quantity: Annotated[int, Field(strict=True, ge=1, le=99)]


class PlaceOrderRequest(WireRequest):
    """The body of ``POST /api/orders``.

    ``order_id`` is optional: a client that sets it can retry the request safely, since a
    second start with the same id answers with the existing order.
    """

    reg_id: RegistrationToken
    items: Annotated[list[OrderItem], Field(min_length=1, max_length=50)]
    order_id: OrderId | None = None


class OrderAccepted(Contract):
    """The answer to a placed (or re-placed) order."""

    order_id: str
    stage: Stage
    status_url: str
