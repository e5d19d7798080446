"""The one exception the push package raises: a failure worth trying again later."""


class TransientPushError(Exception):
    """FCM could not take the message now (429, 5xx, timeout, connection error).

    The caller's retry policy decides when to try again; ``retry_after`` carries the
    seconds FCM asked to wait (its ``Retry-After`` header), when it gave any.
    """

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        status_code: int | None = None,
    ) -> None:
        """Keep the reason as the message, plus FCM's wait hint and HTTP status."""
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.status_code = status_code

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments are lost by the default pickling of exceptions; keep them
        # so the error survives being handed between processes or threads intact.
        return (_rebuild, (self.reason, self.retry_after, self.status_code))


def _rebuild(reason: str, retry_after: float | None, status_code: int | None) -> TransientPushError:
    """Recreate a pickled TransientPushError."""
    return TransientPushError(reason, retry_after=retry_after, status_code=status_code)
