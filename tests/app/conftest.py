"""Fixtures of the app's push tests: a sender for the test's FCM emulator, a typical message."""

import pytest

from fcm_emulator import FcmEmulator
from push import PushMessage, PushSender, sender_from_settings


@pytest.fixture
def fcm_sender(fcm: FcmEmulator) -> PushSender:
    """The sender the settings give for the emulator, with a 1 s request timeout."""
    return sender_from_settings(
        {"FCM_EMULATOR_HOST": fcm.host_port, "FCM_TIMEOUT_SECONDS": "1"}
    )


@pytest.fixture
def fcm_message() -> PushMessage:
    """A typical stage notification for one order."""
    return PushMessage(
        token="device-token-1",
        title="Order 42",
        body="Your order is being prepared",
        data={"orderId": "42", "stage": "processing", "seq": "2"},
        collapse_key="order-42",
    )
