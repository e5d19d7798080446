"""Turn FCM's HTTP answer into a delivery result, or a transient error to retry later."""

import logging
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from models.push import DeliveryOutcome, DeliveryResult
from push.errors import TransientPushError

logger = logging.getLogger(__name__)

_MAX_REASON_CHARS = 300
_TRANSIENT_STATUSES = frozenset({408, 429})
_FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Return the seconds a ``Retry-After`` header asks to wait, or None if absent or unreadable.

    The header is either a number of seconds or an HTTP date; ``now`` is the clock the
    date is measured against.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # HTTP dates are GMT; a naive one cannot be placed in time
            return None
        seconds = when.timestamp() - now()
    if seconds != seconds:  # NaN: the header was nonsense
        return None
    return max(0.0, seconds)


def _error_fields(body: Any) -> tuple[str | None, str, Mapping[str, Any]]:
    """Return (FCM error code, message, the whole error object) from an error body."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, "", {}
    raw_message, raw_status = error.get("message"), error.get("status")
    message = raw_message if isinstance(raw_message, str) else ""
    code = raw_status if isinstance(raw_status, str) else None
    for detail in error.get("details") or []:
        # FCM's own error code is more precise than the gRPC status (UNREGISTERED vs NOT_FOUND).
        if isinstance(detail, dict) and detail.get("@type") == _FCM_ERROR_TYPE:
            fcm_code = detail.get("errorCode")
            if isinstance(fcm_code, str) and fcm_code:
                code = fcm_code
    return code, message, error


def _reason(status: int, code: str | None, message: str) -> str:
    """A short human reason such as ``UNREGISTERED: Requested entity was not found.``."""
    text = f"{code or f'HTTP {status}'}: {message or 'no message'}"
    return text if len(text) <= _MAX_REASON_CHARS else text[: _MAX_REASON_CHARS - 3] + "..."


def _about_token(message: str, error: Mapping[str, Any]) -> bool:
    """True when a 400 blames the registration token rather than the rest of the message."""
    lowered = message.lower()
    if "registration token" in lowered or "message.token" in lowered:
        return True
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("@type") == _BAD_REQUEST_TYPE:
            for violation in detail.get("fieldViolations") or []:
                if isinstance(violation, dict) and violation.get("field") == "message.token":
                    return True
    return False


def _json_or_none(response: Any) -> Any:
    """The response body as JSON, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def delivery_from_response(response: Any) -> DeliveryResult:
    """Classify one FCM HTTP v1 response (a ``requests.Response``).

    Returns the result for outcomes that retrying cannot change; raises
    ``TransientPushError`` for those worth another try (408, 429, 5xx).
    """
    status: int = response.status_code
    body = _json_or_none(response)
    if status == 200:
        name = body.get("name") if isinstance(body, dict) else None
        if isinstance(name, str) and name:
            return DeliveryResult(outcome=DeliveryOutcome.SENT, message_id=name, status_code=200)
        # pyfcm also treats an empty 200 as a server fault; FCM never answers so on success.
        raise TransientPushError("FCM answered 200 without a message name", status_code=200)

    code, message, error = _error_fields(body)
    reason = _reason(status, code, message)
    if status in _TRANSIENT_STATUSES or status >= 500:
        raise TransientPushError(
            reason,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            status_code=status,
        )
    if status == 404:
        return DeliveryResult(
            outcome=DeliveryOutcome.UNREGISTERED, error=reason, status_code=status
        )
    if status == 400 and _about_token(message, error):
        return DeliveryResult(
            outcome=DeliveryOutcome.INVALID_TOKEN, error=reason, status_code=status
        )
    if status in (401, 403):
        # Wrong key, wrong project or a broken APNs/web-push setup: no device is at fault,
        # so the token is kept and someone has to fix the settings.
        logger.error(
            "FCM refused the sender (HTTP %d), a configuration problem: %s", status, reason
        )
        return DeliveryResult(
            outcome=DeliveryOutcome.CONFIG_ERROR, error=reason, status_code=status
        )
    # Any other 4xx refuses this very message; sending it again would be refused again.
    logger.error("FCM refused the message (HTTP %d): %s", status, reason)
    return DeliveryResult(outcome=DeliveryOutcome.FAILED, error=reason, status_code=status)
