"""FCM's rules for a send request, enforced the way FCM answers when one is broken."""

import json
from typing import Any

from fcm_emulator.errors import invalid_argument

MAX_MESSAGE_BYTES = 4096
"""The largest message FCM takes, measured as compact UTF-8 JSON of ``message``."""

MAX_APNS_COLLAPSE_ID_BYTES = 64
"""APNs refuses a longer ``apns-collapse-id``."""

_TARGETS = ("token", "topic", "condition")
_RESERVED_KEYS = frozenset({"from", "message_type", "collapse_key"})
# FCM's docs reserve "any word starting with google or gcm" (which covers ``gcm`` and
# ``google.*``).
_RESERVED_PREFIXES = ("google", "gcm")
_ANDROID_PRIORITIES = frozenset({"normal", "high"})


def parse_send_body(raw: bytes) -> tuple[dict[str, Any], bool]:
    """Return (message, validate_only) from a send request body, or raise ``FcmError``."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid_argument("Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise invalid_argument("Invalid JSON payload received. Expected an object.")
    message = body.get("message")
    if not isinstance(message, dict):
        raise invalid_argument("Invalid value at 'message': a message object is required.")
    # The REST API takes proto field names in either spelling.
    validate_only = body.get("validate_only", body.get("validateOnly", False))
    if not isinstance(validate_only, bool):
        raise invalid_argument("Invalid value at 'validate_only' (TYPE_BOOL).")
    check_message(message)
    return message, validate_only


def check_message(message: dict[str, Any]) -> None:
    """Raise ``FcmError`` (400) when FCM would refuse the message."""
    _check_target(message)
    _check_data(message.get("data"))
    _check_notification(message.get("notification"))
    _check_android(message.get("android"))
    _check_apns(message.get("apns"))
    size = len(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise invalid_argument(
            f"Message is too big: {size} bytes, the limit is {MAX_MESSAGE_BYTES} bytes."
        )


def _check_target(message: dict[str, Any]) -> None:
    """Exactly one of token, topic and condition, as a non-empty string."""
    present = [name for name in _TARGETS if name in message]
    if not present:
        raise invalid_argument("Recipient of the message is not set.")
    if len(present) > 1:
        raise invalid_argument(
            f"Invalid value at 'message' (oneof), oneof field 'target' is already set. "
            f"Cannot set '{present[1]}'"
        )
    target = present[0]
    value = message[target]
    if not isinstance(value, str) or not value:
        if target == "token":
            raise invalid_argument("The registration token is not a valid FCM registration token")
        raise invalid_argument(f"Invalid value at 'message.{target}' (TYPE_STRING).")


def reserved_data_key(key: str) -> bool:
    """True for a data key FCM keeps for itself."""
    lowered = key.lower()
    return lowered in _RESERVED_KEYS or lowered.startswith(_RESERVED_PREFIXES)


def _check_data(data: Any) -> None:
    """A map of non-reserved string keys to string values."""
    if data is None:
        return
    if not isinstance(data, dict):
        raise invalid_argument("Invalid value at 'message.data' (map<string, string>).")
    for index, (key, value) in enumerate(data.items()):
        if reserved_data_key(key):
            raise invalid_argument(f"Invalid data payload key: {key}")
        if not isinstance(value, str):
            raise invalid_argument(
                f"Invalid value at 'message.data[{index}].value' (TYPE_STRING), {json.dumps(value)}"
            )


def _check_strings(where: str, obj: Any, fields: tuple[str, ...]) -> None:
    """The object is a JSON object and the named fields, where present, are strings."""
    if obj is None:
        return
    if not isinstance(obj, dict):
        raise invalid_argument(f"Invalid value at '{where}': an object is required.")
    for name in fields:
        if name in obj and not isinstance(obj[name], str):
            raise invalid_argument(f"Invalid value at '{where}.{name}' (TYPE_STRING).")


def _check_notification(notification: Any) -> None:
    """Title, body and image are strings."""
    _check_strings("message.notification", notification, ("title", "body", "image"))


def _check_android(android: Any) -> None:
    """Collapse key is a string and the priority one of FCM's two."""
    _check_strings("message.android", android, ("collapse_key", "priority", "ttl"))
    priority = android.get("priority") if isinstance(android, dict) else None
    if priority is not None and priority.lower() not in _ANDROID_PRIORITIES:
        raise invalid_argument(
            f"Invalid value at 'message.android.priority' (type.googleapis.com/"
            f'google.firebase.fcm.v1.AndroidMessagePriority), "{priority}"'
        )


def _check_apns(apns: Any) -> None:
    """Headers are strings and the collapse id short enough for APNs."""
    _check_strings("message.apns", apns, ())
    headers = apns.get("headers") if isinstance(apns, dict) else None
    if headers is None:
        return
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise invalid_argument("Invalid value at 'message.apns.headers' (map<string, string>).")
    collapse_id = headers.get("apns-collapse-id")
    if collapse_id is not None and len(collapse_id.encode("utf-8")) > MAX_APNS_COLLAPSE_ID_BYTES:
        raise invalid_argument(
            f"apns-collapse-id must not exceed {MAX_APNS_COLLAPSE_ID_BYTES} bytes."
        )
