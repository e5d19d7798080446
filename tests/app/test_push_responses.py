"""Reading FCM's wait hints and carrying them in the transient error."""

import pickle
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from push import TransientPushError
from push.responses import parse_retry_after

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-5", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    """Numeric Retry-After values become seconds (never negative); junk becomes None."""
    assert parse_retry_after(header, now=NOW.timestamp) == seconds


def test_retry_after_http_date() -> None:
    """An HTTP-date Retry-After is measured against the given clock."""
    later = NOW.replace(minute=1)
    header = format_datetime(later, usegmt=True)
    assert parse_retry_after(header, now=NOW.timestamp) == 60.0


def test_transient_error_survives_pickling() -> None:
    """retry_after and status_code survive a pickle round trip (as across processes)."""
    error = TransientPushError("QUOTA_EXCEEDED: slow down", retry_after=30.0, status_code=429)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (str(copy), copy.retry_after, copy.status_code) == (
        "QUOTA_EXCEEDED: slow down",
        30.0,
        429,
    )
