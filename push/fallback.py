"""Senders for when FCM cannot be used at all: push switched off, or set up wrongly."""

import logging
import threading

from models.push import DeliveryOutcome, DeliveryResult
from push.message import PushMessage

logger = logging.getLogger(__name__)

NOT_CONFIGURED_REASON = "push is not configured: set FCM_PROJECT_ID or FCM_EMULATOR_HOST"
"""The error every message gets from ``NotConfiguredSender``."""


class _Once:
    """A thread-safe latch: ``first()`` is True exactly once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False

    def first(self) -> bool:
        """True on the first call only."""
        with self._lock:
            if self._done:
                return False
            self._done = True
            return True


class NotConfiguredSender:
    """Accepts every message and sends none; warns once, since this may be on purpose."""

    def __init__(self) -> None:
        """A sender whose first send logs the warning."""
        self._warned = _Once()

    def send(self, message: PushMessage) -> DeliveryResult:
        """Return ``NOT_CONFIGURED`` without contacting anyone."""
        if self._warned.first():
            logger.warning("%s; pushes are skipped", NOT_CONFIGURED_REASON)
        return DeliveryResult(outcome=DeliveryOutcome.NOT_CONFIGURED, error=NOT_CONFIGURED_REASON)


class MisconfiguredSender:
    """Answers every message with ``CONFIG_ERROR`` and the reason the settings are unusable."""

    def __init__(self, reason: str) -> None:
        """A sender for settings that failed to load because of ``reason``."""
        self._reason = reason
        self._logged = _Once()

    @property
    def reason(self) -> str:
        """Why push cannot work with the current settings."""
        return self._reason

    def send(self, message: PushMessage) -> DeliveryResult:
        """Return ``CONFIG_ERROR``; the first call logs the reason as an error."""
        if self._logged.first():
            logger.error("push settings are unusable, a configuration problem: %s", self._reason)
        return DeliveryResult(outcome=DeliveryOutcome.CONFIG_ERROR, error=self._reason)
