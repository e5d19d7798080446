"""Flow settings the starter reads once per order and hands to the orchestrator."""

import logging
import os
from collections.abc import Mapping

from constants import (
    DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    DEFAULT_PUSH_FIRST_RETRY_MS,
    DEFAULT_PUSH_MAX_ATTEMPTS,
    SETTING_APPROVAL_TIMEOUT,
    SETTING_PUSH_FIRST_RETRY_MS,
    SETTING_PUSH_MAX_ATTEMPTS,
)
from models.orchestration import PushRetryPolicy

log = logging.getLogger(__name__)

# Three days: well under the 6-day limit past which the SDK splits a durable timer into a
# "long timer" whose cancel() does not mark the CreateTimer action as cancelled.
MAX_APPROVAL_TIMEOUT_SECONDS = 3 * 24 * 3600


def _positive_int(env: Mapping[str, str], name: str, default: int, upper: int) -> int:
    """Read a whole-number setting in [1, upper]; a bad value is logged and the default used."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= upper:
        log.error("setting %s=%r is not a whole number in 1..%d; using %d",
                  name, raw, upper, default)
        return default
    return value


def approval_timeout_seconds(env: Mapping[str, str] | None = None) -> int:
    """How long the customer has to accept a change (``APPROVAL_TIMEOUT_SECONDS``)."""
    return _positive_int(os.environ if env is None else env, SETTING_APPROVAL_TIMEOUT,
                         DEFAULT_APPROVAL_TIMEOUT_SECONDS, upper=MAX_APPROVAL_TIMEOUT_SECONDS)


def push_retry_policy(env: Mapping[str, str] | None = None) -> PushRetryPolicy:
    """The durable retry policy for transient push failures."""
    source = os.environ if env is None else env
    return PushRetryPolicy(
        max_attempts=_positive_int(source, SETTING_PUSH_MAX_ATTEMPTS,
                                   DEFAULT_PUSH_MAX_ATTEMPTS, upper=20),
        first_retry_milliseconds=_positive_int(source, SETTING_PUSH_FIRST_RETRY_MS,
                                               DEFAULT_PUSH_FIRST_RETRY_MS, upper=3_600_000),
    )
