"""FCM-shaped error answers: ``{"error": {"code", "message", "status", "details"}}``."""

from typing import Any

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
"""The ``@type`` of the detail that carries FCM's own error code."""

# HTTP status -> (gRPC status name, FCM error code, message), as FCM answers them.
_CANNED: dict[int, tuple[str, str, str]] = {
    400: (
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
    ),
    401: ("UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", "Auth error from APNS or Web Push Service"),
    403: ("PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"),
    404: ("NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for sending messages."),
    500: ("INTERNAL", "INTERNAL", "Internal error encountered."),
    502: ("UNAVAILABLE", "UNAVAILABLE", "Bad gateway."),
    503: ("UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
    504: ("DEADLINE_EXCEEDED", "UNAVAILABLE", "Deadline exceeded."),
}


class FcmError(Exception):
    """An error FCM would answer with; ``body()`` is its JSON."""

    def __init__(self, status: int, message: str, *, grpc_status: str, error_code: str) -> None:
        """An answer of HTTP ``status`` with the given message and codes."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.grpc_status = grpc_status
        self.error_code = error_code

    def body(self) -> dict[str, Any]:
        """The error's JSON body, shaped like FCM's."""
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "status": self.grpc_status,
                "details": [{"@type": FCM_ERROR_TYPE, "errorCode": self.error_code}],
            }
        }


def invalid_argument(message: str) -> FcmError:
    """A 400 INVALID_ARGUMENT about the message (not the token)."""
    return FcmError(400, message, grpc_status="INVALID_ARGUMENT", error_code="INVALID_ARGUMENT")


def unauthenticated(message: str) -> FcmError:
    """A 401 for a request without usable credentials."""
    return FcmError(401, message, grpc_status="UNAUTHENTICATED", error_code="UNSPECIFIED_ERROR")


def unregistered() -> FcmError:
    """A 404 UNREGISTERED: the token is gone and should be forgotten."""
    return canned(404)


def canned(status: int) -> FcmError:
    """The error FCM typically answers with ``status``, for injected faults."""
    grpc_status, error_code, message = _CANNED.get(
        status, ("UNKNOWN", "UNSPECIFIED_ERROR", f"Injected HTTP {status}.")
    )
    return FcmError(status, message, grpc_status=grpc_status, error_code=error_code)
