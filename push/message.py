"""What to push to one device, and how it maps onto FCM's message fields."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PushMessage:
    """One notification for one device.

    ``data`` values must be strings (FCM refuses anything else); ``collapse_key`` lets a
    newer message replace an older one still waiting on the device.
    """

    token: str
    title: str
    body: str
    data: dict[str, str]
    collapse_key: str


def notify_arguments(message: PushMessage) -> dict[str, Any]:
    """Return the keyword arguments of pyfcm's ``notify``/``parse_payload`` for a message."""
    return {
        "fcm_token": message.token,
        "notification_title": message.title,
        "notification_body": message.body,
        # A copy, so the payload cannot change under pyfcm if the caller's dict does.
        "data_payload": dict(message.data),
        "android_config": {"collapse_key": message.collapse_key, "priority": "high"},
        "apns_config": {
            "headers": {
                "apns-collapse-id": message.collapse_key,
                # 10 = deliver now with an alert: the APNs side of "priority high".
                "apns-priority": "10",
            }
        },
    }
