"""FCM's size and naming rules, checked before a message leaves the process.

A message that breaks them would be refused with a 400 anyway; catching it here gives a
precise reason and spares a request that can never succeed.
"""

import json
from collections.abc import Mapping
from typing import Any

MAX_MESSAGE_BYTES = 4096
"""FCM's limit on one message, measured here as its compact UTF-8 JSON."""

MAX_COLLAPSE_ID_BYTES = 64
"""APNs refuses an ``apns-collapse-id`` longer than this."""

_RESERVED_KEYS = frozenset({"from", "message_type", "collapse_key"})
_RESERVED_PREFIXES = ("google", "gcm")


def reserved_data_key(key: str) -> bool:
    """True for a data key FCM keeps for itself (``from``, ``google.*``, ``gcm*`` ...)."""
    lowered = key.lower()
    return lowered in _RESERVED_KEYS or lowered.startswith(_RESERVED_PREFIXES)


def data_problem(data: Mapping[str, object]) -> str | None:
    """Return why FCM would refuse these data entries, or None when it would take them."""
    for key, value in data.items():
        if not isinstance(key, str) or not key:
            return f"data key {key!r} is not a non-empty string"
        if reserved_data_key(key):
            return f"data key {key!r} is reserved by FCM"
        if not isinstance(value, str):
            return f"data value of {key!r} is {type(value).__name__}, FCM takes only strings"
    return None


def collapse_key_problem(collapse_key: str) -> str | None:
    """Return why the collapse key cannot be used on every platform, or None."""
    size = len(collapse_key.encode("utf-8"))
    if size > MAX_COLLAPSE_ID_BYTES:
        return f"collapse key is {size} bytes, APNs allows {MAX_COLLAPSE_ID_BYTES}"
    return None


def size_problem(wire_message: Mapping[str, Any]) -> str | None:
    """Return why the message (the value of ``"message"`` on the wire) is too big, or None."""
    size = len(json.dumps(wire_message, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        return f"message is {size} bytes, FCM allows {MAX_MESSAGE_BYTES}"
    return None
