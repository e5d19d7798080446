"""Shared fixtures; the FCM ones start a real emulator on a free loopback port."""

from collections.abc import Iterator

import pytest

from fcm_emulator import FcmEmulator
from push import PushMessage, PushSender, sender_from_settings


@pytest.fixture
def fcm_emulator() -> Iterator[FcmEmulator]:
    """An FCM emulator on its own thread, stopped after the test."""
    with FcmEmulator.running_in_thread() as emulator:
        yield emulator


@pytest.fixture
def fcm_sender(fcm_emulator: FcmEmulator) -> PushSender:
    """The sender the settings give for the emulator, with a 1 s request timeout."""
    return sender_from_settings(
        {"FCM_EMULATOR_HOST": fcm_emulator.host_port, "FCM_TIMEOUT_SECONDS": "1"}
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
