"""The interface every push sender offers."""

from typing import Protocol

from models.push import DeliveryResult
from push.message import PushMessage


class PushSender(Protocol):
    """Sends one message and says how it went.

    Returns a ``DeliveryResult`` for every outcome that trying again cannot change, and
    raises ``TransientPushError`` for the ones it might (429, 5xx, timeouts, no network).
    """

    def send(self, message: PushMessage) -> DeliveryResult:
        """Hand ``message`` to FCM once."""
        ...
