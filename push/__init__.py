"""Push notifications through FCM HTTP v1 (pyfcm), with a failure policy fit for retries.

``sender_from_settings()`` gives a ``PushSender``; its ``send`` returns a
``models.push.DeliveryResult`` for final outcomes and raises ``TransientPushError`` for
those a later retry may fix. Nothing here knows about Durable Functions.
"""

from push.errors import TransientPushError
from push.factory import sender_from_settings
from push.message import PushMessage
from push.sender import PushSender

__all__ = ["PushMessage", "PushSender", "TransientPushError", "sender_from_settings"]
